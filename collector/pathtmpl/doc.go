// Package pathtmpl turns page paths into templates before anything is
// aggregated: path segments that can identify a person (an e-mail address,
// an order number, a reset token, a phone number) become placeholders, so
// "/users/jane.doe@example.com/orders/83412" is counted as
// "/users/:email/orders/:id". It runs for every beacon: built-in rules are
// hand-written byte classifiers, and Apply allocates nothing.
//
// # Segments
//
// A path is split at '/' into segments, and each segment is classified on
// its own; the slashes, empty segments and a trailing slash stay as sent,
// and so does the case of what is kept. In hash mode (the collector appends
// "#fragment" to the path) the part after the first '#' is split and
// classified the same way: "/app#/orders/83412" becomes "/app#/orders/:id".
// A segment that still contains %XX escapes (the collector decodes paths, so
// this happens with double-encoded URLs) is classified on its decoded bytes;
// a segment that is kept is kept as sent.
//
// For every segment the first of these that applies wins:
//
//  1. an empty segment, or one that already is a placeholder (':', an ASCII
//     letter and then up to 31 ASCII letters, '_' or '-', e.g. ":id"), is
//     kept;
//  2. the site's rules (Config.Rules), in order: the first whose regular
//     expression matches the whole segment replaces it;
//  3. a segment covered by a Config.Keep pattern is kept;
//  4. the built-in rules, in the order of the table below.
//
// # Built-in rules
//
// Each built-in rule has a name that Config.DisableBuiltins can switch off.
//
//	name   segment                                        becomes     example
//	email  an '@' (not first) followed by a domain:       :email      jane.doe@example.com, jane%40example.com,
//	       a label, '.', and a label of 2+ characters                 mailto:jane+news@mail.example.co.uk
//	       starting with a letter
//	phone  '+' (or "tel:+") and 7 to 15 digits, which     :phone      +4917612345678, +49 176 1234-5678,
//	       may be grouped by ' ', '-', '.', '(' and ')'               tel:+1-202-555-0143
//	ip     an IPv4 address (no leading zeros), or an      :ip         192.168.100.200, 2001:db8::8a2e:370:7334,
//	       IPv6 address with a decimal digit                          ::ffff:192.0.2.128
//	uuid   8-4-4-4-12 hex digits, any case, at least one  :uuid       3f2a1c4e-1b2c-4d5e-8f9a-0123456789ab
//	       of them 0-9
//	id     5 or more digits                               :id         83412, 1854321987654321098
//	hex    16 or more hex digits, at least one of them    :token      9f8e7d6c5b4a39281706f5e4d3c2b1a0,
//	       a digit and one a letter                                   507f1f77bcf86cd799439011
//	token  a JWT or base64-encoded JSON ("eyJ" and 13+    :token      eyJhbGciOi....eyJzdWIi....dozjgNry...
//	       more base64url characters or dots), or a
//	       random-looking string (see below)                          AB12CD34EF56GH78, 01ARZ3NDEKTSV4RRFFQ69G5FAV
//	mixed  uuid, id and hex also apply to the parts of a  part        order-83412 -> order-:id,
//	       segment between characters other than ASCII    replaced    report-<uuid>.pdf -> report-:uuid.pdf,
//	       letters and digits (and %XX escapes)                       main.<20 hex>.js -> main.:token.js
//
// A segment is random-looking (token) when it consists of A-Z, a-z, 0-9,
// '-', '_' and '+' (and at most two trailing '='), and its pieces between
// '-', '_' and '+' that change kind somewhere (lowercase, uppercase, digit;
// an uppercase letter followed by a lowercase one, as in "Berlin", is no
// change) are together 16 or more characters long, contain a digit and
// change kind at least once per 5 characters. Parts that mixed has replaced
// do not count, but when what is left still looks random the whole segment
// becomes ":token": "xY9-83412-AbCdEfGh12345q" is ":token", whereas
// "My-Page-Title-3f2a1c4e1b2c4d5e8f9a0123456789ab" is "My-Page-Title-:token".
//
// Deliberately kept, because they are content rather than people:
//
//	kept                                   why
//	/blog/2024/11/05/my-post, /page/2      numbers of up to 4 digits: years, months, days, pages, small catalog ids
//	/orders/8341, /users/42                the price of the rule above; add a rule with a Scope (below)
//	/@jane_doe, /@jane@mastodon.social     a leading '@' is a public handle, not an e-mail address
//	/img/logo@2x.png, icon@1.5x.webp       "@<n>x." is an image density suffix
//	/users/jane@localhost                  no dot in the domain
//	/products/iphone-15-pro, /en-us/       slugs: pieces of one kind, or Capitalised
//	/windows-11-22h2-update, /wiki/ISO_8601, /wiki/2024_United_States_presidential_election
//	/shop/MBP14-M3PRO-16GB-512             the pieces that change kind make up fewer than 16 characters
//	/blog/my-post-1a2b3c4d5e6f             Medium-style ids: 12 hex digits in a slug
//	/static/app.3f2a1c4e.js                asset hashes shorter than 16 hex digits (longer ones become :token)
//	/watch/dQw4w9WgXcQ, /dp/B07XJ8C8F5     ids shorter than 16 characters
//	/o/ORD12345                            digits glued to letters are not a part of their own
//
// Deliberately templated, although they are content: 5+ digit numbers such
// as compact dates ("20241105"), zip codes and article ids; git commit
// hashes; CamelCase names with digits of 16+ characters ("iPhone15ProMaxCase");
// version numbers that are valid IPv4 addresses ("1.2.3.4").
// A site keeps them with Config.Keep or Config.DisableBuiltins.
//
// # Patterns: Config.Keep and Rule.Scope
//
// A pattern names segments by their position. It starts with '/' to match
// the path, or with '#' to match the hash route after the first '#' ("#/route"
// is the route "/route"; "#!/route" the route "!/route"; "#" or "#**" every
// route). It is split at '/' like a path, and each of its segments is:
//
//	literal   matches a segment that is equal to it, byte for byte, after
//	          templating: write "/users/:id/*", not "/users/83412/*"
//	*         matches any one segment, and covers it
//	**        only last: covers every segment from here to the end
//
// A pattern matches a path when its segments match the path's first
// segments. It covers the segments its wildcards match; a pattern without
// wildcards is a prefix and covers every segment below it ("/docs" equals
// "/docs/**", and covers "/docs/a/b" but not "/docsearch"). A trailing '/' is
// ignored, so "/" covers the whole path. Segments after a pattern's last '*'
// are not covered: with "/blog/*", "/blog/A1b2C3d4E5f6G7h8I9/comments/83412"
// keeps the slug and still becomes ".../comments/:id".
//
// Config.Keep patterns switch the built-in rules off for the segments they
// cover (the site's rules still apply). A Rule with a Scope applies only to
// the segments its Scope covers; this is how a site templates short
// numbers where they are ids: Rule{Scope: "/users/*", Match: `[0-9]+`,
// Replace: ":id"} turns "/users/42" into "/users/:id" and leaves "/page/2".
//
// # Guarantees
//
// Apply is idempotent (templating a templated path changes nothing) as long
// as no site rule matches a segment that contains a placeholder, such as
// "order-:id"; with the built-ins alone the output is never longer than the
// input, valid UTF-8 stays valid, and neither the '/'s nor the '#' that
// starts a hash route are ever added or removed.
package pathtmpl
