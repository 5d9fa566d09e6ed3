/* analytics snippet, docs/snippet.md. Plausible Events API; no cookies, no storage writes.
 * <script defer data-domain="example.com" src="https://COLLECTOR/js/script.js"></script>
 * data-domain="a.com,b.com" | data-api="endpoint URL" (default: our origin + /api/event)
 * data-hash: hash routing | data-file-types="pdf,zip" (replaces the download list)
 * data-vitals-sample="0.25" (share of loads sending web vitals) | data-errors="false" (no JS errors)
 * plausible(name, {props, revenue: {amount, currency}, interactive, callback, url})
 * Opt out: localStorage.plausible_ignore = "true" */
(function (w, d, u) {
  var s = d.currentScript || d.querySelector('script[data-domain]'), loc = w.location, P = w.plausible;
  if (!s || (P && P.l)) return; // no tag, or loaded twice
  var attr = function (n) { return s.getAttribute(n); };
  var on = function (t, type, f, o) { t.addEventListener(type, f, o); };
  var domain = attr('data-domain'), hashMode = s.hasAttribute('data-hash');
  var api = attr('data-api') || new URL(s.src, loc.href).origin + '/api/event';
  var types = (attr('data-file-types') || 'pdf,xlsx,docx,txt,rtf,csv,exe,key,pps,ppt,pptx,7z,pkg,rar,gz,zip,' +
    'avi,mov,mp4,mpeg,wmv,midi,mp3,wav,wma,dmg,iso,msi').toLowerCase().split(/[\s,.]+/);
  var queue = (P && P.q) || []; // calls made before start; null after

  function send(body, cb) {
    var done = function (r) { if (cb) cb(r); };
    body = JSON.stringify(body);
    if (w.fetch) {
      fetch(api, { method: 'POST', keepalive: true, headers: { 'Content-Type': 'text/plain' }, body: body })
        .then(function (r) { done({ status: r.status }); }, function (e) { done({ error: e }); });
    } else {
      var x = new XMLHttpRequest();
      x.open('POST', api);
      x.setRequestHeader('Content-Type', 'text/plain');
      x.onloadend = function () { done({ status: x.status }); };
      x.send(body);
    }
  }

  // Page view state: its u and p; max scroll % seen and sent; engaged ms
  // banked, and since when it is visible and focused (0: it is not); errors
  // sent and their keys.
  var page, depth, sent, banked, since, errors = 0, seen = {};

  function measure() {
    var b = d.body || {}, e = d.documentElement || {};
    var h = Math.max(b.scrollHeight || 0, b.offsetHeight || 0, e.scrollHeight || 0, e.clientHeight || 0);
    depth = Math.max(depth, h ? Math.min(100, Math.round((w.scrollY + w.innerHeight) / h * 100)) : 100);
  }

  function clock() {
    var t = Date.now(), visible = d.visibilityState == 'visible' && d.hasFocus();
    if (visible && !since) since = t;
    if (!visible && since) { banked += t - since; since = 0; }
  }

  // Sent when scroll went deeper or 3 s more were engaged.
  function engagement() {
    var t = Date.now(), ms = banked + (since && t - since);
    if (!page || (depth <= sent && ms < 3000)) return;
    var ev = { n: 'engagement', sd: depth, e: ms, d: domain, u: page.u };
    if (page.p) ev.p = page.p;
    if (hashMode) ev.h = 1;
    sent = depth; banked = 0; since = since && t;
    send(ev);
  }

  function track(name, o) {
    o = o || {};
    var ignore = loc.protocol == 'file:';
    try { ignore = ignore || w.localStorage.getItem('plausible_ignore') == 'true'; } catch (e) {}
    if (ignore) return o.callback && o.callback();
    var ev = { n: name, u: o.url || o.u || loc.href, d: domain, r: d.referrer || null };
    if (o.props) ev.p = o.props;
    if (o.revenue) ev.$ = o.revenue;
    if (o.interactive === false) ev.i = false;
    if (hashMode) ev.h = 1;
    if (name == 'pageview') {
      engagement(); // the previous page's
      page = { u: ev.u, p: ev.p }; depth = 0; sent = -1; banked = 0; since = 0; errors = 0; seen = {};
      measure(); clock();
    }
    send(ev, o.callback);
  }

  // One page view per distinct path (+ fragment in hash mode): replaceState
  // and pushState to the same path do not count.
  var last;
  function pageview(again) {
    var key = loc.pathname + (hashMode ? loc.hash : '');
    if (queue || (key == last && again !== 1)) return;
    last = key;
    track('pageview');
  }
  var push = history.pushState;
  history.pushState = function () { var r = push.apply(this, arguments); pageview(); return r; };
  on(w, 'popstate', pageview);
  if (hashMode) on(w, 'hashchange', pageview);
  on(w, 'pageshow', function (e) { if (e.persisted) pageview(1); }); // back from bfcache

  function leave() { clock(); measure(); engagement(); }
  on(d, 'visibilitychange', function () { d.visibilityState == 'hidden' ? leave() : clock(); });
  on(w, 'pagehide', leave);
  on(w, 'focus', clock);
  on(w, 'blur', clock);
  on(d, 'scroll', function () { if (page) measure(); }, { passive: true });

  // Outbound links and downloads: keepalive carries the beacon past the
  // navigation, which is never held up.
  function click(e) {
    var a = e.target.closest && e.target.closest('a[href]');
    if (!a || (e.type == 'auxclick' && e.button != 1) || !/^https?:$/.test(a.protocol)) return;
    var ext = /\.([^./]+)$/.exec(a.pathname);
    if (ext && types.indexOf(ext[1].toLowerCase()) >= 0) {
      track('File Download', { props: { url: a.protocol + '//' + a.host + a.pathname } });
    } else if (a.host != loc.host) {
      track('Outbound Link: Click', { props: { url: a.href } });
    }
  }
  on(d, 'click', click);
  on(d, 'auxclick', click);

  // JS errors (uncaught, unhandled rejections): 3 per page view at most, each
  // (message, source, line) once, never the snippet's own; source: path only;
  // a rejected Error's String() is 'name: message'. A window listener that
  // does not capture never sees resource load errors.
  function jsError(e) {
    try {
      var r = e.reason, rej = e.type != 'error', m = rej ? r : e.message,
        f = rej ? /(\w+:\/\/[^\s)]+?):(\d+):(\d+)/.exec(r && r.stack) || [] : [, e.filename, e.lineno, e.colno],
        p = { message: String(m).replace(/^Uncaught /, '').slice(0, 500), kind: rej ? 'rejection' : 'error',
          source: (/^(?:[\w+.-]+:)*(?:\/\/[^\/]*)?(\/[^?#]*)/.exec(f[1]) || [])[1] || '', line: +f[2] || u, column: +f[3] || u },
        key = [p.message, p.source, p.line].join('\n');
      if (f[1] != s.src && errors < 3 && !seen[key]) {
        seen[key] = ++errors;
        track('$js_error', { props: p });
      }
    } catch (x) {}
  }
  if (attr('data-errors') != 'false') {
    on(w, 'error', jsError);
    on(w, 'unhandledrejection', jsError);
  }

  // Web vitals of the document's load, as web-vitals defines them; sent once,
  // when first hidden or left.
  var PO = w.PerformanceObserver, rate = attr('data-vitals-sample');
  if (PO && Math.random() < (rate == null ? 1 : +rate)) (function () {
    var perf = w.performance, nav = perf.getEntriesByType('navigation')[0] || {}, act = nav.activationStart || 0,
      url = loc.href, hidden = d.visibilityState == 'hidden' && !d.prerendering ? 0 : 1 / 0, v = {}, obs = [],
      shifts = (PO.supportedEntryTypes || []).indexOf('layout-shift') >= 0, cls = 0, win = 0, first, prev, durs = {};
    function at(e) { return Math.max(e.startTime - act, 0); }
    function see(type, f) {
      try {
        var o = new PO(function (l) { l.getEntries().forEach(f); });
        o.observe({ type: type, buffered: true, durationThreshold: 40 });
        obs.push(function () { o.takeRecords().forEach(f); o.disconnect(); });
      } catch (x) {}
    }
    // Not paints after the page was hidden; LCP entries end at the first input.
    see('paint', function (e) { if (e.name == 'first-contentful-paint' && e.startTime < hidden) v.fcp = at(e); });
    see('largest-contentful-paint', function (e) { if (e.startTime < hidden) v.lcp = at(e); });
    // CLS: the largest session window (shifts < 1 s apart, <= 5 s long).
    see('layout-shift', function (e) {
      if (e.hadRecentInput) return;
      win = win && e.startTime - prev < 1000 && e.startTime - first < 5000 ? win + e.value : (first = e.startTime, e.value);
      prev = e.startTime;
      cls = Math.max(cls, win);
    });
    // INP: the longest duration of each interaction...
    function interaction(e) { var i = e.interactionId; if (i) durs[i] = Math.max(durs[i] || 0, e.duration); }
    see('event', interaction);
    see('first-input', interaction);
    function done(e) {
      if (obs && (e.type == 'pagehide' || d.visibilityState == 'hidden')) {
        hidden = Math.min(hidden, e.timeStamp);
        obs.forEach(function (f) { f(); });
        obs = 0;
        if (nav.responseStart > 0) v.ttfb = Math.max(nav.responseStart - act, 0);
        if (shifts && v.fcp >= 0) v.cls = cls; // as web-vitals: once painted
        // ...the worst, skipping one per 50 interactions (~p98).
        var ds = Object.keys(durs).map(function (i) { return durs[i]; }).sort(function (a, b) { return b - a; });
        if (ds.length) v.inp = ds[Math.min(ds.length - 1, (perf.interactionCount || ds.length) / 50 | 0)];
        if (Object.keys(v).length) track('$web_vitals', { u: url, props: v });
      }
    }
    on(d, 'visibilitychange', done);
    on(w, 'pagehide', done);
  })();

  w.plausible = function (name, o) { queue ? queue.push([name, o]) : track(name, o); };
  w.plausible.l = 1;

  function start() {
    var calls = queue;
    queue = null;
    pageview();
    for (var i = 0; i < calls.length; i++) track(calls[i][0], calls[i][1]);
  }
  if (d.prerendering) on(d, 'prerenderingchange', start, { once: true }); // counts once shown
  else start();
})(window, document);
