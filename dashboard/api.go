package dashboard

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"analytics/dashboard/query"
)

// httpError is an outcome with a fixed status and message.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

var (
	errNotFound  = &httpError{http.StatusNotFound, "not found"}
	errMethod    = &httpError{http.StatusMethodNotAllowed, "method not allowed"}
	errNoKey     = &httpError{http.StatusUnauthorized, "missing API key: send the header Authorization: Bearer KEY"}
	errBadKey    = &httpError{http.StatusUnauthorized, "invalid API key"}
	errTooLarge  = &httpError{http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than %d KiB", maxBodyBytes>>10)}
	errMediaType = &httpError{http.StatusUnsupportedMediaType, "send the query as JSON with Content-Type: application/json"}
	errBusy      = &httpError{http.StatusServiceUnavailable, "too many queries in progress; retry shortly"}
	errTimeout   = &httpError{http.StatusServiceUnavailable, fmt.Sprintf("the query took longer than %s; narrow the date range", queryTimeout)}
	// errSiteNotFound answers both unknown sites and sites the key may not
	// read, so that a key cannot probe which sites exist.
	errSiteNotFound = &httpError{http.StatusNotFound, "site not found: it does not exist or this API key cannot read it"}
)

// Route names for logs: constant, never the request path.
const (
	routeQuery   = "api_v2_query"
	routeHealthz = "healthz"
	routeOther   = "other"
)

func routeOf(r *http.Request) string {
	switch r.URL.Path {
	case "/api/v2/query":
		return routeQuery
	case "/healthz":
		return routeHealthz
	}
	return routeOther
}

// handleQuery answers POST /api/v2/query.
func (s *Server) handleQuery(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		s.writeError(w, r, errMethod)
		return
	}
	key, err := s.authenticate(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	resp, err := s.query(w, r, key)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, resp)
}

func (s *Server) query(w http.ResponseWriter, r *http.Request, key *APIKey) (*query.Response, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		// The body is parsed as JSON whatever it is labelled; curl's -d
		// labels it as a form and some clients as text/plain, so those are
		// accepted too. Anything else is most likely the wrong payload.
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && mt != "text/plain" && mt != "application/x-www-form-urlencoded") {
			return nil, errMediaType
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, errTooLarge
		}
		return nil, fmt.Errorf("read request body: %w", err)
	}
	req, err := query.Parse(body)
	if err != nil {
		return nil, err
	}
	site, ok := s.sites[strings.ToLower(req.SiteID)]
	if !ok || !key.canRead(site.Domain) {
		return nil, errSiteNotFound
	}
	plan, err := req.Resolve(query.Site{ID: site.Domain, Location: site.Location, MinVisitors: site.MinVisitors}, s.now())
	if err != nil {
		return nil, err
	}

	release, err := s.acquire(r.Context())
	if err != nil {
		return nil, err
	}
	defer release()
	ctx, cancel := context.WithTimeout(r.Context(), queryTimeout)
	defer cancel()
	resp, err := query.Run(ctx, s.db.Conn, plan)
	if err != nil && ctx.Err() == context.DeadlineExceeded {
		return nil, errTimeout
	}
	return resp, err
}

// acquire waits a bounded time for a query slot.
func (s *Server) acquire(ctx context.Context) (release func(), err error) {
	t := time.NewTimer(queryQueueWait)
	defer t.Stop()
	select {
	case s.slots <- struct{}{}:
		return func() { <-s.slots }, nil
	case <-t.C:
		return nil, errBusy
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// authenticate finds the key of the request's Bearer token. Every
// configured key is compared, in constant time, so the timing tells nothing
// about which or how many keys exist.
func (s *Server) authenticate(r *http.Request) (*APIKey, error) {
	h := r.Header.Get("Authorization")
	scheme, token, _ := strings.Cut(h, " ")
	token = strings.TrimSpace(token)
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		return nil, errNoKey
	}
	sum := sha256.Sum256([]byte(token))
	found := -1
	for i := range s.keys {
		if subtle.ConstantTimeCompare(sum[:], s.keys[i].SHA256[:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return nil, errBadKey
	}
	return &s.keys[found], nil
}

func (k *APIKey) canRead(domain string) bool {
	return slices.Contains(k.Sites, "*") || slices.Contains(k.Sites, domain)
}

type errorBody struct {
	Error string `json:"error"`
}

// writeError maps an outcome to its status and {"error": message}. Request
// bodies and values never reach the log: a refusal logs its status only, and
// a ClickHouse failure its error code and name, since the server's message
// may quote the query and its bound values.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	route := routeOf(r)
	var (
		he *httpError
		qe *query.Error
	)
	switch {
	case errors.As(err, &he):
		if he.status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="analytics"`)
		}
		s.logger.Debug("request refused", "route", route, "status", he.status)
		s.writeJSON(w, r, he.status, errorBody{he.msg})
	case errors.As(err, &qe):
		s.logger.Debug("request refused", "route", route, "status", http.StatusBadRequest)
		s.writeJSON(w, r, http.StatusBadRequest, errorBody{qe.Msg})
	case r.Context().Err() != nil:
		// The client went away (whatever error that caused downstream);
		// nobody reads an answer.
		s.logger.Debug("request canceled", "route", route)
	default:
		attrs := []any{"route", route}
		if exc, ok := errors.AsType[*clickhouse.Exception](err); ok {
			attrs = append(attrs, "clickhouse_code", exc.Code, "clickhouse_error", exc.Name)
		} else {
			attrs = append(attrs, "error", err.Error())
		}
		s.logger.Error("query failed", attrs...)
		s.writeJSON(w, r, http.StatusInternalServerError, errorBody{"internal error; the dashboard log has the details"})
	}
}

func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.logger.Error("encode response", "route", routeOf(r), "error", err.Error())
		http.Error(w, `{"error":"internal error"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
