// Package auth owns who may see what on the HTML dashboard: users from the
// configuration and their password check, server-side sessions in a cookie,
// CSRF tokens for state-changing forms, login rate limits, per-site access
// and read-only shared links. It knows nothing about pages; dashboard calls
// it from its handlers.
//
// Decisions worth knowing:
//   - Session ids are 256 random bits, sent in the cookie analytics_session
//     (HttpOnly, SameSite=Lax, Path=/); only their SHA-256 is kept, in memory,
//     so a restart signs everybody out.
//   - The cookie is Secure when the request came over TLS, or carried
//     X-Forwarded-Proto: https from a trusted proxy (Options.TrustedProxies,
//     the same list the collector uses). Anyone else's header is ignored.
//   - A login always runs bcrypt, against a dummy hash for unknown e-mails,
//     so the answer time does not tell which addresses are users.
//   - Failed and successful login attempts alike draw from two token buckets,
//     one per client address and one per e-mail address.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"analytics/collector/clientip"
)

// Sentinel outcomes of Login.
var (
	// ErrBadCredentials answers an unknown e-mail and a wrong password alike.
	ErrBadCredentials = errors.New("wrong e-mail address or password")
	// ErrRateLimited means too many attempts from the client or for the
	// e-mail address.
	ErrRateLimited = errors.New("too many login attempts; wait a few minutes and try again")
)

// User is a configured dashboard user.
type User struct {
	// Email is the login name, compared case-insensitively.
	Email string
	// PasswordBcrypt is the bcrypt hash of the password
	// (`analytics hash-password`).
	PasswordBcrypt string
	// Sites lists the domains the user may read; "*" means all sites.
	Sites []string
}

// CanRead reports whether the user may see the site.
func (u *User) CanRead(domain string) bool {
	return slices.Contains(u.Sites, "*") || slices.Contains(u.Sites, domain)
}

// Defaults of Options.
const (
	DefaultSessionIdle   = 12 * time.Hour
	DefaultSessionMax    = 7 * 24 * time.Hour
	DefaultMaxSessions   = 10000
	DefaultLoginAttempts = 10
	DefaultLoginWindow   = 15 * time.Minute
	// maxLimiterKeys bounds each rate limiter's memory.
	maxLimiterKeys = 10000
)

// Options configure an Auth.
type Options struct {
	// Users may sign in. Their e-mail addresses must be unique.
	Users []User
	// TrustedProxies are CIDRs or addresses of reverse proxies whose
	// X-Forwarded-For (for the client address that login attempts are
	// limited by) and X-Forwarded-Proto (for the cookie's Secure flag) are
	// believed.
	TrustedProxies []string
	// SessionIdle ends a session unused for this long; default 12h.
	SessionIdle time.Duration
	// SessionMax ends a session this long after sign-in; default 7 days.
	SessionMax time.Duration
	// MaxSessions bounds the sessions kept; the least recently used one
	// goes when a new one would exceed it. Default 10000.
	MaxSessions int
	// LoginAttempts per LoginWindow are allowed per client address and per
	// e-mail address; defaults 10 per 15 minutes.
	LoginAttempts int
	LoginWindow   time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Auth checks passwords and keeps sessions. It is safe for concurrent use.
type Auth struct {
	users    map[string]*User
	dummy    []byte
	proxies  *clientip.Resolver
	now      func() time.Time
	sessions *sessionStore
	byAddr   *limiter
	byEmail  *limiter
	// csrfKey signs the login form's double-submit cookie; random per
	// process.
	csrfKey [32]byte
	// compare is bcrypt.CompareHashAndPassword; tests observe it.
	compare func(hash, password []byte) error
}

// New validates opts and builds an Auth. Errors name the user.
func New(opts Options) (*Auth, error) {
	proxies, err := clientip.NewResolver(opts.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SessionIdle <= 0 {
		opts.SessionIdle = DefaultSessionIdle
	}
	if opts.SessionMax <= 0 {
		opts.SessionMax = DefaultSessionMax
	}
	if opts.MaxSessions <= 0 {
		opts.MaxSessions = DefaultMaxSessions
	}
	if opts.LoginAttempts <= 0 {
		opts.LoginAttempts = DefaultLoginAttempts
	}
	if opts.LoginWindow <= 0 {
		opts.LoginWindow = DefaultLoginWindow
	}
	a := &Auth{
		users:    map[string]*User{},
		proxies:  proxies,
		now:      opts.Now,
		sessions: newSessionStore(opts.SessionIdle, opts.SessionMax, opts.MaxSessions),
		byAddr:   newLimiter(opts.LoginAttempts, opts.LoginWindow, maxLimiterKeys),
		byEmail:  newLimiter(opts.LoginAttempts, opts.LoginWindow, maxLimiterKeys),
		compare:  bcrypt.CompareHashAndPassword,
	}
	cost := bcrypt.MinCost
	for i, u := range opts.Users {
		email := strings.ToLower(strings.TrimSpace(u.Email))
		if !strings.Contains(email, "@") {
			return nil, fmt.Errorf("auth: user #%d: email %q is not an e-mail address", i+1, u.Email)
		}
		if _, dup := a.users[email]; dup {
			return nil, fmt.Errorf("auth: user %s is configured twice", email)
		}
		c, err := bcrypt.Cost([]byte(u.PasswordBcrypt))
		if err != nil {
			return nil, fmt.Errorf("auth: user %s: password_bcrypt is not a bcrypt hash (make one with `analytics hash-password`)", email)
		}
		if len(u.Sites) == 0 {
			return nil, fmt.Errorf("auth: user %s has no sites; list domains, or \"*\" for all", email)
		}
		cost = max(cost, c)
		u.Email = email
		u.Sites = slices.Clone(u.Sites)
		for j := range u.Sites {
			u.Sites[j] = strings.ToLower(u.Sites[j])
		}
		a.users[email] = &u
	}
	if len(opts.Users) > 0 {
		// The dummy costs what the dearest real hash costs, so an unknown
		// address takes at least as long as a known one.
		var pw [16]byte
		rand.Read(pw[:])
		if a.dummy, err = bcrypt.GenerateFromPassword(pw[:], cost); err != nil {
			return nil, fmt.Errorf("auth: dummy hash: %w", err)
		}
	} else {
		a.dummy = []byte("$2a$04$invalidinvalidinvalidinvalidinvalidinvalidinvalidinva")
	}
	rand.Read(a.csrfKey[:])
	return a, nil
}

// maxPasswordBytes bounds the work of one attempt; bcrypt reads 72 bytes.
const maxPasswordBytes = 1024

// Login checks an e-mail address and password, after the rate limits of
// the client address and of the e-mail address. It returns ErrRateLimited
// or ErrBadCredentials, and runs bcrypt exactly once otherwise, whether or
// not the user exists.
func (a *Auth) Login(r *http.Request, email, password string) (*User, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	now := a.now()
	okAddr := a.byAddr.allow(a.ClientAddr(r).String(), now)
	okEmail := a.byEmail.allow(email, now)
	if !okAddr || !okEmail {
		return nil, ErrRateLimited
	}
	u, known := a.users[email]
	hash := a.dummy
	if known {
		hash = []byte(u.PasswordBcrypt)
	}
	if len(password) > maxPasswordBytes {
		password = password[:maxPasswordBytes]
	}
	err := a.compare(hash, []byte(password))
	if err != nil || !known {
		return nil, ErrBadCredentials
	}
	return u, nil
}

// User returns the configured user of an e-mail address.
func (a *Auth) User(email string) (*User, bool) {
	u, ok := a.users[strings.ToLower(email)]
	return u, ok
}

// ClientAddr is the request's client address: the socket peer, or what a
// trusted proxy says.
func (a *Auth) ClientAddr(r *http.Request) netip.Addr {
	peer := peerAddr(r)
	return a.proxies.ClientIP(peer,
		[]byte(strings.Join(r.Header.Values("X-Forwarded-For"), ",")),
		[]byte(strings.Join(r.Header.Values("Forwarded"), ",")),
		[]byte(r.Header.Get("X-Real-IP")))
}

// Secure reports whether the client reached us over HTTPS: TLS on our own
// socket, or X-Forwarded-Proto: https from a trusted proxy.
func (a *Auth) Secure(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	return a.proxies.Trusted(peerAddr(r)) && strings.EqualFold(strings.TrimSpace(r.Header.Get("X-Forwarded-Proto")), "https")
}

func peerAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		a, _ := netip.ParseAddr(r.RemoteAddr)
		return a.Unmap()
	}
	return ap.Addr().Unmap()
}

// MatchToken reports whether token's SHA-256 is one of sums. Every sum is
// compared, in constant time.
func MatchToken(token string, sums [][32]byte) bool {
	if token == "" {
		return false
	}
	sum := sha256.Sum256([]byte(token))
	found := 0
	for i := range sums {
		found |= subtle.ConstantTimeCompare(sum[:], sums[i][:])
	}
	return found == 1
}
