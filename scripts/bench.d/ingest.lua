-- Realistic Plausible Events API traffic for wrk (scripts/bench ingest).
--
--   wrk -t1 -c64 -d20s --latency -s scripts/bench.d/ingest.lua http://127.0.0.1:18080/api/event [-- DEPTH]
--
-- DEPTH (default 1) is the number of requests pipelined per request() call,
-- as in wrk's scripts/pipeline.lua.
--
-- Bodies: ~85% pageviews, ~10% custom events with props (some with revenue),
-- ~5% engagement events, over ~200 paths with realistic query strings and a
-- weighted mix of referrers, all for the site bench.example (some on
-- www.bench.example). Every request carries the headers a browser sends with
-- a cross-origin beacon, one of ~20 browser User-Agents (and 3% bots) and an
-- X-Forwarded-For with one of 50,000 public IPv4 addresses; an address
-- always comes with the same User-Agent, so each is one visitor, and a
-- visitor's first event is always a pageview (an engagement event of a
-- visitor the collector has not seen is dropped, as it never happens for
-- real).
--
-- Everything is built once in init(); request() only picks and concatenates
-- precomputed pieces, so that wrk (on its own CPU) stays cheap.
--
-- At the end, done() prints one machine-readable line for scripts/bench:
--   BENCH requests=N duration_us=N p50_us=N p99_us=N non202=N dropped=N errors=N
-- non202 counts responses with a status other than 202; dropped sums the
-- x-plausible-dropped headers (events the collector dropped: bots here).

local NUM_IPS = 50000
local NUM_BODIES = 4096
local NUM_PAGEVIEWS = 1024

local depth = 1
local heads = {}   -- per User-Agent slot: request line and headers up to "X-Forwarded-For: "
local ua_of = {}   -- per weight slot (1..100): index into heads
local ips = {}     -- "a.b.c.d\r\n"
local tails = {}   -- "Content-Type ... Content-Length: N\r\n\r\n" .. body
local pv_tails = {} -- the same, pageviews only: a visitor's first event
local seen = {}    -- per address: has it sent an event yet
local n = 0

-- Counted per thread, summed in done().
responses, non202, dropped = 0, 0, 0

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

-- {weight (of 100), User-Agent, sec-ch-ua (Chromium browsers only)}
local user_agents = {
   {22, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", '"Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"'},
   {13, "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", '"Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"'},
   {13, "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", nil},
   {7, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", '"Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"'},
   {6, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15", nil},
   {6, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", '"Microsoft Edge";v="131", "Chromium";v="131", "Not_A Brand";v="24"'},
   {4, "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0", nil},
   {3, "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36", '"Samsung Internet";v="26.0", "Chromium";v="122", "Not(A:Brand";v="24"'},
   {3, "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1", nil},
   {2, "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", '"Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"'},
   {2, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:132.0) Gecko/20100101 Firefox/132.0", nil},
   {2, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 OPR/115.0.0.0", '"Opera";v="115", "Chromium";v="130", "Not?A_Brand";v="99"'},
   {2, "Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1", nil},
   {2, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15", nil},
   {2, "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", '"Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"'},
   {2, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", '"Microsoft Edge";v="131", "Chromium";v="131", "Not_A Brand";v="24"'},
   {1, "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", nil},
   {1, "Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0", nil},
   {1, "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", '"Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"'},
   {1, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36", '"Google Chrome";v="130", "Chromium";v="130", "Not?A_Brand";v="99"'},
   -- Bots: 3%.
   {1, "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.69 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", nil},
   {1, "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36", nil},
   {1, "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36", nil},
}

-- Public /8 networks (no private, loopback, CGNAT, link-local, multicast or
-- documentation ranges), so that the GeoIP lookup finds real countries.
local first_octets = {
   1, 2, 3, 5, 8, 12, 14, 23, 24, 27, 31, 36, 37, 41, 42, 45, 46, 47, 49, 50,
   51, 58, 59, 60, 61, 62, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78,
   79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95, 96, 97,
   98, 99, 101, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114,
   115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 131, 137, 138, 139,
   141, 145, 146, 147, 148, 149, 151, 152, 154, 156, 157, 159, 161, 163, 164,
   165, 166, 171, 173, 174, 175, 176, 177, 178, 179, 180, 181, 182, 183, 184,
   185, 186, 187, 188, 189, 190, 191, 193, 194, 195, 196, 197, 200, 201, 202,
   206, 207, 208, 209, 210, 211, 212, 213, 216, 217, 218, 219, 220, 221, 222,
}

local function weighted(list)
   local out = {}
   for _, item in ipairs(list) do
      for _ = 1, item[1] do
         table.insert(out, item[2])
      end
   end
   return out
end

local function pick(t)
   return t[math.random(#t)]
end

-- ~200 paths.
local function make_paths()
   local paths = {"/", "/pricing", "/about", "/contact", "/features", "/signup", "/login", "/docs", "/blog", "/changelog", "/search"}
   local adjectives = {"simple", "private", "fast", "honest", "open", "small", "better", "cookieless", "lightweight", "modern"}
   local nouns = {"analytics", "dashboards", "metrics", "funnels", "goals", "campaigns"}
   for _, a in ipairs(adjectives) do
      for _, w in ipairs(nouns) do
         table.insert(paths, "/blog/" .. a .. "-" .. w)   -- 60
      end
   end
   local sections = {"getting-started", "tracker", "stats-api", "self-hosting", "integrations"}
   local pages = {"overview", "install", "configuration", "events", "props", "revenue", "spa", "hash-routing", "proxy", "faq", "limits", "troubleshooting"}
   for _, s in ipairs(sections) do
      for _, p in ipairs(pages) do
         table.insert(paths, "/docs/" .. s .. "/" .. p)   -- 60
      end
   end
   for i = 1, 40 do
      table.insert(paths, "/products/" .. (1000 + i * 37))
   end
   for m = 1, 12 do
      table.insert(paths, string.format("/changelog/2025-%02d", m))
   end
   for _, r in ipairs({"backend-engineer", "frontend-engineer", "designer", "support", "sales", "sre", "data-engineer", "product-manager", "writer", "intern"}) do
      table.insert(paths, "/careers/" .. r)
   end
   return paths
end

local queries = weighted({
   {65, ""},
   {6, "?utm_source=newsletter&utm_medium=email&utm_campaign=spring-launch"},
   {4, "?utm_source=twitter&utm_medium=social&utm_campaign=launch-week"},
   {4, "?utm_source=google&utm_medium=cpc&utm_campaign=brand&utm_term=privacy+analytics&gclid=Cj0KCQiA4fi7BhC5ARIsAEV1YiYxZ2"},
   {4, "?ref=producthunt"},
   {3, "?gclid=EAIaIQobChMI8vWx7pLhiQMVxJODBx0Qmw"},
   {3, "?fbclid=IwAR2F4-dbP0l7Mn1IawQQGCINEz7PYXQvwjNwB_qlXT3P5e6o"},
   {3, "?q=pricing+plans&page=2"},
   {2, "?page=3"},
   {2, "?sort=price&color=blue&size=m"},
   {2, "?utm_source=hn&utm_medium=referral"},
   {1, "?source=github"},
   {1, "#install"},
})

local referrers = weighted({
   {38, "null"},
   {24, '"https://www.google.com/"'},
   {10, '"https://bench.example/blog"'},
   {4, '"https://duckduckgo.com/"'},
   {3, '"https://www.bing.com/"'},
   {3, '"https://t.co/AbCdEf1234"'},
   {3, '"https://news.ycombinator.com/item?id=42424242"'},
   {3, '"https://www.reddit.com/r/selfhosted/comments/1abcde/a_privacy_friendly_analytics_tool/"'},
   {2, '"https://www.linkedin.com/feed/"'},
   {2, '"https://github.com/bench/analytics"'},
   {2, '"https://l.facebook.com/"'},
   {1, '"https://search.brave.com/"'},
   {1, '"https://www.ecosia.org/"'},
   {1, '"android-app://com.google.android.gm/"'},
   {1, '"https://mail.google.com/"'},
   {1, '"https://www.google.de/"'},
   {1, '"https://chatgpt.com/"'},
})

-- make_body returns a random body; kind_max 85 gives pageviews only.
local function make_body(paths, kind_max)
   local host = "bench.example"
   if math.random(5) == 1 then
      host = "www.bench.example"
   end
   local path = pick(paths)
   local u = "https://" .. host .. path .. pick(queries)
   local r = pick(referrers)
   local k = math.random(kind_max)
   if k <= 85 then
      if k % 2 == 0 then
         return string.format('{"n":"pageview","u":"%s","d":"bench.example","r":%s,"w":%d}', u, r, pick({390, 412, 768, 1280, 1440, 1512, 1920}))
      end
      return string.format('{"n":"pageview","v":24,"u":"%s","d":"bench.example","r":%s,"i":true}', u, r)
   elseif k <= 95 then
      local c = math.random(5)
      if c == 1 then
         return string.format('{"n":"Signup","u":"%s","d":"bench.example","r":%s,"p":{"plan":"%s","seats":%d,"trial":true}}',
            u, r, pick({"starter", "growth", "business", "enterprise"}), math.random(50))
      elseif c == 2 then
         return string.format('{"n":"Outbound Link: Click","u":"%s","d":"bench.example","r":%s,"p":{"url":"%s"},"i":true}',
            u, r, pick({"https://github.com/bench/analytics", "https://twitter.com/bench", "https://docs.example.org/guide", "https://www.youtube.com/watch?v=dQw4w9WgXcQ"}))
      elseif c == 3 then
         return string.format('{"n":"File Download","u":"%s","d":"bench.example","r":%s,"p":{"url":"https://bench.example/files/%s"}}',
            u, r, pick({"report-2025.pdf", "whitepaper.pdf", "installer.dmg", "analytics-1.4.2.tar.gz"}))
      elseif c == 4 then
         return string.format('{"n":"404","u":"%s","d":"bench.example","r":%s,"m":"{\\"path\\":\\"%s\\"}"}', u, r, path)
      end
      return string.format('{"n":"Purchase","u":"%s","d":"bench.example","r":%s,"$":{"amount":"%d.%02d","currency":"%s"},"p":{"plan":"%s","billing":"yearly"}}',
         u, r, math.random(9, 499), math.random(0, 99), pick({"EUR", "USD", "GBP"}), pick({"growth", "business"}))
   end
   return string.format('{"n":"engagement","sd":%d,"e":%d,"d":"bench.example","u":"%s","r":%s,"p":{},"v":24}',
      math.random(0, 100), math.random(200, 180000), u, r)
end

function init(args)
   depth = tonumber(args[1]) or 1
   math.randomseed(20260101)
   local hostport = wrk.host .. ":" .. (wrk.port or "80")

   for i, item in ipairs(user_agents) do
      local h = {
         "POST /api/event HTTP/1.1",
         "Host: " .. hostport,
         "User-Agent: " .. item[2],
         "Accept: */*",
         "Accept-Language: en-US,en;q=0.9,de;q=0.8",
         "Accept-Encoding: gzip, deflate, br, zstd",
         "Origin: https://bench.example",
         "Referer: https://bench.example/",
         "Sec-Fetch-Dest: empty",
         "Sec-Fetch-Mode: no-cors",
         "Sec-Fetch-Site: cross-site",
         "X-Forwarded-Proto: https",
      }
      if item[3] then
         table.insert(h, "sec-ch-ua: " .. item[3])
         table.insert(h, "sec-ch-ua-mobile: ?0")
      end
      table.insert(h, "X-Forwarded-For: ")
      heads[i] = table.concat(h, "\r\n")
      for _ = 1, item[1] do
         table.insert(ua_of, i)
      end
   end

   for i = 1, NUM_IPS do
      ips[i] = string.format("%d.%d.%d.%d\r\n", first_octets[(i * 7) % #first_octets + 1],
         math.random(0, 255), math.random(0, 255), math.random(1, 254))
   end

   local paths = make_paths()
   local function tail(body)
      return "Content-Type: text/plain\r\nContent-Length: " .. #body .. "\r\n\r\n" .. body
   end
   for i = 1, NUM_BODIES do
      tails[i] = tail(make_body(paths, 100))
   end
   for i = 1, NUM_PAGEVIEWS do
      pv_tails[i] = tail(make_body(paths, 85))
   end
end

local function one()
   n = n + 1
   local ip = n % NUM_IPS + 1
   local tail
   if seen[ip] then
      tail = tails[math.random(NUM_BODIES)]
   else
      seen[ip] = true
      tail = pv_tails[math.random(NUM_PAGEVIEWS)]
   end
   return heads[ua_of[(ip * 37) % #ua_of + 1]] .. ips[ip] .. tail
end

function request()
   if depth == 1 then
      return one()
   end
   local batch = {}
   for i = 1, depth do
      batch[i] = one()
   end
   return table.concat(batch)
end

function response(status, headers, body)
   responses = responses + 1
   if status ~= 202 then
      non202 = non202 + 1
   end
   local d = headers["X-Plausible-Dropped"] or headers["x-plausible-dropped"]
   if d then
      dropped = dropped + (tonumber(d) or 0)
   end
end

function done(summary, latency, requests)
   local r, bad, drop = 0, 0, 0
   for _, t in ipairs(threads) do
      r = r + t:get("responses")
      bad = bad + t:get("non202")
      drop = drop + t:get("dropped")
   end
   local e = summary.errors
   io.write(string.format("BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d responses=%d non202=%d dropped=%d errors=%d\n",
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), r, bad, drop,
      e.connect + e.read + e.write + e.timeout))
end
