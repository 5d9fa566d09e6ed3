package pathtmpl

import (
	"errors"
	"fmt"
	"strings"
)

// pattern is a compiled Keep pattern or Rule.Scope (syntax in the package
// documentation).
type pattern struct {
	frag bool     // matches the hash route, not the path
	segs []patSeg // matched against the first segments
	rest bool     // once segs matched, every later segment is covered
}

type patSeg struct {
	lit string // when !any: the segment it matches
	any bool   // '*'
}

func parsePattern(s string) (pattern, error) {
	var p pattern
	if s == "" {
		return p, errors.New("empty pattern")
	}
	body := s
	switch s[0] {
	case '/':
	case '#':
		p.frag = true
		body = s[1:]
	default:
		return p, errors.New(`must start with '/' (the path) or '#' (the hash route), e.g. "/blog/*" or "#/blog/*"`)
	}
	if strings.ContainsAny(body, "#?") {
		return p, errors.New(`'?' and '#' are not allowed after the start: paths have no query, and "#/route" matches the hash route of any page`)
	}
	body = strings.TrimSuffix(body, "/")
	if p.frag && body == "" {
		p.rest = true // "#" and "#/": every route
		return p, nil
	}
	parts := strings.Split(body, "/")
	if len(parts) > maxPatternSegs {
		return p, fmt.Errorf("%d segments, at most %d are allowed", len(parts), maxPatternSegs)
	}
	wild := false
	for i, part := range parts {
		switch {
		case part == "**":
			if i != len(parts)-1 {
				return p, errors.New(`"**" is allowed only as the last segment`)
			}
			p.rest = true
			wild = true
		case part == "*":
			p.segs = append(p.segs, patSeg{any: true})
			wild = true
		case strings.Contains(part, "*"):
			return p, fmt.Errorf(`segment %q: '*' must be a whole segment ("*" or "**")`, part)
		default:
			p.segs = append(p.segs, patSeg{lit: part})
		}
	}
	if !wild {
		p.rest = true // a prefix
	}
	return p, nil
}
