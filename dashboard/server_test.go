package dashboard

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"analytics/schema"
	"analytics/schema/chtest"
)

const (
	allKey     = "key-for-all-sites"
	exampleKey = "key-for-example-com"
)

var testNow = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

type statsRow struct {
	site, dimension, value string
	hour                   string
	pageviews, events      uint64
	from, to               uint64 // visitor keys [from, to)
}

func insert(t *testing.T, db *schema.DB, rows []statsRow) {
	t.Helper()
	for _, r := range rows {
		insertDash(t, db, r.site, []dashRow{{dim: r.dimension, value: r.value, hour: r.hour,
			pageviews: r.pageviews, events: r.events, from: r.from, to: r.to}})
	}
}

// lockedBuffer collects log output from concurrent handlers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newTestServer(t *testing.T, db *schema.DB) (*Server, *lockedBuffer) {
	t.Helper()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	s, err := New(Options{
		DB: db,
		Sites: []Site{
			{Domain: "example.com", MinVisitors: 3, Location: berlin},
			{Domain: "other.com"},
		},
		APIKeys: []APIKey{
			{Name: "all", SHA256: sha256.Sum256([]byte(allKey)), Sites: []string{"*"}},
			{Name: "example", SHA256: sha256.Sum256([]byte(exampleKey)), Sites: []string{"example.com"}},
		},
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:    func() time.Time { return testNow },
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, logs
}

type call struct {
	method, path, auth, contentType, body string
}

func (c call) do(t *testing.T, h http.Handler) *httptest.ResponseRecorder {
	t.Helper()
	if c.method == "" {
		c.method = http.MethodPost
	}
	if c.path == "" {
		c.path = "/api/v2/query"
	}
	req := httptest.NewRequest(c.method, c.path, strings.NewReader(c.body))
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	if c.contentType != "" {
		req.Header.Set("Content-Type", c.contentType)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func checkSecurityHeaders(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	for k, v := range map[string]string{
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "no-referrer",
		"Cache-Control":          "no-store",
		"X-Frame-Options":        "DENY",
	} {
		if got := rec.Header().Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
}

func TestQueryAPI(t *testing.T) {
	db := chtest.NewDB(t)
	insert(t, db, []statsRow{
		{site: "example.com", hour: "2026-11-25T10:00:00Z", pageviews: 20, events: 22, from: 0, to: 18},
		{site: "example.com", dimension: "event:page", value: "/", hour: "2026-11-25T10:00:00Z", pageviews: 12, events: 12, from: 0, to: 12},
		{site: "example.com", dimension: "event:page", value: "/pricing", hour: "2026-11-25T10:00:00Z", pageviews: 6, events: 6, from: 20, to: 26},
		{site: "example.com", dimension: "event:page", value: "/private-page", hour: "2026-11-25T10:00:00Z", pageviews: 2, events: 2, from: 30, to: 32},
		{site: "other.com", hour: "2026-11-25T10:00:00Z", pageviews: 7, events: 7, from: 0, to: 7},
	})
	s, logs := newTestServer(t, db)
	h := s.Handler()
	bearer := func(k string) string { return "Bearer " + k }

	errorTests := []struct {
		name   string
		call   call
		status int
		msg    string // substring of the error message
	}{
		{"no key", call{body: `{}`}, 401, "missing API key"},
		{"not bearer", call{auth: "Basic " + allKey, body: `{}`}, 401, "missing API key"},
		{"empty bearer", call{auth: "Bearer ", body: `{}`}, 401, "missing API key"},
		{"wrong key", call{auth: bearer("nope"), body: `{}`}, 401, "invalid API key"},
		{"key of another site", call{auth: bearer(exampleKey), body: `{"site_id":"other.com","metrics":["visitors"],"date_range":"7d"}`}, 404, "site not found"},
		{"unknown site", call{auth: bearer(allKey), body: `{"site_id":"nope.com","metrics":["visitors"],"date_range":"7d"}`}, 404, "site not found"},
		{"unknown site for scoped key", call{auth: bearer(exampleKey), body: `{"site_id":"nope.com","metrics":["visitors"],"date_range":"7d"}`}, 404, "site not found"},
		{"invalid metric", call{auth: bearer(allKey), body: `{"site_id":"example.com","metrics":["foo"],"date_range":"7d"}`}, 400, `#/metrics/0: invalid metric "foo"`},
		{"unknown field", call{auth: bearer(allKey), body: `{"site_id":"example.com","metrics":["visitors"],"date_range":"7d","interval":"day"}`}, 400, `#: unknown field "interval"`},
		{"two filter dimensions", call{auth: bearer(allKey), body: `{"site_id":"example.com","metrics":["visitors"],"date_range":"7d","filters":[["is","event:page",["/"]],["is","visit:os",["Mac"]]]}`}, 400, "one dimension per row"},
		{"not json", call{auth: bearer(allKey), body: `site_id=example.com`}, 400, "must be a JSON object"},
		{"visit metric by page", call{auth: bearer(allKey), body: `{"site_id":"example.com","metrics":["bounce_rate"],"date_range":"7d","dimensions":["event:page"]}`}, 400, `#/metrics/0: metric "bounce_rate" cannot be queried for "event:page"`},
		{"scroll depth without page", call{auth: bearer(allKey), body: `{"site_id":"example.com","metrics":["scroll_depth"],"date_range":"7d"}`}, 400, "needs an event:page dimension or filter"},
		{"invalid comparison", call{auth: bearer(allKey), body: `{"site_id":"example.com","metrics":["visitors"],"date_range":"7d","include":{"comparisons":{"mode":"last_week"}}}`}, 400, `#/include/comparisons/mode: invalid comparison mode "last_week"`},
		{"multipart content type", call{auth: bearer(allKey), contentType: "multipart/form-data; boundary=x", body: `{}`}, 415, "Content-Type: application/json"},
		{"body too large", call{auth: bearer(allKey), body: `{"site_id":"` + strings.Repeat("a", 70<<10) + `"}`}, 413, "larger than 64 KiB"},
		{"get query", call{method: http.MethodGet, auth: bearer(allKey)}, 405, "method not allowed"},
		{"unknown path", call{method: http.MethodGet, path: "/api/v1/stats/aggregate"}, 404, "not found"},
	}
	for _, tt := range errorTests {
		t.Run(tt.name, func(t *testing.T) {
			rec := tt.call.do(t, h)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			var body map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			msg, _ := body["error"].(string)
			if len(body) != 1 || !strings.Contains(msg, tt.msg) {
				t.Errorf("body %s, want {\"error\": ...%q...}", rec.Body, tt.msg)
			}
			if tt.status == 401 && rec.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			checkSecurityHeaders(t, rec)
		})
	}

	t.Run("same answer for hidden and unknown sites", func(t *testing.T) {
		hidden := call{auth: bearer(exampleKey), body: `{"site_id":"other.com","metrics":["visitors"],"date_range":"7d"}`}.do(t, h)
		unknown := call{auth: bearer(exampleKey), body: `{"site_id":"nope.com","metrics":["visitors"],"date_range":"7d"}`}.do(t, h)
		if hidden.Code != unknown.Code || hidden.Body.String() != unknown.Body.String() {
			t.Errorf("hidden %d %s, unknown %d %s", hidden.Code, hidden.Body, unknown.Code, unknown.Body)
		}
	})

	t.Run("aggregate", func(t *testing.T) {
		rec := call{auth: bearer(exampleKey), contentType: "application/json; charset=utf-8",
			body: `{"site_id":"example.com","metrics":["visitors","pageviews","events"],"date_range":"7d"}`}.do(t, h)
		if rec.Code != 200 {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		checkSecurityHeaders(t, rec)
		want := `{"results":[{"dimensions":[],"metrics":[18,20,22]}],"meta":{},"query":{"site_id":"example.com","metrics":["visitors","pageviews","events"],"date_range":["2026-11-20T00:00:00+01:00","2026-11-26T23:59:59+01:00"],"dimensions":[],"filters":[],"order_by":[["visitors","desc"]],"pagination":{"limit":10000,"offset":0},"include":{"imports":false,"time_labels":false,"total_rows":false}}}` + "\n"
		if rec.Body.String() != want {
			t.Errorf("body\n got %s\nwant %s", rec.Body, want)
		}
	})

	t.Run("breakdown folds small rows", func(t *testing.T) {
		rec := call{auth: bearer(allKey),
			body: `{"site_id":"example.com","metrics":["visitors","pageviews"],"date_range":["2026-11-25","2026-11-25"],"dimensions":["event:page"],"include":{"total_rows":true}}`}.do(t, h)
		if rec.Code != 200 {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		var resp struct {
			Results []struct {
				Dimensions []string `json:"dimensions"`
				Metrics    []uint64 `json:"metrics"`
			} `json:"results"`
			Meta  map[string]any `json:"meta"`
			Query struct {
				DateRange []string `json:"date_range"`
			} `json:"query"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range resp.Results {
			b, _ := json.Marshal(r)
			got = append(got, string(b))
		}
		want := []string{
			`{"dimensions":["/"],"metrics":[12,12]}`,
			`{"dimensions":["/pricing"],"metrics":[6,6]}`,
			`{"dimensions":["(other)"],"metrics":[2,2]}`,
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("results %s, want %s", got, want)
		}
		if resp.Meta["total_rows"] != float64(3) {
			t.Errorf("meta %v", resp.Meta)
		}
		if strings.Join(resp.Query.DateRange, ",") != "2026-11-25T00:00:00+01:00,2026-11-25T23:59:59+01:00" {
			t.Errorf("date_range %q", resp.Query.DateRange)
		}
		if strings.Contains(rec.Body.String(), "private-page") {
			t.Error("a row below the threshold appears by name")
		}
	})

	t.Run("comparison and percentage", func(t *testing.T) {
		rec := call{auth: bearer(allKey),
			body: `{"site_id":"example.com","metrics":["visitors","percentage"],"date_range":"7d","dimensions":["event:page"],"include":{"comparisons":{"mode":"previous_period"}}}`}.do(t, h)
		if rec.Code != 200 {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		for _, want := range []string{
			`{"results":[{"dimensions":["/"],"metrics":[12,66.7],"comparison":{"dimensions":["/"],"metrics":[0,null],"change":[100,null]}},`,
			`{"dimensions":["(other)"],"metrics":[2,11.1],"comparison":{"dimensions":["(other)"],"metrics":[0,null],"change":[100,null]}}]`,
			`"include":{"imports":false,"time_labels":false,"total_rows":false,"comparisons":{"mode":"previous_period"}},"comparison_date_range":["2026-11-13T00:00:00+01:00","2026-11-19T23:59:59+01:00"]}}`,
		} {
			if !strings.Contains(rec.Body.String(), want) {
				t.Errorf("body %s\nlacks %s", rec.Body, want)
			}
		}
	})

	t.Run("other site with the all-sites key", func(t *testing.T) {
		rec := call{auth: bearer(allKey), body: `{"site_id":"OTHER.com","metrics":["pageviews"],"date_range":"7d"}`}.do(t, h)
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"results":[{"dimensions":[],"metrics":[7]}]`) {
			t.Errorf("status %d: %s", rec.Code, rec.Body)
		}
	})

	t.Run("healthz", func(t *testing.T) {
		rec := call{method: http.MethodGet, path: "/healthz"}.do(t, h)
		if rec.Code != 200 || rec.Body.String() != "ok\n" {
			t.Errorf("status %d: %q", rec.Code, rec.Body)
		}
		checkSecurityHeaders(t, rec)
	})

	t.Run("logs hold no request values", func(t *testing.T) {
		call{auth: bearer(allKey), body: `{"site_id":"example.com","metrics":["SECRET-METRIC"],"date_range":"7d"}`}.do(t, h)
		call{auth: "Bearer SECRET-KEY", body: `{}`}.do(t, h)
		out := logs.String()
		if !strings.Contains(out, "status=400") || !strings.Contains(out, "status=401") {
			t.Errorf("refusals not logged:\n%s", out)
		}
		for _, secret := range []string{"SECRET", allKey, exampleKey, "example.com"} {
			if strings.Contains(out, secret) {
				t.Errorf("log contains %q:\n%s", secret, out)
			}
		}
	})
}

func TestQueryFailureIsLoggedWithoutValues(t *testing.T) {
	db := chtest.NewDB(t)
	if err := db.Conn.Exec(context.Background(), "DROP TABLE stats_hourly"); err != nil {
		t.Fatal(err)
	}
	s, logs := newTestServer(t, db)
	rec := call{auth: "Bearer " + allKey,
		body: `{"site_id":"example.com","metrics":["visitors"],"date_range":"7d","filters":[["is","event:page",["/SECRET-PATH"]]]}`}.do(t, s.Handler())
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), `"error":"internal error`) {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	out := logs.String()
	if !strings.Contains(out, "clickhouse_code=60") {
		t.Errorf("log lacks the ClickHouse error code:\n%s", out)
	}
	if strings.Contains(out, "SECRET") || strings.Contains(out, "example.com") {
		t.Errorf("log contains request values:\n%s", out)
	}
}

func TestServeAndShutdown(t *testing.T) {
	db := chtest.NewDB(t)
	s, _ := newTestServer(t, db)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()

	res, err := http.Get("http://" + ln.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(body) != "ok\n" {
		t.Fatalf("healthz %d %q", res.StatusCode, body)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+"/api/v2/query",
		strings.NewReader(`{"site_id":"example.com","metrics":["visitors"],"date_range":"day"}`))
	req.Header.Set("Authorization", "Bearer "+exampleKey)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(string(body), `{"results":[{"dimensions":[],"metrics":[0]}]`) {
		t.Fatalf("query %d %s", res.StatusCode, body)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve after Shutdown: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after Shutdown")
	}
}

func TestNewValidates(t *testing.T) {
	db := &schema.DB{}
	key := sha256.Sum256([]byte("k"))
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"no db", Options{}, "Options.DB is required"},
		{"site without domain", Options{DB: db, Sites: []Site{{}}}, "site 0 has no domain"},
		{"duplicate site", Options{DB: db, Sites: []Site{{Domain: "a.com"}, {Domain: "A.com"}}}, `site "A.com" is configured twice`},
		{"negative threshold", Options{DB: db, Sites: []Site{{Domain: "a.com", MinVisitors: -1}}}, "min_visitors -1"},
		{"key without name", Options{DB: db, APIKeys: []APIKey{{SHA256: key, Sites: []string{"*"}}}}, "API key 0 has no name"},
		{"key without hash", Options{DB: db, APIKeys: []APIKey{{Name: "ci", Sites: []string{"*"}}}}, `API key "ci" has no sha256`},
		{"key without sites", Options{DB: db, APIKeys: []APIKey{{Name: "ci", SHA256: key}}}, `API key "ci" has no sites`},
		{"key for unknown site", Options{DB: db, Sites: []Site{{Domain: "a.com"}}, APIKeys: []APIKey{{Name: "ci", SHA256: key, Sites: []string{"b.com"}}}}, `site "b.com" is not configured`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New: %v, want an error containing %q", err, tt.want)
			}
		})
	}
	s, err := New(Options{DB: db, Sites: []Site{{Domain: "A.com"}}})
	if err != nil {
		t.Fatal(err)
	}
	if site := s.sites["a.com"]; site.MinVisitors != 5 || site.Location != time.UTC {
		t.Errorf("defaults not applied: %+v", site)
	}
}
