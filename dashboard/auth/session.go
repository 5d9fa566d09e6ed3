package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"sync"
	"time"
)

// SessionCookie is the name of the session cookie.
const SessionCookie = "analytics_session"

// Session is a signed-in user's session.
type Session struct {
	User *User
	// CSRF is the token every state-changing form of the session carries
	// in its field "csrf".
	CSRF string

	created, lastSeen time.Time
}

// sessionStore keeps sessions by the SHA-256 of their id, bounded in count.
type sessionStore struct {
	mu        sync.Mutex
	m         map[[32]byte]*Session
	idle, abs time.Duration
	max       int
}

func newSessionStore(idle, abs time.Duration, max int) *sessionStore {
	return &sessionStore{m: map[[32]byte]*Session{}, idle: idle, abs: abs, max: max}
}

func (s *sessionStore) expired(ss *Session, now time.Time) bool {
	return now.Sub(ss.lastSeen) > s.idle || now.Sub(ss.created) > s.abs
}

func (s *sessionStore) add(key [32]byte, ss *Session, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= s.max {
		for k, v := range s.m {
			if s.expired(v, now) {
				delete(s.m, k)
			}
		}
	}
	for len(s.m) >= s.max {
		// Still full: the least recently used session goes.
		var oldest [32]byte
		first := true
		for k, v := range s.m {
			if first || v.lastSeen.Before(s.m[oldest].lastSeen) {
				oldest, first = k, false
			}
		}
		delete(s.m, oldest)
	}
	s.m[key] = ss
}

func (s *sessionStore) get(key [32]byte, now time.Time) *Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.m[key]
	if !ok {
		return nil
	}
	if s.expired(ss, now) {
		delete(s.m, key)
		return nil
	}
	ss.lastSeen = now
	return ss
}

func (s *sessionStore) delete(key [32]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
}

// Len is the number of sessions kept, expired ones included.
func (a *Auth) Len() int {
	a.sessions.mu.Lock()
	defer a.sessions.mu.Unlock()
	return len(a.sessions.m)
}

func randomToken() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func sessionKey(cookie string) [32]byte {
	return sha256.Sum256([]byte(cookie))
}

// StartSession signs u in: it ends the request's current session, if any,
// and sets a cookie with a fresh session id.
func (a *Auth) StartSession(w http.ResponseWriter, r *http.Request, u *User) *Session {
	if c, err := r.Cookie(SessionCookie); err == nil {
		a.sessions.delete(sessionKey(c.Value))
	}
	now := a.now()
	id := randomToken()
	ss := &Session{User: u, CSRF: randomToken(), created: now, lastSeen: now}
	a.sessions.add(sessionKey(id), ss, now)
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: id, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: a.Secure(r),
		// A browser keeps the cookie no longer than the server keeps the
		// session.
		MaxAge: int(a.sessions.abs / time.Second),
	})
	return ss
}

// Session returns the request's live session, or nil.
func (a *Auth) Session(r *http.Request) *Session {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return nil
	}
	return a.sessions.get(sessionKey(c.Value), a.now())
}

// EndSession deletes the request's session and clears the cookie.
func (a *Auth) EndSession(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(SessionCookie); err == nil {
		a.sessions.delete(sessionKey(c.Value))
	}
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: a.Secure(r),
	})
}
