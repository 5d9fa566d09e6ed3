// Package snippet owns the tracking script that pages embed
// (script.js, written for this project and served at GET /js/script.js): a
// drop-in for Plausible's script tag that sends Plausible Events API beacons.
// docs/snippet.md documents its attributes and the events it sends.
//
// The script is embedded in the binary and compressed once, with brotli and
// gzip, when a Snippet is made; a request gets the best encoding it accepts,
// a strong ETag and a day of caching.
package snippet

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"strconv"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/valyala/fasthttp"
)

//go:embed script.js
var source []byte

// Source returns the script as served (identity encoding): the embedded
// file without its comment lines and indentation (see strip).
func Source() []byte { return strip(source) }

// strip removes what only a reader of the source needs: whole-line "//"
// comments, trailing " // " comments after code (only where no string is
// open before them), indentation and blank lines. Statements, strings and
// line breaks of code stay as written, so automatic semicolon insertion
// sees the same lines; the browser tests run against the stripped script.
// The header comment stays: it names the attributes.
func strip(src []byte) []byte {
	out := make([]byte, 0, len(src))
	for _, line := range bytes.Split(src, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || bytes.HasPrefix(line, []byte("//")) {
			continue
		}
		if i := bytes.Index(line, []byte(" // ")); i > 0 && !bytes.HasPrefix(line, []byte("*")) && closedQuotes(line[:i]) {
			line = bytes.TrimRight(line[:i], " ")
		}
		out = append(append(out, line...), '\n')
	}
	return out
}

// closedQuotes reports whether no string or regular expression literal is
// open at the end of code (quotes counted; a "/" inside code other than a
// division would need a real parser, so any "/" keeps the comment).
func closedQuotes(code []byte) bool {
	return bytes.Count(code, []byte("'"))%2 == 0 && bytes.Count(code, []byte(`"`))%2 == 0 &&
		!bytes.ContainsAny(code, "/`\\")
}

// CacheControl lets browsers and CDNs keep the script for a day and serve a
// stale copy for a week while they revalidate it, so a changed script reaches
// every page within a day without slowing any page load down.
const CacheControl = "public, max-age=86400, stale-while-revalidate=604800"

// ContentType is the script's media type.
const ContentType = "application/javascript; charset=utf-8"

// variant is one encoding of the script.
type variant struct {
	encoding string // Content-Encoding; "" for identity
	etag     string
	body     []byte
}

// Snippet serves the script. It is immutable and safe for concurrent use.
type Snippet struct {
	hash     string // hex of sha256(script), the base of every ETag
	identity variant
	gzip     variant
	brotli   variant
}

// New compresses the embedded script.
func New() (*Snippet, error) { return newSnippet(strip(source)) }

// Default returns the Snippet of the embedded script, made on first use and
// shared after: the script never changes while the process runs, so every
// server can share one.
func Default() *Snippet { return defaultSnippet() }

var defaultSnippet = sync.OnceValue(func() *Snippet {
	s, err := New()
	if err != nil {
		panic(err) // compressing bytes in memory cannot fail
	}
	return s
})

func newSnippet(src []byte) (*Snippet, error) {
	sum := sha256.Sum256(src)
	s := &Snippet{hash: hex.EncodeToString(sum[:16])}
	s.identity = variant{etag: `"` + s.hash + `"`, body: bytes.Clone(src)}

	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if err != nil {
		return nil, fmt.Errorf("snippet: gzip: %w", err)
	}
	if _, err := zw.Write(src); err != nil {
		return nil, fmt.Errorf("snippet: gzip: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("snippet: gzip: %w", err)
	}
	s.gzip = variant{encoding: "gzip", etag: `"` + s.hash + `-gzip"`, body: gz.Bytes()}

	var br bytes.Buffer
	bw := brotli.NewWriterLevel(&br, brotli.BestCompression)
	if _, err := bw.Write(src); err != nil {
		return nil, fmt.Errorf("snippet: brotli: %w", err)
	}
	if err := bw.Close(); err != nil {
		return nil, fmt.Errorf("snippet: brotli: %w", err)
	}
	s.brotli = variant{encoding: "br", etag: `"` + s.hash + `-br"`, body: br.Bytes()}
	return s, nil
}

// Sizes returns the script's size in bytes: as is, gzipped and brotli'd.
func (s *Snippet) Sizes() (identity, gzip, brotli int) {
	return len(s.identity.body), len(s.gzip.body), len(s.brotli.body)
}

// Serve answers GET and HEAD with the encoding the client prefers (brotli,
// then gzip, then identity), 304 when If-None-Match names the current
// script in any encoding, and 405 to other methods. Any origin may load it.
func (s *Snippet) Serve(ctx *fasthttp.RequestCtx) {
	h := &ctx.Response.Header
	h.Set("Access-Control-Allow-Origin", "*")
	// Pages that isolate themselves (COEP) may still load it.
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	if !ctx.IsGet() && !ctx.IsHead() {
		h.Set("Allow", "GET, HEAD")
		ctx.SetStatusCode(fasthttp.StatusMethodNotAllowed)
		ctx.SetContentType("text/plain; charset=utf-8")
		ctx.SetBodyString("method not allowed: use GET")
		return
	}
	v := &s.identity
	ae := ctx.Request.Header.Peek(fasthttp.HeaderAcceptEncoding)
	switch {
	case accepts(ae, "br"):
		v = &s.brotli
	case accepts(ae, "gzip"):
		v = &s.gzip
	}
	h.Set("Vary", "Accept-Encoding")
	h.Set("Cache-Control", CacheControl)
	h.Set("ETag", v.etag)
	if s.notModified(ctx.Request.Header.Peek(fasthttp.HeaderIfNoneMatch)) {
		ctx.SetStatusCode(fasthttp.StatusNotModified)
		return
	}
	h.Set("X-Content-Type-Options", "nosniff")
	if v.encoding != "" {
		h.Set("Content-Encoding", v.encoding)
	}
	ctx.SetContentType(ContentType)
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetBody(v.body) // fasthttp copies it
}

// notModified reports whether an If-None-Match value names the current
// script: "*", or any of its ETags, weak or strong (RFC 9110 13.1.2 compares
// weakly, and proxies that recompress turn our ETags weak).
func (s *Snippet) notModified(inm []byte) bool {
	for len(inm) > 0 {
		var tag []byte
		tag, inm = nextItem(inm)
		if string(tag) == "*" {
			return true
		}
		tag = bytes.TrimPrefix(tag, []byte("W/"))
		if len(tag) < 2 || tag[0] != '"' || tag[len(tag)-1] != '"' {
			continue
		}
		tag = tag[1 : len(tag)-1]
		if base, _, _ := bytes.Cut(tag, []byte("-")); string(base) == s.hash {
			return true
		}
	}
	return false
}

// accepts reports whether an Accept-Encoding value allows coding: listed by
// name (or as "*") with a q-value above zero.
func accepts(ae []byte, coding string) bool {
	star := false
	for len(ae) > 0 {
		var item []byte
		item, ae = nextItem(ae)
		name, params, _ := bytes.Cut(item, []byte(";"))
		name = bytes.TrimSpace(name)
		ok := qAboveZero(params)
		switch {
		case bytes.EqualFold(name, []byte(coding)):
			return ok
		case string(name) == "*":
			star = ok
		}
	}
	return star
}

// qAboveZero reads the q parameter of one Accept-Encoding item (absent: 1).
func qAboveZero(params []byte) bool {
	for len(params) > 0 {
		var p []byte
		p, params, _ = bytes.Cut(params, []byte(";"))
		k, v, _ := bytes.Cut(bytes.TrimSpace(p), []byte("="))
		if !bytes.EqualFold(bytes.TrimSpace(k), []byte("q")) {
			continue
		}
		q, err := strconv.ParseFloat(string(bytes.TrimSpace(v)), 64)
		return err == nil && q > 0
	}
	return true
}

// nextItem splits a comma-separated header value into its first item
// (trimmed) and the rest.
func nextItem(v []byte) (item, rest []byte) {
	item, rest, _ = bytes.Cut(v, []byte(","))
	return bytes.TrimSpace(item), rest
}
