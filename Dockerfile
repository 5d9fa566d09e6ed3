# syntax=docker/dockerfile:1
#
# analytics: one static binary on a distroless base.
#   docker build -t analytics .
#   docker run --rm -p 8080:8080 -p 127.0.0.1:8081:8081 analytics
# See docker-compose.yml for a complete set-up with ClickHouse.

# --- build -------------------------------------------------------------------------------
FROM golang:1.26 AS build
WORKDIR /src

# Dependencies first, so that code changes do not invalidate the module cache layer.
COPY go.mod go.sum ./
RUN go mod download

COPY . .
# Static binary (no cgo), no local paths embedded in it.
RUN CGO_ENABLED=0 go build -trimpath -o /out/analytics . \
 && mkdir -p /out/data

# --- runtime -----------------------------------------------------------------------------
# distroless/static: CA certificates, tzdata and /etc/passwd, no shell, no package manager.
# The :nonroot variant runs as uid/gid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/analytics /analytics
# ANALYTICS_DATA_DIR (salt, spool). Owned by the runtime user, so that a fresh named
# volume mounted here inherits that ownership.
COPY --from=build --chown=65532:65532 /out/data /data
ENV ANALYTICS_DATA_DIR=/data
USER 65532:65532
VOLUME ["/data"]
# 8080: collector (public). 8081: dashboard (private; publish on a trusted interface only).
EXPOSE 8080 8081
ENTRYPOINT ["/analytics"]
CMD ["serve"]
