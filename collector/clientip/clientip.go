// Package clientip owns the decision of which address is a visitor's: the
// socket peer, or an address a trusted reverse proxy reports in
// X-Forwarded-For, Forwarded (RFC 7239) or X-Real-IP.
//
// Forwarding headers are believed only when the peer is a configured trusted
// proxy; anyone else can write whatever they like in them. Within a chain of
// forwarded addresses the right-most address that is not a trusted proxy is
// the visitor: every address to its left was written by the visitor and could
// be forged.
//
// Nothing here logs or keeps an address; errors name configuration entries
// only.
package clientip

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"
)

// Resolver finds the client address of a request. It is immutable and safe
// for concurrent use. The zero value and a nil *Resolver trust no proxy.
type Resolver struct {
	trusted []netip.Prefix
}

// NewResolver returns a Resolver that trusts the given proxies. Each entry is
// a CIDR prefix ("10.0.0.0/8", "2001:db8::/32") or a bare address
// ("127.0.0.1", meaning /32, or "::1", meaning /128). Surrounding spaces are
// ignored and empty entries skipped, so a split comma-separated list can be
// passed as is. IPv4-mapped IPv6 entries are stored as IPv4.
func NewResolver(cidrs []string) (*Resolver, error) {
	r := &Resolver{}
	for _, entry := range cidrs {
		s := strings.TrimSpace(entry)
		if s == "" {
			continue
		}
		p, err := parseTrusted(s)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: %w", entry, err)
		}
		r.trusted = append(r.trusted, p)
	}
	return r, nil
}

func parseTrusted(s string) (netip.Prefix, error) {
	var p netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		if p, err = netip.ParsePrefix(s); err != nil {
			return p, fmt.Errorf("not a CIDR prefix like 10.0.0.0/8 or 2001:db8::/32")
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return p, fmt.Errorf("not an IP address or CIDR prefix")
		}
		if a.Zone() != "" {
			return p, fmt.Errorf("IPv6 zones are not supported")
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if a := p.Addr(); a.Is4In6() {
		if p.Bits() < 96 {
			return p, fmt.Errorf("IPv4-mapped prefix shorter than /96")
		}
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// Trusted reports whether a is a trusted proxy.
func (r *Resolver) Trusted(a netip.Addr) bool {
	if r == nil {
		return false
	}
	a = normalize(a)
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientIP returns the visitor's address for a request from peer carrying
// the given header values (nil or empty when absent). When several header
// lines of one kind are present, pass them joined with commas, in order.
//
// If peer is not a trusted proxy, ClientIP returns peer. Otherwise it takes,
// in this order, the first header that holds at least one valid address:
// X-Forwarded-For, then the for= parameters of Forwarded, walked from the
// right, returning the first address that is not a trusted proxy (or the
// left-most one if all are trusted); then X-Real-IP; then peer. Entries that
// are not addresses ("unknown", obfuscated identifiers, garbage) are skipped;
// ports, brackets, quotes and spaces around addresses are accepted.
//
// The result is always unmapped (::ffff:1.2.3.4 becomes 1.2.3.4) and has no
// IPv6 zone. It does not allocate, except for an entry that is made of
// address characters but is not an address ("1.2.3"), which costs one.
func (r *Resolver) ClientIP(peer netip.Addr, xForwardedFor, forwarded, xRealIP []byte) netip.Addr {
	peer = normalize(peer)
	if r == nil || len(r.trusted) == 0 || !r.Trusted(peer) {
		return peer
	}
	if a, ok := r.fromXForwardedFor(xForwardedFor); ok {
		return a
	}
	if a, ok := r.fromForwarded(forwarded); ok {
		return a
	}
	if a, ok := parseNode(xRealIP); ok {
		return a
	}
	return peer
}

// normalize unmaps IPv4-mapped addresses and drops zones, which prefixes
// never match.
func normalize(a netip.Addr) netip.Addr {
	return a.Unmap().WithZone("")
}

// chain tracks the walk over one header's addresses from right to left.
type chain struct {
	r        *Resolver
	leftmost netip.Addr // last valid address seen, i.e. the left-most so far
	found    netip.Addr // the first untrusted address, once found
}

// add offers the next address to the left and reports whether the walk is
// over.
func (c *chain) add(a netip.Addr) (done bool) {
	c.leftmost = a
	if !c.r.Trusted(a) {
		c.found = a
		return true
	}
	return false
}

func (c *chain) result() (netip.Addr, bool) {
	if c.found.IsValid() {
		return c.found, true
	}
	return c.leftmost, c.leftmost.IsValid()
}

// FromXForwardedFor returns the address ClientIP takes from X-Forwarded-For
// (h, its lines joined with commas) for a trusted peer, and whether there is
// one; if not, ClientIP goes on to Forwarded and X-Real-IP. It lets a caller
// read those headers only when they matter. The address is unmapped and has
// no zone.
func (r *Resolver) FromXForwardedFor(h []byte) (netip.Addr, bool) {
	if r == nil {
		return netip.Addr{}, false
	}
	return r.fromXForwardedFor(h)
}

// fromXForwardedFor walks "client, proxy1, proxy2" from the right.
func (r *Resolver) fromXForwardedFor(h []byte) (netip.Addr, bool) {
	c := chain{r: r}
	for end := len(h); end > 0; {
		start := bytes.LastIndexByte(h[:end], ',') + 1
		if a, ok := parseNode(h[start:end]); ok && c.add(a) {
			break
		}
		end = start - 1
	}
	return c.result()
}

// fromForwarded walks the for= parameters of an RFC 7239 Forwarded header,
// such as `for=192.0.2.60;proto=http, for="[2001:db8::17]:4711"`, from the
// right. Commas and semicolons inside quoted strings do not separate.
func (r *Resolver) fromForwarded(h []byte) (netip.Addr, bool) {
	c := chain{r: r}
	quoted := false
	end := len(h)
	for i := len(h) - 1; i >= -1; i-- {
		if i >= 0 {
			if h[i] == '"' {
				quoted = !quoted
			}
			if quoted || h[i] != ',' {
				continue
			}
		}
		if a, ok := forwardedFor(h[i+1 : end]); ok && c.add(a) {
			break
		}
		end = i
	}
	return c.result()
}

// forwardedFor returns the address in the for= parameter of one Forwarded
// element ("for=1.2.3.4;proto=https;by=...").
func forwardedFor(elem []byte) (netip.Addr, bool) {
	quoted := false
	start := 0
	for i := 0; i <= len(elem); i++ {
		if i < len(elem) {
			if elem[i] == '"' {
				quoted = !quoted
			}
			if quoted || elem[i] != ';' {
				continue
			}
		}
		pair := bytes.TrimSpace(elem[start:i])
		start = i + 1
		eq := bytes.IndexByte(pair, '=')
		if eq < 0 || !isFor(bytes.TrimSpace(pair[:eq])) {
			continue
		}
		v := bytes.TrimSpace(pair[eq+1:])
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		return parseNode(v)
	}
	return netip.Addr{}, false
}

func isFor(name []byte) bool {
	return len(name) == 3 &&
		name[0]|0x20 == 'f' && name[1]|0x20 == 'o' && name[2]|0x20 == 'r'
}
