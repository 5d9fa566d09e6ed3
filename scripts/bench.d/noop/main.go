// Command noop is the baseline of scripts/bench: a fasthttp server with the
// collector's server settings that answers every request 202 "ok" (with the
// collector's CORS header, so both answers are the same size) and does
// nothing else. What the collector costs above it is the cost of handling an
// event: decoding, coarsening, hashing and aggregating.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18081", "listen address")
	maxBody := flag.Int("max-body-bytes", 8<<10, "largest request body, as the collector's -max-body-bytes")
	flag.Parse()

	// The same settings as collector.New gives its fasthttp.Server.
	srv := &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			ctx.Response.Header.Set("Access-Control-Allow-Origin", "*")
			ctx.SetStatusCode(fasthttp.StatusAccepted)
			ctx.SetContentType("text/plain; charset=utf-8")
			ctx.SetBodyString("ok")
		},
		Name:                  "analytics",
		MaxRequestBodySize:    *maxBody,
		ReadTimeout:           10 * time.Second,
		WriteTimeout:          10 * time.Second,
		IdleTimeout:           75 * time.Second,
		ReadBufferSize:        8 << 10,
		NoDefaultServerHeader: true,
		NoDefaultContentType:  true,
		CloseOnShutdown:       true,
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "noop:", err)
		os.Exit(1)
	}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		<-sig
		_ = srv.Shutdown()
	}()
	if err := srv.Serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, "noop:", err)
		os.Exit(1)
	}
}
