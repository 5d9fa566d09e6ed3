package dashboard

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"analytics/dashboard/auth"
	"analytics/dashboard/query"
)

// The HTML side: sign-in, the site list, a site's page and read-only shared
// links. Templates and the style sheet are embedded; pages carry no inline
// script or style, so the CSP below forbids both.

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

var pageTemplates = template.Must(template.ParseFS(templateFS, "templates/*.html"))

// htmlCSP is the Content-Security-Policy of every HTML page.
const htmlCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// maxFormBytes bounds a form body (login, logout).
const maxFormBytes = 16 << 10

// page is what the templates see; each page uses some of the fields.
type page struct {
	Title string
	// Session is the signed-in user's, for the header's sign-out form.
	Session *auth.Session

	// login
	CSRF, Next, Email, Error string
	// sites
	Sites []string
	// site
	Domain, Today, Timezone string
	Shared                  bool
	QueryError              string
	Dash                    *dashView
	Tech                    *techView
	// error
	Message string
}

// Page outcomes answered with the error page. errPageNotFound is the same
// for a site that does not exist and a site the user may not see, so that
// nobody can probe which sites exist.
var (
	errPageNotFound = &httpError{http.StatusNotFound, "There is no site here, or it is not shared with you."}
	errPageMethod   = &httpError{http.StatusMethodNotAllowed, "This page does not take that request method."}
	errPageForm     = &httpError{http.StatusBadRequest, "The form could not be read; reload the page and try again."}
	errPageCSRF     = &httpError{http.StatusForbidden, auth.ErrCSRF.Error()}
)

func (s *Server) routePages(mux *http.ServeMux) {
	static, _ := fs.Sub(staticFS, "static")
	files := http.FileServerFS(static)
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})))
	mux.HandleFunc("GET /login", s.handleLoginForm)
	mux.HandleFunc("POST /login", s.handleLogin)
	mux.HandleFunc("POST /logout", s.handleLogout)
	mux.HandleFunc("GET /share/{domain}", s.handleShare)
	mux.HandleFunc("GET /share/{domain}/export.csv", s.handleShareExport)
}

// handleRoot answers / (the site list), /{domain} (a site's page), its
// /export.csv and its /technical view; any other path is the JSON API's 404.
func (s *Server) handleRoot(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	domain, exporting := strings.CutSuffix(path, "/export.csv")
	if exporting && strings.Count(domain, "/") == 1 {
		path = domain
	} else {
		exporting = false
	}
	domain, technical := strings.CutSuffix(path, "/technical")
	if technical && strings.Count(domain, "/") == 1 && !exporting {
		path = domain
	} else {
		technical = false
	}
	if path != "/" && (strings.Count(path, "/") != 1 || path == "/favicon.ico") {
		s.writeError(w, r, errNotFound)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		s.renderError(w, r, nil, errPageMethod)
		return
	}
	ss := s.auth.Session(r)
	if ss == nil {
		redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()))
		return
	}
	if path == "/" {
		p := &page{Title: "Sites", Session: ss}
		for d := range s.sites {
			if ss.User.CanRead(d) {
				p.Sites = append(p.Sites, d)
			}
		}
		slices.Sort(p.Sites)
		s.render(w, r, http.StatusOK, "sites", p)
		return
	}
	site, ok := s.sites[strings.ToLower(path[1:])]
	if !ok || !ss.User.CanRead(site.Domain) {
		s.renderError(w, r, ss, errPageNotFound)
		return
	}
	if exporting {
		s.export(w, r, ss, site, "/"+site.Domain)
		return
	}
	if technical {
		s.renderTechnical(w, r, ss, site)
		return
	}
	s.renderSite(w, r, ss, site)
}

// handleShare answers GET /share/{domain}?auth=TOKEN: the site's page,
// read-only, for the holder of one of its shared link tokens. A wrong token
// and an unknown site get the same 404.
func (s *Server) handleShare(w http.ResponseWriter, r *http.Request) {
	site, ok := s.sites[strings.ToLower(r.PathValue("domain"))]
	if !ok || !auth.MatchToken(r.URL.Query().Get("auth"), s.shares[site.Domain]) {
		s.renderError(w, r, nil, errPageNotFound)
		return
	}
	s.renderSite(w, r, nil, site)
}

func (s *Server) handleLoginForm(w http.ResponseWriter, r *http.Request) {
	next := auth.SafeNext(r.URL.Query().Get("next"))
	if s.auth.Session(r) != nil {
		redirect(w, r, next)
		return
	}
	s.render(w, r, http.StatusOK, "login", &page{Title: "Sign in", CSRF: s.auth.LoginCSRF(w, r), Next: next})
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	if err := s.auth.CheckLoginCSRF(r); err != nil {
		s.renderError(w, r, nil, errPageCSRF)
		return
	}
	email, next := r.PostFormValue("email"), auth.SafeNext(r.PostFormValue("next"))
	u, err := s.auth.Login(r, email, r.PostFormValue("password"))
	if err != nil {
		status := http.StatusUnauthorized
		if errors.Is(err, auth.ErrRateLimited) {
			status = http.StatusTooManyRequests
			w.Header().Set("Retry-After", strconv.Itoa(int(auth.DefaultLoginWindow/time.Second)))
		}
		s.logger.Info("login refused", "route", routeLogin, "status", status)
		s.render(w, r, status, "login", &page{
			Title: "Sign in", CSRF: s.auth.LoginCSRF(w, r), Next: next, Email: email, Error: err.Error(),
		})
		return
	}
	s.auth.StartSession(w, r, u)
	redirect(w, r, next)
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	ss := s.auth.Session(r)
	if ss == nil {
		// Nothing to end; an expired session lands here.
		if auth.CheckOrigin(r) != nil {
			s.renderError(w, r, nil, errPageCSRF)
			return
		}
		redirect(w, r, "/login")
		return
	}
	if err := auth.CheckCSRF(r, ss); err != nil {
		s.renderError(w, r, ss, errPageCSRF)
		return
	}
	s.auth.EndSession(w, r)
	redirect(w, r, "/login")
}

func (s *Server) parseForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		s.renderError(w, r, nil, errPageForm)
		return false
	}
	return true
}

func (s *Server) runQuery(ctx context.Context, site Site, now time.Time, body map[string]any) (*query.Response, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := query.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("site page query: %w", err)
	}
	plan, err := req.Resolve(query.Site{ID: site.Domain, Location: site.Location, MinVisitors: site.MinVisitors}, now)
	if err != nil {
		return nil, fmt.Errorf("site page query: %w", err)
	}
	release, err := s.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	resp, err := query.Run(ctx, s.db.Conn, plan)
	if err != nil && ctx.Err() == context.DeadlineExceeded {
		return nil, errTimeout
	}
	return resp, err
}

// formatMetric renders a metric value for people.
func formatMetric(name string, v any) string {
	switch v := v.(type) {
	case nil:
		return "–"
	case uint64:
		if name == query.MetricVisitDuration {
			return (time.Duration(v) * time.Second).String()
		}
		if name == query.MetricBounceRate {
			return strconv.FormatUint(v, 10) + "%"
		}
		return strconv.FormatUint(v, 10)
	case float64:
		switch name {
		case query.MetricBounceRate:
			return strconv.FormatFloat(v, 'f', 0, 64) + "%"
		case query.MetricVisitDuration:
			return (time.Duration(v) * time.Second).Round(time.Second).String()
		}
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

func (s *Server) renderError(w http.ResponseWriter, r *http.Request, ss *auth.Session, he *httpError) {
	s.render(w, r, he.status, "error", &page{Title: http.StatusText(he.status), Session: ss, Message: he.msg})
}

// render executes a template into a buffer first, so that a template error
// becomes a clean 500 rather than half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	var buf bytes.Buffer
	if err := pageTemplates.ExecuteTemplate(&buf, name, p); err != nil {
		s.logger.Error("render page", "route", routeOf(r), "template", name, "error", err.Error())
		http.Error(w, "internal error; the dashboard log has the details", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", htmlCSP)
	h.Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
}

// Route names of the pages for logs: constant, never the request path.
const (
	routeLogin  = "login"
	routeSite   = "site"
	routeExport = "export"
)

// redirect answers 303 See Other with the pages' headers (http.Redirect
// writes a small HTML body).
func redirect(w http.ResponseWriter, r *http.Request, to string) {
	w.Header().Set("Content-Security-Policy", htmlCSP)
	http.Redirect(w, r, to, http.StatusSeeOther)
}
