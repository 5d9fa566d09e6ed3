package auth

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func hash(t *testing.T, pw string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newAuth(t *testing.T, c *clock, opts Options) *Auth {
	t.Helper()
	opts.Users = append(opts.Users, User{Email: "Owner@Example.com", PasswordBcrypt: hash(t, "correct horse"), Sites: []string{"example.com"}})
	opts.Now = c.now
	a, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func loginRequest(addr string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/login", nil)
	r.RemoteAddr = addr
	return r
}

func TestLogin(t *testing.T) {
	c := &clock{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	a := newAuth(t, c, Options{})
	var hashes [][]byte
	a.compare = func(h, pw []byte) error {
		hashes = append(hashes, h)
		return bcrypt.CompareHashAndPassword(h, pw)
	}
	tests := []struct {
		name, email, password string
		err                   error
		hash                  []byte // the hash bcrypt must have been run against
	}{
		{"ok, e-mail case ignored", " owner@EXAMPLE.com", "correct horse", nil, []byte(a.users["owner@example.com"].PasswordBcrypt)},
		{"wrong password", "owner@example.com", "wrong", ErrBadCredentials, []byte(a.users["owner@example.com"].PasswordBcrypt)},
		{"unknown e-mail runs bcrypt on the dummy", "nobody@example.com", "correct horse", ErrBadCredentials, a.dummy},
		{"empty password", "owner@example.com", "", ErrBadCredentials, []byte(a.users["owner@example.com"].PasswordBcrypt)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hashes = nil
			u, err := a.Login(loginRequest("192.0.2.1:1234"), tt.email, tt.password)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			if (err == nil) != (u != nil) {
				t.Fatalf("user %v with err %v", u, err)
			}
			if len(hashes) != 1 || !bytes.Equal(hashes[0], tt.hash) {
				t.Fatalf("bcrypt ran %d times against %q, want once against %q", len(hashes), hashes, tt.hash)
			}
		})
	}
	if c, err := bcrypt.Cost(a.dummy); err != nil || c != bcrypt.MinCost {
		t.Errorf("dummy hash cost %d (%v), want the users' cost %d", c, err, bcrypt.MinCost)
	}
}

func TestLoginRateLimit(t *testing.T) {
	c := &clock{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	a := newAuth(t, c, Options{LoginAttempts: 3, LoginWindow: 15 * time.Minute})
	for i := range 3 {
		if _, err := a.Login(loginRequest("192.0.2.1:1"), "owner@example.com", "wrong"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
	// The e-mail is exhausted, even with the right password and from
	// another address.
	if _, err := a.Login(loginRequest("192.0.2.2:1"), "owner@example.com", "correct horse"); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("4th attempt for the e-mail: %v, want rate limited", err)
	}
	// The first address is exhausted for other e-mails too.
	if _, err := a.Login(loginRequest("192.0.2.1:1"), "x@example.com", "wrong"); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("4th attempt from the address: %v, want rate limited", err)
	}
	// One token comes back after a third of the window.
	c.t = c.t.Add(5*time.Minute + time.Second)
	if _, err := a.Login(loginRequest("192.0.2.3:1"), "owner@example.com", "correct horse"); err != nil {
		t.Fatalf("after refill: %v", err)
	}
}

func TestLimiterIsBounded(t *testing.T) {
	now := time.Now()
	l := newLimiter(2, time.Minute, 3)
	for _, k := range []string{"a", "b", "c"} {
		if !l.allow(k, now) {
			t.Fatalf("%s refused", k)
		}
	}
	if l.allow("d", now) {
		t.Fatal("a fourth key was admitted while all buckets are in use")
	}
	// Once the buckets are full again they are forgotten, making room.
	if !l.allow("d", now.Add(time.Minute)) {
		t.Fatal("d refused after the others refilled")
	}
	if len(l.buckets) != 1 {
		t.Errorf("%d buckets, want 1", len(l.buckets))
	}
}

func TestForwardedHeadersOnlyFromTrustedProxies(t *testing.T) {
	a, err := New(Options{TrustedProxies: []string{"10.0.0.0/8"}})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("X-Forwarded-Proto", "https")
	r.Header.Set("X-Forwarded-For", "198.51.100.7")
	r.RemoteAddr = "192.0.2.1:1"
	if a.Secure(r) || a.ClientAddr(r).String() != "192.0.2.1" {
		t.Errorf("untrusted peer: secure %v, client %s", a.Secure(r), a.ClientAddr(r))
	}
	r.RemoteAddr = "10.1.2.3:1"
	if !a.Secure(r) || a.ClientAddr(r).String() != "198.51.100.7" {
		t.Errorf("trusted proxy: secure %v, client %s", a.Secure(r), a.ClientAddr(r))
	}
}

func TestSessions(t *testing.T) {
	c := &clock{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	a := newAuth(t, c, Options{SessionIdle: time.Hour, SessionMax: 3 * time.Hour, MaxSessions: 2})
	u, _ := a.User("owner@example.com")
	start := func() *http.Cookie {
		rec := httptest.NewRecorder()
		a.StartSession(rec, httptest.NewRequest(http.MethodPost, "/login", nil), u)
		return rec.Result().Cookies()[0]
	}
	with := func(ck *http.Cookie) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.AddCookie(ck)
		return r
	}
	ck := start()
	if a.Session(with(ck)) == nil {
		t.Fatal("no session right after sign-in")
	}
	for _, v := range a.sessions.m {
		if v.User != u {
			t.Fatal("wrong user")
		}
	}
	if _, ok := a.sessions.m[sha256.Sum256([]byte(ck.Value))]; !ok {
		t.Fatal("session not kept under the sha256 of its id")
	}
	for k := range a.sessions.m {
		if strings.Contains(string(k[:]), ck.Value) {
			t.Fatal("raw id stored")
		}
	}
	// Used every 50 minutes it survives idling, until the absolute limit.
	for range 3 {
		c.t = c.t.Add(50 * time.Minute)
		if a.Session(with(ck)) == nil {
			t.Fatalf("session ended at %s while in use", c.t)
		}
	}
	c.t = c.t.Add(31 * time.Minute)
	if a.Session(with(ck)) != nil {
		t.Fatal("session outlived SessionMax")
	}
	// Idle expiry.
	ck = start()
	c.t = c.t.Add(time.Hour + time.Second)
	if a.Session(with(ck)) != nil {
		t.Fatal("session outlived SessionIdle")
	}
	// Bounded: the least recently used goes.
	c1 := start()
	c.t = c.t.Add(time.Second)
	c2 := start()
	c.t = c.t.Add(time.Second)
	a.Session(with(c1))
	c3 := start()
	if a.Len() != 2 || a.Session(with(c2)) != nil || a.Session(with(c1)) == nil || a.Session(with(c3)) == nil {
		t.Fatalf("after overflow: %d sessions; want c1 and c3 kept", a.Len())
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"":                    "/",
		"/":                   "/",
		"/example.com":        "/example.com",
		"/example.com?x=1#y":  "/example.com?x=1#y",
		"//evil.com":          "/",
		"///evil.com":         "/",
		"/\\evil.com":         "/",
		"\\\\evil.com":        "/",
		"https://evil.com":    "/",
		"http:/evil.com":      "/",
		"javascript:alert(1)": "/",
		"evil.com":            "/",
		"/a\nb":               "/",
		"/a\tb":               "/",
		"%2F%2Fevil.com":      "/",
	} {
		if got := SafeNext(in); got != want {
			t.Errorf("SafeNext(%q) = %q, want %q", in, got, want)
		}
	}
	// What SafeNext passes resolves on our own host.
	base, _ := url.Parse("https://dash.example/login")
	for _, in := range []string{"/x", "/x/../y", "/.%2e/x"} {
		u, err := base.Parse(SafeNext(in))
		if err != nil || u.Host != "dash.example" {
			t.Errorf("%q resolves to %v (%v)", in, u, err)
		}
	}
}

func TestMatchToken(t *testing.T) {
	sums := [][32]byte{sha256.Sum256([]byte("one")), sha256.Sum256([]byte("two"))}
	for tok, want := range map[string]bool{"one": true, "two": true, "three": false, "": false, "ONE": false} {
		if got := MatchToken(tok, sums); got != want {
			t.Errorf("MatchToken(%q) = %v", tok, got)
		}
	}
	if MatchToken("", [][32]byte{sha256.Sum256(nil)}) {
		t.Error("empty token matched the sha256 of nothing")
	}
}

func TestNewValidates(t *testing.T) {
	for name, u := range map[string][]User{
		"bad email":  {{Email: "owner", PasswordBcrypt: "$2a$04$x", Sites: []string{"*"}}},
		"not bcrypt": {{Email: "a@b.c", PasswordBcrypt: "secret", Sites: []string{"*"}}},
		"no sites":   {{Email: "a@b.c", PasswordBcrypt: hash(t, "x")}},
		"duplicate":  {{Email: "a@b.c", PasswordBcrypt: hash(t, "x"), Sites: []string{"*"}}, {Email: "A@b.c", PasswordBcrypt: hash(t, "x"), Sites: []string{"*"}}},
	} {
		if _, err := New(Options{Users: u}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := New(Options{TrustedProxies: []string{"nope"}}); err == nil {
		t.Error("bad proxy accepted")
	}
}
