// Package collector is the product's HTTP edge: a fasthttp server that takes
// Plausible-compatible beacons from every visitor's browser, coarsens them on
// the spot and hands privacy-safe aggregator.Events on. The raw IP address and
// User-Agent of a request are used only inside the request handler (to look
// up a country, classify the browser and derive the salted visitor key) and
// are never copied out of it.
package collector

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fasthttp"

	"analytics/aggregator"
	"analytics/collector/beacon"
	"analytics/collector/clientip"
	"analytics/collector/geo"
	"analytics/collector/useragent"
	"analytics/collector/visitor"
)

// Site is one tracked site as the collector sees it.
type Site struct {
	// Domain is the `d` that snippets send.
	Domain string
	// Hosts are the page hosts accepted for the site (port and leading
	// "www." ignored). Empty means the domain itself.
	Hosts []string
}

// Sink receives accepted events. *aggregator.Aggregator implements it.
type Sink interface {
	Add(e *aggregator.Event)
}

// Options configure a Server.
type Options struct {
	Sites []Site
	Sink  Sink
	// TrustedProxies are the CIDRs (or bare IPs) whose forwarded headers are
	// believed.
	TrustedProxies []string
	// GeoIP resolves countries; nil counts every country as unknown.
	GeoIP *geo.DB
	// Salts derive visitor keys. Required.
	Salts *visitor.Salts
	// UACacheSize bounds the parsed User-Agent cache (default 10000).
	UACacheSize int
	// MaxBodyBytes is the largest accepted beacon body (default 8 KiB).
	MaxBodyBytes int
	// Ready reports readiness for /readyz: ok, or a reason and whether events
	// can still be accepted. nil means always ready.
	Ready func() (reason string, degraded, down bool)
	// Metrics receives the collector's metrics; /metrics writes this set
	// and the process metrics. Default: a private set.
	Metrics *metrics.Set
	Logger  *slog.Logger
	// Now is the clock that stamps events (default time.Now).
	Now func() time.Time
}

// Drop reasons, as used in analytics_events_dropped_total{reason}.
const (
	ReasonMalformed      = "malformed"
	ReasonTooLarge       = "too_large"
	ReasonUnknownSite    = "unknown_site"
	ReasonHostNotAllowed = "host_not_allowed"
	ReasonBot            = "bot"
)

var reasons = []string{ReasonMalformed, ReasonTooLarge, ReasonUnknownSite, ReasonHostNotAllowed, ReasonBot}

// unknownSiteLabel is the site label for events whose site is not
// configured: the label set stays bounded whatever domains clients send.
const unknownSiteLabel = "(unknown)"

type siteState struct {
	domain   string
	hosts    map[string]bool
	accepted *metrics.Counter
	dropped  map[string]*metrics.Counter
}

// Server is the collector's HTTP server.
type Server struct {
	sites   map[string]*siteState
	sink    Sink
	ips     *clientip.Resolver
	geo     *geo.DB
	salts   *visitor.Salts
	ua      *useragent.Parser
	ready   func() (string, bool, bool)
	metrics *metrics.Set
	log     *slog.Logger
	now     func() time.Time
	srv     *fasthttp.Server

	unknown  *siteState // counters for events of unconfigured sites
	requests map[int]*metrics.Counter
	panics   *metrics.Counter

	decoders sync.Pool
}

type decodeState struct {
	dec beacon.Decoder
	b   beacon.Beacon
	ev  aggregator.Event
}

// New validates opts and returns a Server.
func New(opts Options) (*Server, error) {
	if opts.Sink == nil {
		return nil, errors.New("collector: Sink is required")
	}
	if opts.Salts == nil {
		return nil, errors.New("collector: Salts is required")
	}
	if opts.UACacheSize <= 0 {
		opts.UACacheSize = 10000
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 8 << 10
	}
	if opts.Metrics == nil {
		opts.Metrics = metrics.NewSet()
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	ips, err := clientip.NewResolver(opts.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("trusted proxies: %w", err)
	}
	s := &Server{
		sites:    make(map[string]*siteState, len(opts.Sites)),
		sink:     opts.Sink,
		ips:      ips,
		geo:      opts.GeoIP,
		salts:    opts.Salts,
		ua:       useragent.New(opts.UACacheSize),
		ready:    opts.Ready,
		metrics:  opts.Metrics,
		log:      opts.Logger.With("component", "collector"),
		now:      opts.Now,
		requests: map[int]*metrics.Counter{},
		panics:   opts.Metrics.NewCounter("analytics_collector_panics_total"),
	}
	for _, site := range opts.Sites {
		d := NormalizeHost(site.Domain)
		if d == "" {
			return nil, errors.New("collector: a site has an empty domain")
		}
		if _, dup := s.sites[d]; dup {
			return nil, fmt.Errorf("collector: site %q is configured twice", d)
		}
		st := s.newSiteState(d)
		hosts := site.Hosts
		if len(hosts) == 0 {
			hosts = []string{d}
		}
		for _, h := range hosts {
			st.hosts[NormalizeHost(h)] = true
		}
		s.sites[d] = st
	}
	s.unknown = s.newSiteState(unknownSiteLabel)
	for _, code := range []int{202, 204, 400, 404, 405, 413, 500, 503} {
		s.requests[code] = s.metrics.NewCounter(fmt.Sprintf(`analytics_collector_requests_total{code="%d"}`, code))
	}
	s.decoders.New = func() any { return new(decodeState) }
	s.srv = &fasthttp.Server{
		Handler:               s.handle,
		ErrorHandler:          s.handleError,
		Name:                  "analytics",
		MaxRequestBodySize:    opts.MaxBodyBytes,
		ReadTimeout:           10 * time.Second,
		WriteTimeout:          10 * time.Second,
		IdleTimeout:           75 * time.Second,
		ReadBufferSize:        8 << 10,
		NoDefaultServerHeader: true,
		NoDefaultContentType:  true,
		CloseOnShutdown:       true,
	}
	return s, nil
}

func (s *Server) newSiteState(domain string) *siteState {
	st := &siteState{
		domain:   domain,
		hosts:    map[string]bool{},
		accepted: s.metrics.NewCounter(fmt.Sprintf(`analytics_events_accepted_total{site=%q}`, domain)),
		dropped:  map[string]*metrics.Counter{},
	}
	for _, r := range reasons {
		st.dropped[r] = s.metrics.NewCounter(fmt.Sprintf(`analytics_events_dropped_total{site=%q,reason=%q}`, domain, r))
	}
	return st
}

// NormalizeHost lowercases h and strips a port and a leading "www.".
func NormalizeHost(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	h = strings.TrimSuffix(h, ".")
	return strings.TrimPrefix(h, "www.")
}

// Serve accepts connections on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error { return s.srv.Serve(ln) }

// Shutdown stops accepting connections and waits for in-flight requests.
func (s *Server) Shutdown() error { return s.srv.Shutdown() }

// Handler returns the request handler, for tests and benchmarks.
func (s *Server) Handler() fasthttp.RequestHandler { return s.handle }

func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	defer func() {
		if r := recover(); r != nil {
			s.panics.Inc()
			s.log.Error("panic in request handler", "panic", fmt.Sprint(r))
			ctx.ResetBody()
			s.reply(ctx, fasthttp.StatusInternalServerError, "internal error")
		}
	}()
	path := ctx.Path()
	switch string(path) {
	case "/api/event":
		s.cors(ctx)
		switch {
		case ctx.IsPost():
			s.handleEvent(ctx)
		case ctx.IsOptions():
			ctx.Response.Header.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
			ctx.Response.Header.Set("Access-Control-Allow-Headers", "Content-Type")
			ctx.Response.Header.Set("Access-Control-Max-Age", "86400")
			s.count(fasthttp.StatusNoContent)
			ctx.SetStatusCode(fasthttp.StatusNoContent)
		default:
			ctx.Response.Header.Set("Allow", "POST, OPTIONS")
			s.reply(ctx, fasthttp.StatusMethodNotAllowed, "method not allowed: use POST")
		}
	case "/healthz":
		s.replyPlain(ctx, fasthttp.StatusOK, "ok")
	case "/readyz":
		s.handleReady(ctx)
	case "/metrics":
		ctx.SetContentType("text/plain; version=0.0.4; charset=utf-8")
		w := ctx.Response.BodyWriter()
		s.metrics.WritePrometheus(w)
		metrics.WriteProcessMetrics(w)
	default:
		s.reply(ctx, fasthttp.StatusNotFound, "not found")
	}
}

func (s *Server) cors(ctx *fasthttp.RequestCtx) {
	ctx.Response.Header.Set("Access-Control-Allow-Origin", "*")
}

func (s *Server) count(code int) {
	if c := s.requests[code]; c != nil {
		c.Inc()
	}
}

func (s *Server) reply(ctx *fasthttp.RequestCtx, code int, msg string) {
	s.count(code)
	s.replyPlain(ctx, code, msg)
}

func (s *Server) replyPlain(ctx *fasthttp.RequestCtx, code int, msg string) {
	ctx.SetStatusCode(code)
	ctx.SetContentType("text/plain; charset=utf-8")
	ctx.SetBodyString(msg)
}

func (s *Server) handleReady(ctx *fasthttp.RequestCtx) {
	if s.ready == nil {
		s.replyPlain(ctx, fasthttp.StatusOK, "ok")
		return
	}
	reason, degraded, down := s.ready()
	switch {
	case down:
		s.replyPlain(ctx, fasthttp.StatusServiceUnavailable, reason)
	case degraded:
		s.replyPlain(ctx, fasthttp.StatusOK, "degraded: "+reason)
	default:
		s.replyPlain(ctx, fasthttp.StatusOK, "ok")
	}
}

// handleError answers errors fasthttp detects before the handler runs.
func (s *Server) handleError(ctx *fasthttp.RequestCtx, err error) {
	if errors.Is(err, fasthttp.ErrBodyTooLarge) {
		s.unknown.dropped[ReasonTooLarge].Inc()
		s.cors(ctx)
		s.reply(ctx, fasthttp.StatusRequestEntityTooLarge,
			"request body too large: at most "+strconv.Itoa(s.srv.MaxRequestBodySize)+" bytes")
		return
	}
	s.reply(ctx, fasthttp.StatusBadRequest, "bad request")
}

var (
	headerXFF       = []byte("X-Forwarded-For")
	headerForwarded = []byte("Forwarded")
	headerXRealIP   = []byte("X-Real-IP")
	headerDropped   = "X-Plausible-Dropped"
)

func (s *Server) handleEvent(ctx *fasthttp.RequestCtx) {
	st := s.decoders.Get().(*decodeState)
	defer s.decoders.Put(st)
	b := &st.b
	b.Reset()
	if err := st.dec.Decode(ctx.PostBody(), b); err != nil {
		s.unknown.dropped[ReasonMalformed].Inc()
		s.count(fasthttp.StatusBadRequest)
		ctx.SetStatusCode(fasthttp.StatusBadRequest)
		ctx.SetContentType("application/json")
		var be *beacon.Error
		if errors.As(err, &be) {
			ctx.SetBody(be.JSON())
		} else {
			ctx.SetBodyString(`{"errors":{"request":["invalid request"]}}`)
		}
		return
	}

	// Classify the User-Agent first: a bot is dropped before anything else is
	// derived from the request.
	uaRaw := ctx.Request.Header.UserAgent()
	ua := s.ua.Parse(uaRaw)
	dropped := 0
	var ip netip.Addr
	var country string
	resolved := false
	for _, domain := range b.Domains {
		site := s.sites[domain]
		if site == nil {
			s.unknown.dropped[ReasonUnknownSite].Inc()
			dropped++
			continue
		}
		if !site.hosts[b.Host] {
			site.dropped[ReasonHostNotAllowed].Inc()
			dropped++
			continue
		}
		if ua.Bot {
			site.dropped[ReasonBot].Inc()
			dropped++
			continue
		}
		if !resolved {
			ip = s.clientIP(ctx)
			country = s.geo.Country(ip)
			resolved = true
		}
		ev := &st.ev
		s.fill(ev, b, &ua, country)
		ev.Site = site.domain
		ev.Visitor = s.salts.Key(site.domain, ip, uaRaw)
		s.sink.Add(ev)
		site.accepted.Inc()
	}
	s.count(fasthttp.StatusAccepted)
	if dropped > 0 {
		ctx.Response.Header.Set(headerDropped, strconv.Itoa(dropped))
	}
	ctx.SetStatusCode(fasthttp.StatusAccepted)
	ctx.SetContentType("text/plain; charset=utf-8")
	ctx.SetBodyString("ok")
}

func (s *Server) clientIP(ctx *fasthttp.RequestCtx) netip.Addr {
	var peer netip.Addr
	if a, ok := ctx.RemoteAddr().(*net.TCPAddr); ok {
		peer, _ = netip.AddrFromSlice(a.IP)
	}
	h := &ctx.Request.Header
	return s.ips.ClientIP(peer.Unmap(), h.PeekBytes(headerXFF), h.PeekBytes(headerForwarded), h.PeekBytes(headerXRealIP))
}

// fill copies the coarsened beacon fields into ev. Strings in b are owned by
// b (not views into the request), so they may outlive the handler.
func (s *Server) fill(ev *aggregator.Event, b *beacon.Beacon, ua *useragent.Info, country string) {
	*ev = aggregator.Event{
		Time:           s.now(),
		Name:           b.Name,
		Path:           b.Path,
		UTMMedium:      b.UTMMedium,
		UTMCampaign:    b.UTMCampaign,
		UTMContent:     b.UTMContent,
		UTMTerm:        b.UTMTerm,
		Country:        country,
		Browser:        ua.Browser,
		BrowserVersion: ua.BrowserVersion,
		OS:             ua.OS,
		OSVersion:      ua.OSVersion,
		Device:         ua.Device,
		Interactive:    b.Interactive,
		ScrollDepth:    b.ScrollDepth,
		EngagedMS:      b.EngagedMS,
	}
	switch b.Name {
	case "pageview":
		ev.Kind = aggregator.Pageview
	case "engagement":
		ev.Kind = aggregator.Engagement
	default:
		ev.Kind = aggregator.Custom
	}
	switch {
	case b.UTMSource != "":
		ev.Source = b.UTMSource
	case b.ReferrerHost != b.Host:
		ev.Source = b.ReferrerHost
	}
	if len(b.Props) > 0 {
		ev.Props = make([]aggregator.Prop, len(b.Props))
		for i, p := range b.Props {
			ev.Props[i] = aggregator.Prop{Key: p.Key, Value: p.Value}
		}
	}
}
