package visitor

import (
	"net/netip"
	"sync"

	"github.com/dchest/siphash"
)

// stackInput is the input size hashed from a stack buffer: a domain, an
// address and a browser's User-Agent (100 to 300 bytes) fit. Longer inputs
// use a pooled buffer. A larger array would cost more to zero on every call.
const stackInput = 512

var inputPool = sync.Pool{New: func() any { return new([]byte) }}

// hash computes SipHash-2-4 keyed by (k0, k1) over
//
//	site || 0x00 || ip as 16 bytes || 0x00 || ua
//
// IPv4 addresses are hashed in their IPv4-mapped IPv6 form, so 1.2.3.4 and
// ::ffff:1.2.3.4 get the same key; zones are ignored. Sites are domain names
// and cannot contain 0x00, which makes the encoding unambiguous.
func hash(k0, k1 uint64, site string, ip netip.Addr, ua []byte) uint64 {
	n := len(site) + 1 + 16 + 1 + len(ua)
	if n <= stackInput {
		var buf [stackInput]byte
		return siphash.Hash(k0, k1, appendInput(buf[:0], site, ip, ua))
	}
	p := inputPool.Get().(*[]byte)
	b := appendInput((*p)[:0], site, ip, ua)
	h := siphash.Hash(k0, k1, b)
	clear(b) // the buffer held a User-Agent and an address
	*p = b
	inputPool.Put(p)
	return h
}

func appendInput(b []byte, site string, ip netip.Addr, ua []byte) []byte {
	a := ip.As16()
	b = append(b, site...)
	b = append(b, 0)
	b = append(b, a[:]...)
	b = append(b, 0)
	return append(b, ua...)
}
