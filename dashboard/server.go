// Package dashboard serves the private side of the product on its own
// address: the JSON Stats API (POST /api/v2/query, Bearer API keys scoped to
// sites), a health check, and the HTML pages: sign-in, the site list, a
// site's page and read-only shared links (pages.go). Queries are planned and
// run by dashboard/query; users, sessions and CSRF live in dashboard/auth;
// this package owns HTTP, keys, site access and the error envelope
// {"error": "..."}.
package dashboard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"analytics/dashboard/auth"
	"analytics/dashboard/query"
	"analytics/schema"
)

// DefaultAddr is the dashboard's default listen address: loopback only,
// since the dashboard is private.
const DefaultAddr = "127.0.0.1:8081"

// Site is a configured site as the dashboard sees it.
type Site struct {
	// Domain is the site's id in the API (site_id) and in storage.
	Domain string
	// MinVisitors is the k-anonymity threshold for breakdown rows; 0 means
	// the default, 5.
	MinVisitors int
	// Location gives day boundaries; nil means UTC.
	Location *time.Location
	// SharedLinks give read-only access to the site's page without signing
	// in, at /share/{domain}?auth=TOKEN.
	SharedLinks []SharedLink
}

// SharedLink is a read-only link to a site's page. Only the token's SHA-256
// is kept.
type SharedLink struct {
	// Name identifies the link in the configuration.
	Name   string
	SHA256 [32]byte
}

// APIKey is a configured Stats API key. Only the key's SHA-256 is kept.
type APIKey struct {
	// Name identifies the key in logs.
	Name   string
	SHA256 [32]byte
	// Sites lists the domains the key may read; "*" means all sites.
	Sites []string
}

// Options configure a Server.
type Options struct {
	// Addr is the listen address for ListenAndServe; default DefaultAddr.
	Addr string
	// DB is the store queried; required.
	DB *schema.DB
	// Sites are the configured sites; a site_id outside them is not found.
	Sites []Site
	// APIKeys may call the Stats API. With none, every call is refused.
	APIKeys []APIKey
	// Users may sign in to the HTML dashboard and see their sites.
	Users []auth.User
	// TrustedProxies are CIDRs or addresses of reverse proxies whose
	// X-Forwarded-For (login rate limits) and X-Forwarded-Proto: https (the
	// session cookie's Secure flag) are believed.
	TrustedProxies []string
	// Logger receives errors; default discards.
	Logger *slog.Logger
	// Now is the clock that relative date ranges are resolved against;
	// default time.Now.
	Now func() time.Time
	// CollectorURLs are the base URLs (http://host:port) of the collector
	// nodes whose /readyz and /metrics the technical view summarises.
	CollectorURLs []string
}

// Limits of the HTTP side.
const (
	// maxBodyBytes bounds a Stats API request body.
	maxBodyBytes = 64 << 10
	// maxConcurrentQueries bounds the ClickHouse queries in flight;
	// queryQueueWait is how long a request waits for a slot before 503.
	maxConcurrentQueries = 8
	queryQueueWait       = 5 * time.Second
	// queryTimeout bounds one Stats API query.
	queryTimeout = 30 * time.Second
)

// Server is the dashboard HTTP server.
type Server struct {
	db      *schema.DB
	sites   map[string]Site
	keys    []APIKey
	auth    *auth.Auth
	shares  map[string][][32]byte
	logger  *slog.Logger
	now     func() time.Time
	addr    string
	slots   chan struct{}
	handler http.Handler
	srv     *http.Server
	// collectors are the nodes the technical view reads over HTTP.
	collectors   []string
	scrapeClient *http.Client
}

// New validates opts and builds a Server. Errors name the option and value.
func New(opts Options) (*Server, error) {
	if opts.DB == nil {
		return nil, errors.New("dashboard: Options.DB is required")
	}
	s := &Server{
		db:     opts.DB,
		sites:  map[string]Site{},
		logger: opts.Logger,
		now:    opts.Now,
		addr:   opts.Addr,
		slots:  make(chan struct{}, maxConcurrentQueries),
		// The collector nodes are the operator's own; no redirects.
		scrapeClient: &http.Client{Timeout: 3 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}},
	}
	for _, u := range opts.CollectorURLs {
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return nil, fmt.Errorf("dashboard: collector URL %q: want http://host:port", u)
		}
		s.collectors = append(s.collectors, strings.TrimRight(u, "/"))
	}
	if s.logger == nil {
		s.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s.logger = s.logger.With("component", "dashboard")
	if s.now == nil {
		s.now = time.Now
	}
	if s.addr == "" {
		s.addr = DefaultAddr
	}
	for i, site := range opts.Sites {
		domain := strings.ToLower(site.Domain)
		if domain == "" {
			return nil, fmt.Errorf("dashboard: site %d has no domain", i)
		}
		if _, dup := s.sites[domain]; dup {
			return nil, fmt.Errorf("dashboard: site %q is configured twice", site.Domain)
		}
		if site.MinVisitors < 0 {
			return nil, fmt.Errorf("dashboard: site %q: min_visitors %d must be at least 0 (0 means the default, %d)", site.Domain, site.MinVisitors, query.DefaultMinVisitors)
		}
		if site.MinVisitors == 0 {
			site.MinVisitors = query.DefaultMinVisitors
		}
		if site.Location == nil {
			site.Location = time.UTC
		}
		site.Domain = domain
		s.sites[domain] = site
		for j, l := range site.SharedLinks {
			if l.SHA256 == ([32]byte{}) {
				return nil, fmt.Errorf("dashboard: site %q: shared link %d (%q) has no sha256", site.Domain, j, l.Name)
			}
			if s.shares == nil {
				s.shares = map[string][][32]byte{}
			}
			s.shares[domain] = append(s.shares[domain], l.SHA256)
		}
	}
	for _, u := range opts.Users {
		for _, d := range u.Sites {
			if _, ok := s.sites[strings.ToLower(d)]; !ok && d != "*" {
				return nil, fmt.Errorf("dashboard: user %q: site %q is not configured", u.Email, d)
			}
		}
	}
	a, err := auth.New(auth.Options{Users: opts.Users, TrustedProxies: opts.TrustedProxies, Now: s.now})
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	s.auth = a
	for i, k := range opts.APIKeys {
		if k.Name == "" {
			return nil, fmt.Errorf("dashboard: API key %d has no name", i)
		}
		if k.SHA256 == ([32]byte{}) {
			return nil, fmt.Errorf("dashboard: API key %q has no sha256", k.Name)
		}
		if len(k.Sites) == 0 {
			return nil, fmt.Errorf("dashboard: API key %q has no sites; list domains, or \"*\" for all", k.Name)
		}
		scoped := make([]string, len(k.Sites))
		for j, d := range k.Sites {
			d = strings.ToLower(d)
			if _, ok := s.sites[d]; !ok && d != "*" {
				return nil, fmt.Errorf("dashboard: API key %q: site %q is not configured", k.Name, k.Sites[j])
			}
			scoped[j] = d
		}
		k.Sites = scoped
		s.keys = append(s.keys, k)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/api/v2/query", s.handleQuery)
	mux.HandleFunc("/healthz", s.handleHealthz)
	s.routePages(mux)
	mux.HandleFunc("/", s.handleRoot)
	s.handler = securityHeaders(mux)
	s.srv = &http.Server{
		Addr:              s.addr,
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      queryTimeout + 15*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// Handler returns the server's routes, for tests and for embedding.
func (s *Server) Handler() http.Handler { return s.handler }

// Serve accepts connections on ln until Shutdown. It returns nil after a
// Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	if err := s.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("dashboard: serve %s: %w", ln.Addr(), err)
	}
	return nil
}

// ListenAndServe listens on Options.Addr and serves until Shutdown.
func (s *Server) ListenAndServe() error {
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("dashboard: listen on %s: %w (set the dashboard address to a free port)", s.addr, err)
	}
	return s.Serve(ln)
}

// Shutdown stops accepting connections and waits for requests in flight
// until ctx ends; then it closes the remaining connections.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		// Out of time: cut the stragglers rather than leave them running.
		s.srv.Close()
		return fmt.Errorf("dashboard: shutdown: %w", err)
	}
	return nil
}

// securityHeaders sets the headers every response carries.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		s.writeError(w, r, errMethod)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "ok\n")
}
