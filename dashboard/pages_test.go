package dashboard

import (
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"analytics/dashboard/auth"
	"analytics/schema"
	"analytics/schema/chtest"
)

const (
	ownerEmail = "owner@example.com"
	password   = "correct horse battery"
	shareToken = "share-token-for-example-com"
)

// newPageServer serves example.com (Berlin, shared link shareToken) and
// other.com, with a user who may see example.com only. db may be a zero
// schema.DB for tests that never query.
func newPageServer(t *testing.T, db *schema.DB, proxies ...string) *Server {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{
		DB: db,
		Sites: []Site{
			{Domain: "example.com", MinVisitors: 3, Location: berlin, SharedLinks: []SharedLink{{Name: "team", SHA256: sha256.Sum256([]byte(shareToken))}}},
			{Domain: "other.com"},
		},
		Users:          []auth.User{{Email: ownerEmail, PasswordBcrypt: string(h), Sites: []string{"example.com"}}},
		TrustedProxies: proxies,
		Now:            func() time.Time { return testNow },
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// browser keeps cookies across requests to a handler, and checks the
// security headers of every HTML answer.
type browser struct {
	t       *testing.T
	h       http.Handler
	cookies map[string]*http.Cookie
	remote  string
	header  http.Header
}

func newBrowser(t *testing.T, h http.Handler) *browser {
	return &browser{t: t, h: h, cookies: map[string]*http.Cookie{}, header: http.Header{}}
}

func (b *browser) do(method, path string, form url.Values, header ...string) *httptest.ResponseRecorder {
	b.t.Helper()
	var req *http.Request
	if form != nil {
		req = httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req = httptest.NewRequest(method, path, nil)
	}
	if b.remote != "" {
		req.RemoteAddr = b.remote
	}
	for k, v := range b.header {
		req.Header[k] = v
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	for _, c := range b.cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	b.h.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c
		}
	}
	if strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		checkSecurityHeaders(b.t, rec)
		if got := rec.Header().Get("Content-Security-Policy"); got != htmlCSP {
			b.t.Errorf("%s %s: CSP %q", method, path, got)
		}
	}
	return rec
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(rec.Body.String())
	if m == nil {
		t.Fatalf("no csrf field in %s", rec.Body)
	}
	return m[1]
}

// login signs in and returns the answer to the POST.
func (b *browser) login(email, pw, next string) *httptest.ResponseRecorder {
	b.t.Helper()
	form := b.do(http.MethodGet, "/login", nil)
	if form.Code != http.StatusOK {
		b.t.Fatalf("GET /login: %d", form.Code)
	}
	return b.do(http.MethodPost, "/login", url.Values{"csrf": {csrfOf(b.t, form)}, "email": {email}, "password": {pw}, "next": {next}})
}

func wantStatus(t *testing.T, rec *httptest.ResponseRecorder, status int) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d; body %s", rec.Code, status, rec.Body)
	}
}

func TestLoginAndLogout(t *testing.T) {
	s := newPageServer(t, &schema.DB{})
	b := newBrowser(t, s.Handler())

	rec := b.do(http.MethodGet, "/login?next=/example.com", nil)
	wantStatus(t, rec, http.StatusOK)
	for _, want := range []string{`action="/login"`, `name="email"`, `name="password"`, `name="next" value="/example.com"`, `name="viewport"`, `href="/static/style.css"`} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("login page lacks %s", want)
		}
	}
	if strings.Contains(rec.Body.String(), "<script") || strings.Contains(rec.Body.String(), "style=") {
		t.Error("inline script or style on the login page")
	}

	rec = b.login(ownerEmail, "wrong password", "/")
	wantStatus(t, rec, http.StatusUnauthorized)
	if !strings.Contains(rec.Body.String(), "wrong e-mail address or password") {
		t.Errorf("failure body %s", rec.Body)
	}
	if _, ok := b.cookies[auth.SessionCookie]; ok {
		t.Fatal("session cookie after a failed login")
	}

	rec = b.login(strings.ToUpper(ownerEmail), password, "/example.com")
	wantStatus(t, rec, http.StatusSeeOther)
	if loc := rec.Header().Get("Location"); loc != "/example.com" {
		t.Errorf("redirect to %q", loc)
	}
	var sc *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == auth.SessionCookie {
			sc = c
		}
	}
	if sc == nil || !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || sc.Path != "/" || sc.Secure || len(sc.Value) < 43 {
		t.Fatalf("session cookie %+v", sc)
	}
	old := *sc

	rec = b.do(http.MethodGet, "/", nil)
	wantStatus(t, rec, http.StatusOK)
	if !strings.Contains(rec.Body.String(), `href="/example.com"`) || strings.Contains(rec.Body.String(), "other.com") {
		t.Errorf("site list %s", rec.Body)
	}
	if rec.Header().Get("Cache-Control") != "no-store" {
		t.Error("authenticated page may be cached")
	}
	token := csrfOf(t, rec)

	// Signed in, /login goes on to next.
	rec = b.do(http.MethodGet, "/login?next=/example.com", nil)
	wantStatus(t, rec, http.StatusSeeOther)

	for name, tc := range map[string]struct {
		form   url.Values
		header []string
	}{
		"no token":      {url.Values{}, nil},
		"invalid token": {url.Values{"csrf": {token + "x"}}, nil},
		"other origin":  {url.Values{"csrf": {token}}, []string{"Origin", "https://evil.example"}},
		"cross-site":    {url.Values{"csrf": {token}}, []string{"Sec-Fetch-Site", "cross-site"}},
	} {
		t.Run("logout "+name, func(t *testing.T) {
			rec := b.do(http.MethodPost, "/logout", tc.form, tc.header...)
			wantStatus(t, rec, http.StatusForbidden)
			wantStatus(t, b.do(http.MethodGet, "/", nil), http.StatusOK)
		})
	}

	rec = b.do(http.MethodPost, "/logout", url.Values{"csrf": {token}}, "Origin", "http://example.com", "Sec-Fetch-Site", "same-origin")
	wantStatus(t, rec, http.StatusSeeOther)
	if _, ok := b.cookies[auth.SessionCookie]; ok {
		t.Error("logout left the cookie")
	}
	rec = b.do(http.MethodGet, "/", nil)
	wantStatus(t, rec, http.StatusSeeOther)
	// The old id is dead on the server, not just forgotten by the browser.
	b.cookies[auth.SessionCookie] = &old
	rec = b.do(http.MethodGet, "/", nil)
	wantStatus(t, rec, http.StatusSeeOther)
	if s.auth.Len() != 0 {
		t.Errorf("%d sessions kept after logout", s.auth.Len())
	}
}

func TestLoginCSRF(t *testing.T) {
	s := newPageServer(t, &schema.DB{})
	b := newBrowser(t, s.Handler())
	token := csrfOf(t, b.do(http.MethodGet, "/login", nil))
	creds := func(csrf string) url.Values {
		return url.Values{"csrf": {csrf}, "email": {ownerEmail}, "password": {password}}
	}
	t.Run("missing", func(t *testing.T) {
		wantStatus(t, b.do(http.MethodPost, "/login", creds("")), http.StatusForbidden)
	})
	t.Run("invalid", func(t *testing.T) {
		wantStatus(t, b.do(http.MethodPost, "/login", creds(token[1:]+"A")), http.StatusForbidden)
	})
	t.Run("token without its cookie", func(t *testing.T) {
		other := newBrowser(t, s.Handler())
		wantStatus(t, other.do(http.MethodPost, "/login", creds(token)), http.StatusForbidden)
	})
	t.Run("cross-origin", func(t *testing.T) {
		wantStatus(t, b.do(http.MethodPost, "/login", creds(token), "Origin", "https://evil.example"), http.StatusForbidden)
		wantStatus(t, b.do(http.MethodPost, "/login", creds(token), "Sec-Fetch-Site", "cross-site"), http.StatusForbidden)
	})
	if _, ok := b.cookies[auth.SessionCookie]; ok {
		t.Fatal("signed in by a refused request")
	}
	t.Run("valid", func(t *testing.T) {
		wantStatus(t, b.do(http.MethodPost, "/login", creds(token), "Origin", "http://example.com", "Sec-Fetch-Site", "same-origin"), http.StatusSeeOther)
	})
}

func TestLoginRedirectsOnlyLocally(t *testing.T) {
	s := newPageServer(t, &schema.DB{})
	rec := newBrowser(t, s.Handler()).do(http.MethodGet, "/example.com?period=7d", nil)
	wantStatus(t, rec, http.StatusSeeOther)
	if loc := rec.Header().Get("Location"); loc != "/login?next="+url.QueryEscape("/example.com?period=7d") {
		t.Errorf("Location %q", loc)
	}
	for next, want := range map[string]string{
		"/example.com":      "/example.com",
		"//evil.com":        "/",
		"https://evil.com":  "/",
		"/\\evil.com":       "/",
		"javascript:alert1": "/",
	} {
		t.Run(next, func(t *testing.T) {
			b := newBrowser(t, s.Handler())
			form := b.do(http.MethodGet, "/login?next="+url.QueryEscape(next), nil)
			if strings.Contains(form.Body.String(), "evil.com") {
				t.Errorf("unsafe next echoed in the form")
			}
			rec := b.login(ownerEmail, password, next)
			wantStatus(t, rec, http.StatusSeeOther)
			if loc := rec.Header().Get("Location"); loc != want {
				t.Errorf("Location %q, want %q", loc, want)
			}
		})
	}
}

func TestLoginRateLimited(t *testing.T) {
	s := newPageServer(t, &schema.DB{})
	b := newBrowser(t, s.Handler())
	for i := range auth.DefaultLoginAttempts {
		if rec := b.login(ownerEmail, "wrong", "/"); rec.Code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i+1, rec.Code)
		}
	}
	rec := b.login(ownerEmail, password, "/")
	wantStatus(t, rec, http.StatusTooManyRequests)
	if !strings.Contains(rec.Body.String(), "too many login attempts") || rec.Header().Get("Retry-After") == "" {
		t.Errorf("429 without message or Retry-After: %s", rec.Body)
	}
	// Another address is limited by the e-mail all the same.
	other := newBrowser(t, s.Handler())
	other.remote = "198.51.100.9:4000"
	wantStatus(t, other.login(ownerEmail, password, "/"), http.StatusTooManyRequests)
}

func TestSecureCookieBehindHTTPSProxy(t *testing.T) {
	s := newPageServer(t, &schema.DB{}, "10.0.0.0/8")
	for _, tc := range []struct {
		name, remote string
		secure       bool
	}{
		{"trusted proxy", "10.1.2.3:5000", true},
		{"anyone else", "192.0.2.10:5000", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBrowser(t, s.Handler())
			b.remote = tc.remote
			b.header.Set("X-Forwarded-Proto", "https")
			rec := b.login(ownerEmail, password, "/")
			wantStatus(t, rec, http.StatusSeeOther)
			for _, c := range rec.Result().Cookies() {
				if c.Name == auth.SessionCookie && c.Secure != tc.secure {
					t.Errorf("Secure %v, want %v", c.Secure, tc.secure)
				}
			}
		})
	}
}

func TestSitePages(t *testing.T) {
	db := chtest.NewDB(t)
	hostile := "/<script>alert(1)</script>"
	insert(t, db, []statsRow{
		{site: "example.com", hour: "2026-11-27T08:00:00Z", pageviews: 20, events: 20, from: 0, to: 17},
		{site: "example.com", dimension: "event:page", value: "/pricing", hour: "2026-11-27T08:00:00Z", pageviews: 12, events: 12, from: 0, to: 12},
		{site: "example.com", dimension: "event:page", value: hostile, hour: "2026-11-27T08:00:00Z", pageviews: 5, events: 5, from: 12, to: 17},
		{site: "other.com", hour: "2026-11-27T08:00:00Z", pageviews: 7, events: 7, from: 0, to: 7},
	})
	s := newPageServer(t, db)
	b := newBrowser(t, s.Handler())
	wantStatus(t, b.login(ownerEmail, password, "/"), http.StatusSeeOther)

	rec := b.do(http.MethodGet, "/example.com", nil)
	wantStatus(t, rec, http.StatusOK)
	body := rec.Body.String()
	for _, want := range []string{"<h1>example.com</h1>", "2026-11-27", `Unique visitors</dt><dd class="value">17<`, `Pageviews</dt><dd class="value">20<`, "/pricing", "&lt;script&gt;alert(1)&lt;/script&gt;", "Bounce rate", "Visit duration"} {
		if !strings.Contains(body, want) {
			t.Errorf("site page lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "<script>") {
		t.Error("hostile page path not escaped")
	}
	// Upper case reaches the same site.
	wantStatus(t, b.do(http.MethodGet, "/EXAMPLE.com", nil), http.StatusOK)

	forbidden := b.do(http.MethodGet, "/other.com", nil)
	unknown := b.do(http.MethodGet, "/nope.com", nil)
	wantStatus(t, forbidden, http.StatusNotFound)
	wantStatus(t, unknown, http.StatusNotFound)
	if forbidden.Body.String() != unknown.Body.String() {
		t.Errorf("another user's site and an unknown site answer differently:\n%s\n---\n%s", forbidden.Body, unknown.Body)
	}
	if strings.Contains(forbidden.Body.String(), "Visitors") {
		t.Error("numbers on a 404")
	}

	t.Run("shared link", func(t *testing.T) {
		anon := newBrowser(t, s.Handler())
		rec := anon.do(http.MethodGet, "/share/example.com?auth="+shareToken, nil)
		wantStatus(t, rec, http.StatusOK)
		if !strings.Contains(rec.Body.String(), `Unique visitors</dt><dd class="value">17<`) || !strings.Contains(rec.Body.String(), "read-only") {
			t.Errorf("shared page %s", rec.Body)
		}
		if strings.Contains(rec.Body.String(), "/logout") {
			t.Error("shared page offers a sign-out form")
		}
		var first string
		for _, path := range []string{
			"/share/example.com?auth=" + shareToken + "x",
			"/share/example.com",
			"/share/other.com?auth=" + shareToken,
			"/share/nope.com?auth=" + shareToken,
		} {
			rec := anon.do(http.MethodGet, path, nil)
			wantStatus(t, rec, http.StatusNotFound)
			if first == "" {
				first = rec.Body.String()
			} else if rec.Body.String() != first {
				t.Errorf("%s answers differently from other refusals", path)
			}
		}
		// No session was created.
		if _, ok := anon.cookies[auth.SessionCookie]; ok {
			t.Error("shared link set a session cookie")
		}
	})
}

func TestStaticAndAPIUnchanged(t *testing.T) {
	s := newPageServer(t, &schema.DB{})
	b := newBrowser(t, s.Handler())
	rec := b.do(http.MethodGet, "/static/style.css", nil)
	wantStatus(t, rec, http.StatusOK)
	if !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/css") {
		t.Errorf("style sheet Content-Type %q", rec.Header().Get("Content-Type"))
	}
	// The Stats API still answers JSON without cookies or CSRF tokens.
	rec = b.do(http.MethodPost, "/api/v2/query", nil, "Authorization", "Bearer nope")
	wantStatus(t, rec, http.StatusUnauthorized)
	rec = b.do(http.MethodGet, "/api/v1/stats", nil)
	wantStatus(t, rec, http.StatusNotFound)
	if rec.Header().Get("Content-Type") != "application/json" {
		t.Errorf("unknown API path answers %q", rec.Header().Get("Content-Type"))
	}
	wantStatus(t, b.do(http.MethodPut, "/login", nil), http.StatusMethodNotAllowed)
}
