package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
)

// CSRFField is the form field that carries the CSRF token.
const CSRFField = "csrf"

// loginCSRFCookie holds the random half of the login form's signed
// double-submit token: the form carries HMAC(key, cookie value), which a
// cross-site attacker can neither read nor forge.
const loginCSRFCookie = "analytics_login_csrf"

// ErrCSRF is a state-changing request without a valid token, or from
// another origin.
var ErrCSRF = errors.New("this form has expired or did not come from this site; reload the page and try again")

// crossOrigin refuses requests whose Sec-Fetch-Site or Origin shows another
// origin. Requests with neither header (not from a browser) pass; the token
// protects those.
var crossOrigin = http.NewCrossOriginProtection()

// CheckOrigin refuses a cross-origin request.
func CheckOrigin(r *http.Request) error {
	if crossOrigin.Check(r) != nil {
		return ErrCSRF
	}
	return nil
}

// CheckCSRF checks a state-changing request of a session: same origin, and
// the form field csrf equal to the session's token. Call it after
// r.ParseForm.
func CheckCSRF(r *http.Request, ss *Session) error {
	if err := CheckOrigin(r); err != nil {
		return err
	}
	got := r.PostFormValue(CSRFField)
	if ss == nil || got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(ss.CSRF)) != 1 {
		return ErrCSRF
	}
	return nil
}

// LoginCSRF returns the token for the login form, setting the cookie it is
// checked against when the request has none.
func (a *Auth) LoginCSRF(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(loginCSRFCookie)
	if err != nil || len(c.Value) < 40 {
		c = &http.Cookie{
			Name: loginCSRFCookie, Value: randomToken(), Path: "/login",
			HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: a.Secure(r),
		}
		http.SetCookie(w, c)
	}
	return a.signLogin(c.Value)
}

// CheckLoginCSRF checks a POST of the login form: same origin, and the
// field csrf signing the cookie's value. Call it after r.ParseForm.
func (a *Auth) CheckLoginCSRF(r *http.Request) error {
	if err := CheckOrigin(r); err != nil {
		return err
	}
	c, err := r.Cookie(loginCSRFCookie)
	got := r.PostFormValue(CSRFField)
	if err != nil || c.Value == "" || got == "" || !hmac.Equal([]byte(got), []byte(a.signLogin(c.Value))) {
		return ErrCSRF
	}
	return nil
}

func (a *Auth) signLogin(v string) string {
	m := hmac.New(sha256.New, a.csrfKey[:])
	m.Write([]byte("login\x00" + v))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
