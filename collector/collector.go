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
	"math/rand/v2"
	"net"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fasthttp"

	"analytics/aggregator"
	"analytics/collector/beacon"
	"analytics/collector/clientip"
	"analytics/collector/geo"
	"analytics/collector/memo"
	"analytics/collector/pathtmpl"
	"analytics/collector/ratelimit"
	"analytics/collector/snippet"
	"analytics/collector/spam"
	"analytics/collector/tech"
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
	// IgnoreDNT and IgnoreGPC switch off honouring the "DNT: 1" and
	// "Sec-GPC: 1" request headers. By default a request carrying either is
	// answered 202 and dropped (reason "consent"): nothing about it is
	// aggregated, not even a count per page.
	IgnoreDNT, IgnoreGPC bool
	// SpamReferrers are referrer hosts (and their subdomains) dropped as
	// referrer spam, in addition to the built-in list.
	SpamReferrers []string
	// Paths configures the templating of identifying path segments.
	Paths pathtmpl.Config
}

// Sink receives accepted events and counts dropped ones.
// *aggregator.Aggregator implements it. Add reports whether the event
// counted: an engagement event with no visit in progress does not
// (Plausible drops those too). Drop counts one dropped event of site (a
// configured domain, or "(unknown)") for reason.
type Sink interface {
	Add(e *aggregator.Event) bool
	Drop(site, reason string, at time.Time)
}

// Counter is a Sink that can be handed events without their location and
// asks for it only when it needs it (aggregator.Event.Unlocated): only the
// event that starts a visit gives the visit its country, so the GeoIP
// lookup is skipped for the others. *aggregator.Aggregator implements it.
type Counter interface {
	Sink
	Count(e *aggregator.Event) aggregator.Outcome
}

// A Prefetcher is a Sink that can start loading what it will need to count
// an event of a visitor (aggregator.Aggregator: the visit), called once the
// visitor key is known and before the event is filled in. It must not
// change what is counted.
type Prefetcher interface {
	Prefetch(site string, visitor uint64)
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
	// ReadTimeout bounds the time a client may take to send a whole
	// request, which ends slow-loris style clients (default 10s).
	ReadTimeout time.Duration
	// IdleTimeout closes idle keep-alive connections (default 75s).
	IdleTimeout time.Duration
	// MaxConnsPerIP bounds concurrent connections from one peer address
	// (0: unlimited, which is right behind a reverse proxy).
	MaxConnsPerIP int
	// RateLimit is the events per minute one client address (IPv6: /64)
	// may send on average, with bursts of as many; more are answered 202
	// and dropped as rate_limited. 0 turns the limit off.
	RateLimit int
	// Ready reports readiness for /readyz: ok, or a reason and whether events
	// can still be accepted. nil means always ready.
	Ready func() (reason string, degraded, down bool)
	// PrivacyJSON is served as GET /privacy.json: what this installation
	// collects, stores and for how long, built from the configuration at
	// start. nil answers 404.
	PrivacyJSON []byte
	// Metrics receives the collector's metrics; /metrics writes this set
	// and the process metrics. Default: a private set.
	Metrics *metrics.Set
	Logger  *slog.Logger
	// Now is the clock that stamps events (default: the time fasthttp
	// stamps on the request).
	Now func() time.Time
}

// Drop reasons, as used in analytics_events_dropped_total{reason}.
const (
	ReasonMalformed      = "malformed"
	ReasonTooLarge       = "too_large"
	ReasonUnknownSite    = "unknown_site"
	ReasonHostNotAllowed = "host_not_allowed"
	ReasonBot            = "bot"
	ReasonSpamReferrer   = "spam_referrer"
	ReasonConsent        = "consent"
	ReasonNoVisit        = "engagement_without_visit"
	ReasonRateLimited    = "rate_limited"
)

var reasons = []string{ReasonMalformed, ReasonTooLarge, ReasonUnknownSite, ReasonHostNotAllowed,
	ReasonBot, ReasonSpamReferrer, ReasonConsent, ReasonNoVisit, ReasonRateLimited, aggregator.ReasonFolded}

// invalidFields are the fields a 400 can name (beacon.Error.Field); each has
// its own counter, analytics_events_invalid_total{field}.
var invalidFields = []string{"request", "name", "url", "domain", "referrer", "props", "engagement"}

// unknownSiteLabel is the site label for events whose site is not
// configured: the label set stays bounded whatever domains clients send.
const unknownSiteLabel = "(unknown)"

type siteState struct {
	domain    string
	hosts     map[string]bool
	honorDNT  bool
	honorGPC  bool
	spam      *spam.List
	templater *pathtmpl.Templater
	// memoKey is mixed into the keys of the site's templated paths and
	// property values in Server.memo: each site has its own rules.
	memoKey  uint64
	accepted *metrics.Counter
	dropped  map[string]*metrics.Counter
}

// Server is the collector's HTTP server.
type Server struct {
	sites   map[string]*siteState
	sink    Sink
	counter Counter // the Sink, when it is a Counter and there is a GeoIP database
	// prefetcher is the Sink, when it can start loading a visitor's visit
	// before its event is counted.
	prefetcher Prefetcher

	ips   *clientip.Resolver
	geo   *geo.DB
	salts *visitor.Salts
	ua    *useragent.Parser
	// memo remembers what beacon bodies, page URLs and referrers decoded
	// to and what paths and property values templated to (see package
	// memo).
	memo    *memo.Table
	ready   func() (string, bool, bool)
	privacy []byte
	metrics *metrics.Set
	log     *slog.Logger
	now     func() time.Time
	srv     *fasthttp.Server

	unknown  *siteState            // counters for events of unconfigured sites
	requests [600]*metrics.Counter // by status code
	panics   *metrics.Counter
	invalid  map[string]*metrics.Counter              // by beacon.Error field
	bots     map[string]*metrics.Counter              // by useragent class
	kinds    [aggregator.JSError + 1]*metrics.Counter // accepted events by aggregator.Kind
	// botReasons are the drops-table reasons per bot class ("bot:crawler").
	botReasons map[string]string
	// limiter bounds events per client address; nil without a limit.
	limiter *ratelimit.Limiter

	decoders sync.Pool
}

// decodeState is the per-request scratch space, pooled: the decoder, the
// decoded beacon, the event handed on and the templated path all reuse their
// memory from request to request.
type decodeState struct {
	dec   beacon.Decoder
	b     beacon.Beacon
	ev    aggregator.Event
	props []aggregator.Prop
	path  []byte
	// xff and fwd join forwarded headers sent as several lines.
	xff, fwd []byte
	// propBuf holds rewritten property values; spans says where.
	propBuf []byte
	spans   []span
	// The technical events' readings ($web_vitals, $js_error).
	vitals aggregator.VitalsSample
	jsErr  tech.Error
	report aggregator.ErrorReport
}

type span struct{ prop, start, end int }

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
	if opts.ReadTimeout <= 0 {
		opts.ReadTimeout = 10 * time.Second
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 75 * time.Second
	}
	if opts.Metrics == nil {
		opts.Metrics = metrics.NewSet()
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	ips, err := clientip.NewResolver(opts.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("trusted proxies: %w", err)
	}
	s := &Server{
		sites:   make(map[string]*siteState, len(opts.Sites)),
		sink:    opts.Sink,
		ips:     ips,
		geo:     opts.GeoIP,
		salts:   opts.Salts,
		ua:      useragent.New(opts.UACacheSize),
		memo:    memo.New(memoEntries),
		ready:   opts.Ready,
		privacy: opts.PrivacyJSON,
		metrics: opts.Metrics,
		log:     opts.Logger.With("component", "collector"),
		now:     opts.Now,
		panics:  opts.Metrics.NewCounter("analytics_collector_panics_total"),
		invalid: map[string]*metrics.Counter{},
		bots:    map[string]*metrics.Counter{},
	}
	if c, ok := opts.Sink.(Counter); ok && opts.GeoIP != nil {
		s.counter = c
	}
	s.prefetcher, _ = opts.Sink.(Prefetcher)
	// The User-Agent cache's counts, read when /metrics is scraped.
	s.metrics.NewGauge("analytics_useragent_cache_hits_total", func() float64 { h, _ := s.ua.CacheStats(); return float64(h) })
	s.metrics.NewGauge("analytics_useragent_cache_misses_total", func() float64 { _, m := s.ua.CacheStats(); return float64(m) })
	s.metrics.NewGauge("analytics_geoip_cache_hits_total", func() float64 { h, _ := s.geo.CacheStats(); return float64(h) })
	s.metrics.NewGauge("analytics_geoip_cache_misses_total", func() float64 { _, m := s.geo.CacheStats(); return float64(m) })
	s.metrics.NewGauge("analytics_memo_hits_total", func() float64 { h, _ := s.memo.Stats(); return float64(h) })
	s.metrics.NewGauge("analytics_memo_misses_total", func() float64 { _, m := s.memo.Stats(); return float64(m) })
	for _, f := range invalidFields {
		s.invalid[f] = s.metrics.NewCounter(fmt.Sprintf(`analytics_events_invalid_total{field=%q}`, f))
	}
	if opts.RateLimit > 0 {
		// At most a million addresses (about 80 MB) are tracked.
		s.limiter = ratelimit.New(opts.RateLimit, opts.RateLimit, 1<<20)
		s.metrics.NewGauge("analytics_ratelimit_addresses", func() float64 { n, _ := s.limiter.Stats(); return float64(n) })
	}
	s.botReasons = map[string]string{}
	for _, c := range useragent.Classes {
		s.bots[c] = s.metrics.NewCounter(fmt.Sprintf(`analytics_bots_total{class=%q}`, c))
		s.botReasons[c] = ReasonBot + ":" + c
	}
	for k, name := range map[aggregator.Kind]string{aggregator.Pageview: "pageview", aggregator.Custom: "custom", aggregator.Engagement: "engagement",
		aggregator.Vitals: "web_vitals", aggregator.JSError: "js_error"} {
		s.kinds[k] = s.metrics.NewCounter(fmt.Sprintf(`analytics_events_accepted_by_kind_total{kind=%q}`, name))
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
		st.honorDNT, st.honorGPC = !site.IgnoreDNT, !site.IgnoreGPC
		st.spam = spam.New(site.SpamReferrers)
		tmpl, err := pathtmpl.New(site.Paths)
		if err != nil {
			return nil, fmt.Errorf("site %s: paths: %w", d, err)
		}
		st.templater = tmpl
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
	// Error sources are read before the site is known: the built-in
	// patterns template them (a site's own rules apply to its pages).
	if s.unknown.templater, err = pathtmpl.New(pathtmpl.Config{}); err != nil {
		return nil, fmt.Errorf("collector: path templates: %w", err)
	}
	for _, code := range []int{200, 202, 204, 400, 404, 405, 413, 500} {
		s.requests[code] = s.metrics.NewCounter(fmt.Sprintf(`analytics_collector_requests_total{code="%d"}`, code))
	}
	s.decoders.New = func() any { return &decodeState{dec: beacon.Decoder{Memo: s.memo}} }
	s.srv = &fasthttp.Server{
		Handler:               s.handle,
		ErrorHandler:          s.handleError,
		Name:                  "analytics",
		MaxRequestBodySize:    opts.MaxBodyBytes,
		ReadTimeout:           opts.ReadTimeout,
		WriteTimeout:          10 * time.Second,
		IdleTimeout:           opts.IdleTimeout,
		MaxConnsPerIP:         opts.MaxConnsPerIP,
		ReadBufferSize:        8 << 10,
		NoDefaultServerHeader: true,
		NoDefaultContentType:  true,
		CloseOnShutdown:       true,
		Logger:                connLogger{s.metrics.NewCounter("analytics_collector_connection_errors_total")},
	}
	return s, nil
}

func (s *Server) newSiteState(domain string) *siteState {
	st := &siteState{
		domain:   domain,
		hosts:    map[string]bool{},
		memoKey:  rand.Uint64(),
		accepted: s.metrics.NewCounter(fmt.Sprintf(`analytics_events_accepted_total{site=%q}`, domain)),
		dropped:  map[string]*metrics.Counter{},
	}
	for _, r := range reasons {
		// GetOrCreate: the aggregator counts reason "folded" in the same set.
		st.dropped[r] = s.metrics.GetOrCreateCounter(fmt.Sprintf(`analytics_events_dropped_total{site=%q,reason=%q}`, domain, r))
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
			// The panic's value may quote request data: log its type and
			// where it happened, never its text.
			s.log.Error("panic in request handler", "type", fmt.Sprintf("%T", r), "at", panicSite())
			ctx.ResetBody()
			s.reply(ctx, fasthttp.StatusInternalServerError, "internal error")
		}
	}()
	// The beacon's usual request line needs no URI parsing.
	path := ctx.Request.Header.RequestURI()
	if string(path) != "/api/event" {
		path = ctx.Path()
	}
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
	case "/js/script.js":
		// The embedded tracking snippet, compressed once per process.
		snippet.Default().Serve(ctx)
	case "/healthz":
		s.replyPlain(ctx, fasthttp.StatusOK, "ok")
	case "/readyz":
		s.handleReady(ctx)
	case "/privacy.json":
		if s.privacy == nil {
			s.reply(ctx, fasthttp.StatusNotFound, "not found")
			return
		}
		s.cors(ctx)
		s.count(fasthttp.StatusOK)
		ctx.SetContentType("application/json")
		ctx.SetBody(s.privacy)
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
	ctx.Response.Header.SetCanonical(headerACAO, valueStar)
}

func (s *Server) count(code int) {
	if c := s.requests[code%len(s.requests)]; c != nil {
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
		s.drop(s.unknown, ReasonTooLarge, s.clock(ctx))
		s.cors(ctx)
		s.reply(ctx, fasthttp.StatusRequestEntityTooLarge,
			"request body too large: at most "+strconv.Itoa(s.srv.MaxRequestBodySize)+" bytes")
		return
	}
	s.reply(ctx, fasthttp.StatusBadRequest, "bad request")
}

var (
	// Canonical header names (as fasthttp normalizes the names it reads),
	// for PeekCanonical, which spares normalizing them on every request.
	headerXRealIP = []byte("X-Real-Ip")
	headerDropped = "X-Plausible-Dropped"
)

var (
	headerACAO = []byte("Access-Control-Allow-Origin")
	valueStar  = []byte("*")
	textPlain  = []byte("text/plain; charset=utf-8")
	bodyOK     = []byte("ok")
	headerDNT  = []byte("Dnt")
	headerGPC  = []byte("Sec-Gpc")
)

func (s *Server) handleEvent(ctx *fasthttp.RequestCtx) {
	st := s.decoders.Get().(*decodeState)
	defer s.decoders.Put(st)
	b := &st.b // Decode resets it
	err := st.dec.Decode(ctx.PostBody(), b)
	if err == nil && tech.Reserved(b.Name) {
		err = s.readTech(st, b)
	}
	if err != nil {
		s.drop(s.unknown, ReasonMalformed, s.clock(ctx))
		s.count(fasthttp.StatusBadRequest)
		ctx.SetStatusCode(fasthttp.StatusBadRequest)
		ctx.SetContentType("application/json")
		var be *beacon.Error
		if errors.As(err, &be) {
			if c := s.invalid[be.Field]; c != nil {
				c.Inc()
			}
			ctx.SetBody(be.AppendJSON(ctx.Response.Body()[:0]))
		} else {
			s.invalid["request"].Inc()
			ctx.SetBodyString(`{"errors":{"request":["invalid request"]}}`)
		}
		return
	}

	// The User-Agent is classified before anything else is derived from the
	// request: a bot is dropped before its IP address is even looked at.
	uaRaw := ctx.Request.Header.UserAgent()
	ua := s.ua.Parse(uaRaw)
	h := &ctx.Request.Header
	dnt := isOne(h.PeekCanonical(headerDNT))
	gpc := isOne(h.PeekCanonical(headerGPC))
	dropped := 0
	var ip netip.Addr
	var country, region string
	now := s.clock(ctx)
	resolved, located, limited := false, false, false
	for _, domain := range b.Domains {
		site := s.sites[domain]
		reason := ""
		switch {
		case site == nil:
			reason = ReasonUnknownSite
			site = s.unknown
		case !site.hosts[b.Host]:
			reason = ReasonHostNotAllowed
		case ua.Bot:
			reason = ReasonBot
			if c := s.bots[ua.BotClass]; c != nil {
				c.Inc()
			}
			// The store keeps the class ("bot:crawler"), the metric the
			// reason; the class has its own metric above.
			if r := s.botReasons[ua.BotClass]; r != "" {
				s.sink.Drop(site.domain, r, now)
				site.dropped[ReasonBot].Inc()
				dropped++
				continue
			}
		case (dnt && site.honorDNT) || (gpc && site.honorGPC):
			reason = ReasonConsent
		case b.ReferrerHost != "" && site.spam.Spam(b.ReferrerHost):
			reason = ReasonSpamReferrer
		}
		if reason != "" {
			s.drop(site, reason, now)
			dropped++
			continue
		}
		if !resolved {
			ip = s.clientIP(ctx, st)
			limited = s.limiter != nil && !s.limiter.Allow(ip, now)
			resolved = true
		}
		if limited {
			s.drop(site, ReasonRateLimited, now)
			dropped++
			continue
		}
		visitor := s.salts.KeyAt(now, site.domain, ip, uaRaw)
		if s.prefetcher != nil {
			// The visit loads while the event is filled in.
			s.prefetcher.Prefetch(site.domain, visitor)
		}
		ev := &st.ev
		s.fill(st, b, &ua, country, region, site, now)
		ev.Visitor = visitor
		if !s.handOn(ev, ip, &located, &country, &region) {
			s.drop(site, ReasonNoVisit, now)
			dropped++
			continue
		}
		site.accepted.Inc()
		s.kinds[ev.Kind].Inc()
	}
	s.count(fasthttp.StatusAccepted)
	if dropped > 0 {
		ctx.Response.Header.Set(headerDropped, strconv.Itoa(dropped))
	}
	ctx.SetStatusCode(fasthttp.StatusAccepted)
	ctx.SetContentTypeBytes(textPlain)
	ctx.SetBody(bodyOK)
}

// readTech reads the properties of a technical event (a reserved "$" name)
// into st: the web vitals, or the normalised JavaScript error whose source
// path is templated like page paths.
func (s *Server) readTech(st *decodeState, b *beacon.Beacon) error {
	switch b.Name {
	case tech.NameVitals:
		return tech.Vitals(b.Props, &st.vitals)
	case tech.NameError:
		return st.jsErr.Report(b.Props, s.unknown.templater.Apply, &st.report)
	}
	return tech.ErrUnknownName
}

// coarsenValue appends v coarsened: an http(s) URL by coarsenURL, anything
// else through the path templater (a value without "/" is one segment).
// memoEntries is the size of the collector's memo: enough for the pages,
// referrers and property values most traffic repeats. Its 8 MiB are
// allocated at once, in huge pages (see package hugepage).
const memoEntries = 32768

// Kinds of values the collector itself keeps in Server.memo (beside the
// decoder's), mixed into their keys.
const (
	memoPath      = 0x3b6e_a5d1_9c04_f728
	memoPropValue = 0x81f2_4c6b_0e9d_357a
)

// templated appends derive(dst, raw, the site's templater), remembered in
// s.memo: the same raw value of the same kind on the same site appends the
// same bytes without templating again.
func (s *Server) templated(dst []byte, site *siteState, kind uint64, raw string, derive func([]byte, string, *pathtmpl.Templater) []byte) []byte {
	key := s.memo.KeyString(raw) ^ site.memoKey ^ kind
	out, ok := s.memo.Get(dst, key)
	if ok {
		return out
	}
	start := len(dst)
	dst = derive(dst, raw, site.templater)
	s.memo.Put(key, dst[start:])
	return dst
}

func applyTemplate(dst []byte, path string, t *pathtmpl.Templater) []byte { return t.Apply(dst, path) }

func coarsenValue(dst []byte, v string, t *pathtmpl.Templater) []byte {
	if len(v) >= 7 && (strings.EqualFold(v[:7], "http://") || len(v) >= 8 && strings.EqualFold(v[:8], "https://")) {
		return coarsenURL(dst, v, t)
	}
	return t.Apply(dst, v)
}

// coarsenURL appends u reduced to scheme, host (and port) and templated
// path: the query string, fragment and user info, which can carry tokens
// and e-mail addresses, are dropped. A value that is not an absolute http(s)
// URL is templated as a path.
func coarsenURL(dst []byte, u string, t *pathtmpl.Templater) []byte {
	rest, scheme := u, ""
	for _, sch := range [...]string{"https://", "http://"} {
		if len(u) >= len(sch) && strings.EqualFold(u[:len(sch)], sch) {
			scheme, rest = sch, u[len(sch):]
			break
		}
	}
	if scheme == "" {
		if i := strings.IndexAny(rest, "?#"); i >= 0 {
			rest = rest[:i]
		}
		return t.Apply(dst, rest)
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	host := rest[:end]
	if i := strings.LastIndexByte(host, '@'); i >= 0 {
		host = host[i+1:]
	}
	path := rest[end:]
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	dst = append(dst, scheme...)
	for i := 0; i < len(host); i++ {
		c := host[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	if path == "" {
		return append(dst, '/')
	}
	return t.Apply(dst, path)
}

// panicSite names the function and line a recovered panic came from.
func panicSite() string {
	pcs := make([]uintptr, 16)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(3, pcs)])
	for {
		f, more := frames.Next()
		if !strings.HasPrefix(f.Function, "runtime.") {
			return fmt.Sprintf("%s:%d", f.Function, f.Line)
		}
		if !more {
			return "unknown"
		}
	}
}

// connLogger takes fasthttp's connection-level error messages. They can
// quote raw request bytes (headers with IP addresses, User-Agents, URLs), so
// they are counted, never written anywhere.
type connLogger struct{ errors *metrics.Counter }

func (l connLogger) Printf(string, ...any) { l.errors.Inc() }

// drop counts a dropped event in the metrics and, per minute, in the store.
func (s *Server) drop(site *siteState, reason string, now time.Time) {
	site.dropped[reason].Inc()
	s.sink.Drop(site.domain, reason, now)
}

// isOne reports whether a consent header says "1".
func isOne(v []byte) bool { return len(v) == 1 && v[0] == '1' }

// clock returns the time that stamps the request's events: fasthttp's
// timestamp of the request (no extra clock read), unless a test injected a
// clock.
func (s *Server) clock(ctx *fasthttp.RequestCtx) time.Time {
	if s.now != nil {
		return s.now()
	}
	return ctx.Time()
}

// handOn hands ev to the sink and reports whether it counted. The location of ip is
// looked up (once per request: *located, *country and *region keep it) only
// when the sink needs it: always for a plain Sink, only for an event that
// starts a visit for a Counter.
func (s *Server) handOn(ev *aggregator.Event, ip netip.Addr, located *bool, country, region *string) bool {
	if !*located && s.counter != nil {
		ev.Unlocated = true
		switch s.counter.Count(ev) {
		case aggregator.Counted:
			return true
		case aggregator.NoVisit:
			return false
		}
		ev.Unlocated = false
	}
	if !*located {
		*country, *region = s.geo.Location(ip)
		*located = true
	}
	ev.Country, ev.Region = *country, *region
	if s.counter != nil {
		return s.counter.Count(ev) == aggregator.Counted
	}
	return s.sink.Add(ev)
}

func (s *Server) clientIP(ctx *fasthttp.RequestCtx, st *decodeState) netip.Addr {
	var peer netip.Addr
	if a, ok := ctx.RemoteAddr().(*net.TCPAddr); ok {
		peer, _ = netip.AddrFromSlice(a.IP)
	}
	peer = peer.Unmap()
	if !s.ips.Trusted(peer) {
		return peer // forwarded headers are not read from untrusted peers
	}
	// A header sent as several lines means the same as its values joined
	// with commas (RFC 9110): a proxy that appends its own line must not let
	// a client-sent first line stand for the whole chain.
	h := &ctx.Request.Header
	st.xff = joinLines(st.xff[:0], h.PeekAll(fasthttp.HeaderXForwardedFor))
	if a, ok := s.ips.FromXForwardedFor(st.xff); ok {
		return a // the usual case: Forwarded and X-Real-IP are not read
	}
	st.fwd = joinLines(st.fwd[:0], h.PeekAll("Forwarded"))
	return s.ips.ClientIP(peer, nil, st.fwd, h.PeekCanonical(headerXRealIP))
}

func joinLines(dst []byte, lines [][]byte) []byte {
	for i, l := range lines {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, l...)
	}
	return dst
}

// fill sets st.ev from the decoded beacon for site. The strings stay views
// into st's buffers (valid during Sink.Add, as aggregator.Event allows); the
// path is templated into st.path first, so no identifying segment reaches
// the aggregator.
func (s *Server) fill(st *decodeState, b *beacon.Beacon, ua *useragent.Info, country, region string, site *siteState, now time.Time) {
	st.path = s.templated(st.path[:0], site, memoPath, b.Path, applyTemplate)
	st.props, st.propBuf, st.spans = st.props[:0], st.propBuf[:0], st.spans[:0]
	for i, p := range b.Props {
		st.props = append(st.props, aggregator.Prop{Key: p.Key, Value: p.Value})
		// Property values are attacker- and developer-controlled free text:
		// they get the same coarsening as page URLs (the tracker sends the
		// path of 404s and the target of outbound links and downloads as
		// properties), so an e-mail address, a token or a long id in any
		// value is templated before it is counted.
		start := len(st.propBuf)
		st.propBuf = s.templated(st.propBuf, site, memoPropValue, p.Value, coarsenValue)
		st.spans = append(st.spans, span{i, start, len(st.propBuf)})
	}
	for _, sp := range st.spans { // st.propBuf no longer moves
		b := st.propBuf[sp.start:sp.end]
		st.props[sp.prop].Value = unsafe.String(unsafe.SliceData(b), len(b))
	}
	ev := &st.ev
	*ev = aggregator.Event{
		Time:           now,
		Site:           site.domain,
		Name:           b.Name,
		Path:           unsafe.String(unsafe.SliceData(st.path), len(st.path)),
		UTMSource:      b.UTMSource,
		UTMMedium:      b.UTMMedium,
		UTMCampaign:    b.UTMCampaign,
		UTMContent:     b.UTMContent,
		UTMTerm:        b.UTMTerm,
		ClickID:        b.ClickID,
		Country:        country,
		Region:         region,
		Browser:        ua.Browser,
		BrowserVersion: ua.BrowserVersion,
		OS:             ua.OS,
		OSVersion:      ua.OSVersion,
		Device:         ua.Device,
		Interactive:    b.Interactive,
		ScrollDepth:    b.ScrollDepth,
		EngagedMS:      b.EngagedMS,
		Props:          st.props,
	}
	switch b.Name {
	case beacon.NamePageview:
		ev.Kind = aggregator.Pageview
	case beacon.NameEngagement:
		ev.Kind = aggregator.Engagement
	case tech.NameVitals:
		ev.Kind, ev.Vitals = aggregator.Vitals, st.vitals
	case tech.NameError:
		ev.Kind, ev.Error = aggregator.JSError, st.report
	default:
		ev.Kind = aggregator.Custom
	}
	if b.ReferrerHost != b.Host {
		ev.Referrer = b.ReferrerHost
	}
	ev.Source = ev.Referrer
	if b.UTMSource != "" {
		ev.Source = b.UTMSource
	}
}
