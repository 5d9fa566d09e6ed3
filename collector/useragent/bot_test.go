package useragent

import (
	"strings"
	"testing"
)

// Current User-Agents of browsers and in-app web views that people use. All
// must be counted as visitors.
var humanUAs = []struct{ name, ua string }{
	{"chrome windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"},
	{"chrome mac", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"},
	{"chrome linux", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"},
	{"chrome os", "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"},
	{"chrome android", "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"},
	{"chrome android tablet", "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"},
	{"chrome ios", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1"},
	{"brave (sends chrome's)", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"},
	{"firefox windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"},
	{"firefox mac", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0"},
	{"firefox linux", "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"},
	{"firefox android", "Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0"},
	{"firefox ios", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/133.0 Mobile/15E148 Safari/605.1.15"},
	{"safari mac", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15"},
	{"safari iphone", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1.1 Mobile/15E148 Safari/604.1"},
	{"safari ipad", "Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"},
	{"safari ios 26", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/26.0 Mobile/15E148 Safari/604.1"},
	{"edge windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.70"},
	{"edge android", "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 EdgA/131.0.2903.68"},
	{"edge ios", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 EdgiOS/131.2903.68 Mobile/15E148 Safari/605.1.15"},
	{"edge xbox", "Mozilla/5.0 (Windows NT 10.0; Win64; x64; Xbox; Xbox One) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edge/44.18363.8131"},
	{"opera windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 OPR/115.0.0.0"},
	{"opera edition", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 OPR/115.0.0.0 (Edition std-2)"},
	{"opera android", "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36 OPR/86.0.0.0"},
	{"opera mini presto", "Opera/9.80 (Android; Opera Mini/7.5.54678/191.308; U; en) Presto/2.12.423 Version/12.16"},
	{"vivaldi", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Vivaldi/7.0.3495.18"},
	{"duckduckgo android", "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/131.0.0.0 Mobile DuckDuckGo/5 Safari/537.36"},
	{"duckduckgo mac", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15 Ddg/18.1"},
	{"samsung internet", "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S928B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/27.0 Chrome/125.0.0.0 Mobile Safari/537.36"},
	{"yandex desktop", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 YaBrowser/24.10.0.0 Safari/537.36"},
	{"yandex android", "Mozilla/5.0 (Linux; Android 13; M2101K6G) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 YaBrowser/24.10.5.78.00 SA/3 Mobile Safari/537.36"},
	{"uc browser", "Mozilla/5.0 (Linux; U; Android 11; en-US; RMX3231 Build/RP1A.201005.001) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/100.0.4896.58 UCBrowser/13.6.2.1313 Mobile Safari/537.36"},
	{"huawei browser", "Mozilla/5.0 (Linux; Android 10; HarmonyOS; ALN-AL00; HMSCore 6.14.0.302) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/114.0.5735.196 HuaweiBrowser/15.0.4.312 Mobile Safari/537.36"},
	{"miui browser", "Mozilla/5.0 (Linux; U; Android 13; en-us; 2201117TG Build/TKQ1.221114.001) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/112.0.5615.136 Mobile Safari/537.36 XiaoMi/MiuiBrowser/14.17.0-gn"},
	{"coc coc", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) coc_coc_browser/134.0.0 Chrome/128.0.0.0 Safari/537.36"},
	{"naver whale", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Whale/3.28.266.14 Safari/537.36"},
	{"silk", "Mozilla/5.0 (Linux; Android 9; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) Silk/131.4.1 like Chrome/131.0.6778.39 Safari/537.36"},
	{"ecosia", "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/150.0.0.0 Mobile Safari/537.36 (Ecosia android@150.0.0.0)"},
	{"android webview", "Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP2A.240805.005; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/131.0.6778.39 Mobile Safari/537.36"},
	{"instagram ios", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 356.0.0.20.80 (iPhone15,2; iOS 18_1; en_US; en; scale=3.00; 1179x2556; 656234540)"},
	{"instagram android", "Mozilla/5.0 (Linux; Android 14; SM-A546B Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/131.0.6778.39 Mobile Safari/537.36 Instagram 356.0.0.41.101 Android (34/14; 450dpi; 1080x2340; samsung; SM-A546B; a54x; s5e8835; en_GB; 656234541)"},
	{"facebook ios", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/490.0.0.51.107;FBBV/665378592;FBDV/iPhone15,2;FBMD/iPhone;FBSN/iOS;FBSV/18.1;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5;FBRV/667012345]"},
	{"facebook android", "Mozilla/5.0 (Linux; Android 14; Pixel 7 Build/AP2A.240905.003; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/131.0.6778.39 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/489.0.0.60.109;]"},
	{"threads android", "Mozilla/5.0 (Linux; Android 16; SM-S926U Build/BP4A.251205.006; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/153.0.8010.36 Mobile Safari/537.36 Barcelona 448.0.0.54.85 Android (36/16; 540dpi; 1080x2340; samsung; SM-S926U; e2q; qcom; en_US; 1073639361)"},
	{"tiktok android", "Mozilla/5.0 (Linux; Android 13; SM-G991B Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/131.0.6778.39 Mobile Safari/537.36 trill_370104 JsSdk/1.0 NetType/WIFI Channel/googleplay AppName/trill app_version/37.1.4 ByteLocale/en ByteFullLocale/en Region/US AppId/1180 Spark/1.5.8.2-bugfix AppVersion/37.1.4 BytedanceWebview/d8a21c6"},
	{"snapchat ios", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/26.6.1 Mobile/15E148 Snapchat/14.25.0.48 (like Safari/8624.5.1.10.3, panda)"},
	{"linkedin ios", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [LinkedInApp]/9.30.1982"},
	{"pinterest ios", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [Pinterest/iOS]"},
	{"line", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Safari Line/14.19.0"},
	{"wechat", "Mozilla/5.0 (Linux; Android 13; V2227A Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160117 MMWEBSDK/20240404 MMWEBID/1234 MicroMessenger/8.0.49.2600(0x2800313D) WeChat/arm64 Weixin NetType/WIFI Language/zh_CN ABI/arm64"},
	{"google app ios", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) GSA/343.0.695551749 Mobile/15E148 Safari/604.1"},
	{"yahoo japan app", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 YJApp-IOS jp.co.yahoo.ipn.appli/4.62.0"},
	{"telegram android", "Mozilla/5.0 (Linux; Android 14; SM-A155F Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/131.0.6778.39 Mobile Safari/537.36 Telegram-Android/11.4.2 (Samsung SM-A155F; Android 14; SDK 34; AVERAGE)"},
	{"slack desktop", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Slack/4.41.97 Chrome/130.0.6723.137 Electron/33.2.0 Safari/537.36 Sonic Slack_SSB/4.41.97"},
	{"samsung smart tv", "Mozilla/5.0 (SMART-TV; LINUX; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) 76.0.3809.146/6.0 TV Safari/537.36"},
	{"playstation 5", "Mozilla/5.0 (PlayStation; PlayStation 5/2.26) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.0 Safari/605.1.15"},
	{"kaios", "Mozilla/5.0 (Mobile; LYF/F300B/LYF-F300B-001-01-15-130718-i;Android; rv:48.0) Gecko/48.0 Firefox/48.0 KAIOS/2.5"},
	{"internet explorer 11", "Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko"},
	{"baidu app", "Mozilla/5.0 (Linux; Android 9; ELE-AL00 Build/HUAWEIELE-AL0001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/63.0.3239.83 Mobile Safari/537.36 T7/11.15 baiduboxapp/11.15.5.10 (Baidu; P1 9)"},
	{"alipay", "Mozilla/5.0 (Linux; U; Android 12; zh-CN; V2183A Build/SP1A.210812.003) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/69.0.3497.100 UWS/3.22.2.59 Mobile Safari/537.36 AlipayChannelId/5136 UCBrowser/13.4.0.1306 AliApp(AP/10.5.36.8100) AlipayClient/10.5.36.8100 Language/zh-Hans useStatusBar/true isConcaveScreen/true Region/CNAriver/1.0.0 NebulaX/1.0.0"},
	{"dingtalk", "Mozilla/5.0 (Linux; U; Android 13; zh-CN; PGJM10 Build/TP1A.220905.001) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/69.0.3497.100 UWS/3.22.2.59 Mobile Safari/537.36 AliApp(DingTalk/7.0.40) com.alibaba.android.rimet/38184718 Channel/700159 language/zh-CN abi/64"},
	{"internet explorer 6", "Mozilla/4.0 (compatible; MSIE6.0; Windows NT 5.0; .NET CLR 1.1.4322)"},
	{"internet explorer 10", "Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.2; Trident/6.0)"},
	{"windows phone edge", "Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Mobile Safari/537.36 Edge/15.15063"},
	{"cubot phone", "Mozilla/5.0 (Linux; Android 10; CUBOT_X30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36"},
}

func TestHumans(t *testing.T) {
	p := New(0)
	for _, tt := range humanUAs {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.Parse([]byte(tt.ua)); got.Bot || got.BotClass != "" {
				t.Errorf("Parse(%q) = %+v, want a human", tt.ua, got)
			}
		})
	}
}

func TestBotClass(t *testing.T) {
	tests := []struct{ name, ua, want string }{
		// crawlers
		{"googlebot", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", BotCrawler},
		{"googlebot smartphone", "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.69 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", BotCrawler},
		{"google inspection tool", "Mozilla/5.0 (compatible; Google-InspectionTool/1.0)", BotCrawler},
		{"google other", "GoogleOther", BotCrawler},
		{"bingbot", "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/131.0.0.0 Safari/537.36", BotCrawler},
		{"yandex", "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)", BotCrawler},
		{"baidu", "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)", BotCrawler},
		{"applebot", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)", BotCrawler},
		{"gptbot", "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)", BotCrawler},
		{"chatgpt user", "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; ChatGPT-User/1.0; +https://openai.com/bot", BotCrawler},
		{"claudebot", "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; +claudebot@anthropic.com)", BotCrawler},
		{"ccbot", "CCBot/2.0 (https://commoncrawl.org/faq/)", BotCrawler},
		{"perplexity user", "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Perplexity-User/1.0; +https://perplexity.ai/perplexity-user)", BotCrawler},
		{"bytespider", "Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 (compatible; Bytespider; spider-feedback@bytedance.com)", BotCrawler},
		{"ahrefs", "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", BotCrawler},
		{"semrush", "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)", BotCrawler},
		{"mj12", "Mozilla/5.0 (compatible; MJ12bot/v1.4.8; http://mj12bot.com/)", BotCrawler},
		{"screaming frog", "Screaming Frog SEO Spider/20.4", BotCrawler},
		{"ia archiver", "ia_archiver (+http://www.alexa.com/site/help/webmasters; crawler@alexa.com)", BotCrawler},
		{"feed reader", "Feedly/1.0 (+http://www.feedly.com/fetcher.html; 12 subscribers; )", BotCrawler},
		{"compatible convention", "Mozilla/5.0 (compatible; SimpleScraper)", BotCrawler},
		{"domain name", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/133.0.0.0 Safari/537.36 Scope3/2.0 (scope3.com)", BotCrawler},
		{"odd engine comment", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko, Foregenix) Chrome/91.0.4472.77 Safari/537.36", BotCrawler},
		{"agent part", "Mozilla/5.0 (Linux; Android 15; GEC77) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 Nitro-Optimizer-Agent", BotCrawler},

		// headless browsers
		{"headless chrome", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.6778.85 Safari/537.36", BotHeadless},
		{"phantomjs", "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1", BotHeadless},
		{"puppeteer", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Puppeteer", BotHeadless},
		{"playwright", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15 Playwright/1.49", BotHeadless},
		{"selenium", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36; Selenium", BotHeadless},
		{"lighthouse", "Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 Chrome-Lighthouse", BotHeadless},
		{"firefox headless", "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0 Headless", BotHeadless},

		// link previews
		{"facebookexternalhit", "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", BotPreview},
		{"imessage", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) AppleWebKit/601.2.4 (KHTML, like Gecko) Version/9.0.1 Safari/601.2.4 facebookexternalhit/1.1 Facebot Twitterbot/1.0", BotPreview},
		{"twitterbot", "Twitterbot/1.0", BotPreview},
		{"slack", "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", BotPreview},
		{"whatsapp", "WhatsApp/2.23.20.0", BotPreview},
		{"whatsapp short", "WhatsApp", BotPreview},
		{"telegram", "TelegramBot (like TwitterBot)", BotPreview},
		{"discord", "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)", BotPreview},
		{"linkedin", "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)", BotPreview},
		{"skype", "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5 skype-url-preview@microsoft.com", BotPreview},
		{"mastodon", "http.rb/5.1.1 (Mastodon/4.2.1; +https://mastodon.social/) Bot", BotPreview},

		// monitors
		{"pingdom", "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/534.34 (KHTML, like Gecko) PingdomTMS/22.04 Safari/534.34", BotMonitor},
		{"uptimerobot", "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)", BotMonitor},
		{"statuscake", "StatusCake_Uptime_Checker/1.0", BotMonitor},
		{"gtmetrix", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/117.0.0.0 Safari/537.36 GTmetrix", BotMonitor},
		{"site24x7", "Site24x7", BotMonitor},
		{"datadog", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.7204.168 Safari/537.36 DatadogSynthetics", BotMonitor},
		{"new relic", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/100.0.4896.60 Safari/537.36 NewRelicSynthetics/1.0", BotMonitor},
		{"webpagetest", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/96.0.4664.45 Safari/537.36 PTST/211202.211915", BotMonitor},
		{"elb health check", "ELB-HealthChecker/2.0", BotMonitor},

		// libraries and tools
		{"curl", "curl/8.11.0", BotLibrary},
		{"curl bare", "curl", BotLibrary},
		{"wget", "Wget/1.24.5", BotLibrary},
		{"python requests", "python-requests/2.32.3", BotLibrary},
		{"python urllib", "Python-urllib/3.12", BotLibrary},
		{"aiohttp", "Python/3.12 aiohttp/3.11.7", BotLibrary},
		{"go", "Go-http-client/2.0", BotLibrary},
		{"java", "Java/17.0.2", BotLibrary},
		{"okhttp", "okhttp/4.12.0", BotLibrary},
		{"axios", "axios/1.7.7", BotLibrary},
		{"node fetch", "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)", BotLibrary},
		{"undici", "undici", BotLibrary},
		{"perl", "libwww-perl/6.77", BotLibrary},
		{"scrapy", "Scrapy/2.11.2 (+https://scrapy.org)", BotLibrary},
		{"httpie", "HTTPie/3.2.4", BotLibrary},
		{"postman", "PostmanRuntime/7.42.0", BotLibrary},
		{"apache httpclient", "Apache-HttpClient/4.5.14 (Java/17.0.9)", BotLibrary},
		{"ruby", "Ruby", BotLibrary},
		{"php", "PHP/8.3", BotLibrary},
		{"mozilla with java", "Mozilla/5.0 (Java) outbrain", BotLibrary},
		{"zgrab", "Mozilla/5.0 zgrab/0.x", BotLibrary},
		{"unknown product", "SomeApp/1.0 (+custom build; linux)", BotLibrary},
		{"android http stack", "Dalvik/2.1.0 (Linux; U; Android 14; SM-A155F Build/UP1A.231005.007)", BotLibrary},

		// invalid
		{"empty", "", BotInvalid},
		{"short", "Mozilla/5", BotInvalid},
		{"short no marker", "abc", BotInvalid},
		{"too long", strings.Repeat("a", maxLen+1), BotInvalid},
		{"bare mozilla", "Mozilla/5.0", BotInvalid},
		{"mozilla and a platform only", "Mozilla/5.0 (Windows NT 10.0; Win64; x64)", BotInvalid},
		{"no product token", "Hello World from nowhere", BotInvalid},
		{"control byte", "Mozilla/5.0 (Windows NT 10.0; Win64; x64)\x00 Chrome/131.0.0.0 Safari/537.36", BotInvalid},
		{"not ascii", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 \xc3\xa9", BotInvalid},
		{"windows and iphone", "Mozilla/5.0 (Windows NT 10.0; iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1", BotInvalid},
		{"mac and android", "Mozilla/5.0 (Macintosh; Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", BotInvalid},
	}
	p := New(100)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 2 { // a miss, then a hit
				got := p.Parse([]byte(tt.ua))
				want := Info{Bot: true, BotClass: tt.want}
				if got != want {
					t.Errorf("Parse(%q) = %+v, want %+v", tt.ua, got, want)
				}
			}
		})
	}
}

func TestClasses(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Classes {
		if c == "" || seen[c] {
			t.Errorf("Classes has %q twice or empty", c)
		}
		seen[c] = true
	}
	for c := preview; c <= invalid; c++ {
		if !seen[c.String()] {
			t.Errorf("class %d (%q) missing from Classes", c, c.String())
		}
	}
	if len(Classes) != int(invalid) {
		t.Errorf("len(Classes) = %d, want %d", len(Classes), invalid)
	}
}

func TestIsDomain(t *testing.T) {
	tests := []struct {
		word string
		want bool
	}{
		{"siteimprove.com", true},
		{"abuse.xmco.fr", true},
		{"miniature.io", true},
		{"jp.co.yahoo.ipn.appli", false},
		{"1.0.co", false},
		{"120.0.0.0", false},
		{".com", false},
		{"com", false},
	}
	for _, tt := range tests {
		if got := isDomain([]byte(tt.word)); got != tt.want {
			t.Errorf("isDomain(%q) = %v, want %v", tt.word, got, tt.want)
		}
	}
}

// wordClass skips words that start with a digit, so no name may.
func TestWordsStartWithLetter(t *testing.T) {
	for _, m := range []map[string]class{words, partWords} {
		for w := range m {
			if c := w[0]; '0' <= c && c <= '9' {
				t.Errorf("word %q starts with a digit and would never match", w)
			}
			if w != strings.ToLower(w) {
				t.Errorf("word %q is not lower case", w)
			}
		}
	}
	for _, m := range substrings {
		if s := string(m.s); s != strings.ToLower(s) {
			t.Errorf("substring %q is not lower case", s)
		}
	}
}
