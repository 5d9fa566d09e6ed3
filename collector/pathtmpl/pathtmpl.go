package pathtmpl

import (
	"errors"
	"fmt"
	"math/bits"
	"regexp"
	"strings"
)

// Rule is a site's own templating rule.
type Rule struct {
	// Match is a regular expression (Go syntax) matched against one whole
	// segment: it is anchored at both ends, so `[0-9]+` does not match
	// "a1". %XX escapes left in a segment are decoded before matching.
	Match string `toml:"match"`
	// Replace is the placeholder that replaces a matching segment: ':', a
	// letter and then up to 31 letters, '_' or '-' (ASCII), e.g. ":slug".
	Replace string `toml:"replace"`
	// Scope, when set, limits the rule to the segments a pattern covers
	// (see the package documentation), e.g. "/users/*". Empty: everywhere.
	Scope string `toml:"scope"`
}

// Config is a site's templating configuration. The zero Config means the
// built-in rules only (Default).
type Config struct {
	// Rules are tried, in order, before the built-in rules and before Keep.
	Rules []Rule `toml:"rule"`
	// Keep lists patterns (see the package documentation) whose segments are
	// kept as they are by the built-in rules, e.g. "/blog/*" for human slugs
	// that look like tokens, or "/docs" for everything under /docs.
	Keep []string `toml:"keep"`
	// DisableBuiltins names built-in rules to switch off: email, phone, ip,
	// uuid, id, hex, token, mixed.
	DisableBuiltins []string `toml:"disable_builtins"`
}

// Limits of a Config.
const (
	MaxRules       = 64 // Config.Rules
	MaxPatterns    = 64 // Config.Keep plus the Scopes of Config.Rules
	MaxReplaceLen  = 33 // Rule.Replace, with its ':'
	maxPatternSegs = 64 // segments of one pattern
)

// builtin is a set of built-in rules.
type builtin uint8

const (
	ruleEmail builtin = 1 << iota
	rulePhone
	ruleIP
	ruleUUID
	ruleID
	ruleHex
	ruleToken
	ruleMixed

	allBuiltins = ruleEmail | rulePhone | ruleIP | ruleUUID | ruleID | ruleHex | ruleToken | ruleMixed
)

var builtinNames = [...]struct {
	name string
	bit  builtin
}{
	{"email", ruleEmail},
	{"phone", rulePhone},
	{"ip", ruleIP},
	{"uuid", ruleUUID},
	{"id", ruleID},
	{"hex", ruleHex},
	{"token", ruleToken},
	{"mixed", ruleMixed},
}

// Builtins returns the names of the built-in rules, in the order they are
// tried.
func Builtins() []string {
	names := make([]string, len(builtinNames))
	for i, b := range builtinNames {
		names[i] = b.name
	}
	return names
}

// Templater templates paths. It is immutable and safe for concurrent use.
type Templater struct {
	on    builtin
	rules []rule
	pats  []pattern
	// Bit i of a mask is pats[i].
	keepMask uint64 // Keep patterns
	pathMask uint64 // patterns of the path ('/')
	fragMask uint64 // patterns of the hash route ('#')
}

type rule struct {
	re      *regexp.Regexp
	prefix  string // every match starts with it: a cheap test before re
	replace string
	scope   uint64 // the bit of the Scope pattern; 0: everywhere
}

// Default is the Templater of sites without configuration: the built-in
// rules only.
var Default = mustNew(Config{})

func mustNew(cfg Config) *Templater {
	t, err := New(cfg)
	if err != nil {
		panic(err)
	}
	return t
}

// New checks cfg and compiles it. Its error names every bad rule, pattern
// and name, in the words of the configuration file (rule, keep,
// disable_builtins).
func New(cfg Config) (*Templater, error) {
	t := &Templater{on: allBuiltins}
	var errs []error
	for _, name := range cfg.DisableBuiltins {
		found := false
		for _, b := range builtinNames {
			if b.name == name {
				t.on &^= b.bit
				found = true
			}
		}
		if !found {
			errs = append(errs, fmt.Errorf("disable_builtins: unknown built-in rule %q (known: %s)",
				name, strings.Join(Builtins(), ", ")))
		}
	}
	if len(cfg.Rules) > MaxRules {
		errs = append(errs, fmt.Errorf("rule: %d rules, at most %d are allowed", len(cfg.Rules), MaxRules))
	}
	if n := len(cfg.Keep) + countScopes(cfg.Rules); n > MaxPatterns {
		errs = append(errs, fmt.Errorf("keep and rule scopes: %d patterns, at most %d are allowed", n, MaxPatterns))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	addPattern := func(p pattern) uint64 {
		bit := uint64(1) << len(t.pats)
		t.pats = append(t.pats, p)
		if p.frag {
			t.fragMask |= bit
		} else {
			t.pathMask |= bit
		}
		return bit
	}
	for i, r := range cfg.Rules {
		what := fmt.Sprintf("rule %d (match %q)", i+1, r.Match)
		cr := rule{replace: r.Replace}
		if r.Match == "" {
			errs = append(errs, fmt.Errorf("%s: match is empty", what))
		} else if _, err := regexp.Compile(r.Match); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", what, err))
		} else {
			cr.re = regexp.MustCompile(`^(?:` + r.Match + `)$`)
			cr.prefix, _ = cr.re.LiteralPrefix()
		}
		if !isPlaceholder(r.Replace) {
			errs = append(errs, fmt.Errorf(`%s: replace %q must be ':', a letter and then up to 31 letters, '_' or '-' (ASCII), e.g. ":slug"`,
				what, r.Replace))
		}
		if r.Scope != "" {
			p, err := parsePattern(r.Scope)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: scope %q: %w", what, r.Scope, err))
			} else {
				cr.scope = addPattern(p)
			}
		}
		t.rules = append(t.rules, cr)
	}
	for _, k := range cfg.Keep {
		p, err := parsePattern(k)
		if err != nil {
			errs = append(errs, fmt.Errorf("keep %q: %w", k, err))
			continue
		}
		t.keepMask |= addPattern(p)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return t, nil
}

// Validate reports what New would refuse in c.
func (c Config) Validate() error {
	_, err := New(c)
	return err
}

func countScopes(rules []Rule) int {
	n := 0
	for _, r := range rules {
		if r.Scope != "" {
			n++
		}
	}
	return n
}

// isPlaceholder reports whether s is ':', an ASCII letter and then up to 31
// ASCII letters, '_' or '-'. No built-in rule matches such a segment (each
// needs a digit or an '@'), so keeping placeholders as they are only stops
// site rules from templating their own output.
func isPlaceholder(s string) bool {
	if len(s) < 2 || len(s) > MaxReplaceLen || s[0] != ':' || !isAlpha(s[1]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isAlpha(c) && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// Apply appends the template of path to dst and returns the extended
// buffer. It allocates only when dst has to grow.
func (t *Templater) Apply(dst []byte, path string) []byte {
	h := strings.IndexByte(path, '#')
	if h < 0 {
		return t.part(dst, path, t.pathMask)
	}
	dst = t.part(dst, path[:h], t.pathMask)
	dst = append(dst, '#')
	return t.part(dst, path[h+1:], t.fragMask)
}

// part appends the template of s, the path or the hash route, whose
// patterns are mask.
func (t *Templater) part(dst []byte, s string, mask uint64) []byte {
	// alive: patterns whose segments matched so far; past: patterns whose
	// segments all matched and that cover everything below (a prefix or
	// "**").
	var alive, past uint64
	for m := mask; m != 0; m &= m - 1 {
		i := bits.TrailingZeros64(m)
		if p := &t.pats[i]; len(p.segs) == 0 {
			past |= 1 << i
		} else {
			alive |= 1 << i
		}
	}
	for k := 0; ; k++ {
		// The segment, and the classes of its bytes (see segment).
		var classes uint8
		end := 0
		for end < len(s) && s[end] != '/' {
			classes |= byteClass[s[end]]
			end++
		}
		seg := s[:end]
		cover := past
		for m := alive; m != 0; m &= m - 1 {
			i := bits.TrailingZeros64(m)
			if t.pats[i].segs[k].any {
				cover |= 1 << i
			}
		}
		start := len(dst)
		dst = t.segment(dst, seg, classes, cover)
		for m := alive; m != 0; m &= m - 1 {
			i := bits.TrailingZeros64(m)
			p := &t.pats[i]
			ps := p.segs[k]
			switch {
			case !ps.any && ps.lit != string(dst[start:]):
				alive &^= 1 << i
			case k+1 == len(p.segs):
				alive &^= 1 << i
				if p.rest {
					past |= 1 << i
				}
			}
		}
		if end == len(s) {
			return dst
		}
		dst = append(dst, '/')
		s = s[end+1:]
	}
}

// segment appends the template of one segment. classes are those of its
// bytes (byteClass), cover the patterns that cover it.
func (t *Templater) segment(dst []byte, seg string, classes uint8, cover uint64) []byte {
	if seg == "" || seg[0] == ':' && isPlaceholder(seg) {
		return append(dst, seg...)
	}
	start := len(dst)
	escaped := classes&clPercent != 0 && hasEscape(seg)
	var dec []byte
	if escaped {
		// The decoded bytes are kept where the output goes, until the
		// output is written.
		dst = appendUnescape(dst, seg)
		dec = dst[start:]
	}
	for i := range t.rules {
		r := &t.rules[i]
		if r.scope != 0 && r.scope&cover == 0 {
			continue
		}
		var ok bool
		if escaped {
			ok = hasPrefix(dec, r.prefix) && r.re.Match(dec)
		} else {
			ok = hasPrefix(seg, r.prefix) && r.re.MatchString(seg)
		}
		if ok {
			return append(dst[:start], r.replace...)
		}
	}
	if cover&t.keepMask != 0 || classes == 0 && !isJWTStart(seg) {
		// Every built-in rule needs a digit 0-9, an '@' or an escape,
		// except base64-encoded JSON, which may have no digit.
		return append(dst[:start], seg...)
	}
	var ph string
	if escaped {
		ph = t.wholeDecoded(dec)
	} else {
		ph = t.whole(seg)
	}
	if ph != "" {
		return append(dst[:start], ph...)
	}
	return t.parts(dst[:start], seg)
}
