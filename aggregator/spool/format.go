package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"time"

	"analytics/aggregator"
	"analytics/aggregator/vitals"
	"analytics/schema"
)

// The file format (see docs/spool.md):
//
//	file    = magic record*
//	magic   = "ANSPOOL1"
//	record  = uvarint(len(body)) body crc32c(body) as 4 bytes little endian
//	body    = str(site) varint(hour unix seconds) str(dimension) str(goal)
//	          str(value) str(writer) uvarint(ver) uvarint(pageviews)
//	          uvarint(events) uvarint(engagements) uvarint(scroll_sum)
//	          uvarint(engaged_ms) uvarint(visits) uvarint(bounces)
//	          uvarint(duration) str(sketch) [vitals]
//	vitals  = uvarint(good) uvarint(poor) uvarint(n) (uvarint(bucket) uvarint(count))*n
//	str     = uvarint(len) bytes
//
// The vitals part is present only in rows of web vitals histograms
// (schema.IsVitals dimensions); files written before it existed decode
// unchanged.
//
// A record holds exactly an aggregator.Row: aggregates and a HyperLogLog
// sketch, never a visitor key, IP address or User-Agent.
const magic = "ANSPOOL1"

// maxRecord bounds one record: a dense sketch is 16 KiB, strings are capped
// far below this by the collector.
const maxRecord = 1 << 20

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// ErrCorrupt marks a spool file that cannot be decoded.
var ErrCorrupt = errors.New("corrupt spool file")

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendRecord(b []byte, r *aggregator.Row) []byte {
	var body []byte
	body = appendStr(body, r.Site)
	body = binary.AppendVarint(body, r.Hour.Unix())
	body = appendStr(body, r.Dimension)
	body = appendStr(body, r.Goal)
	body = appendStr(body, r.Value)
	body = appendStr(body, r.Writer)
	for _, v := range [...]uint64{r.Ver, r.Pageviews, r.Events, r.Engagements, r.ScrollSum, r.EngagedMS, r.Visits, r.Bounces, r.Duration} {
		body = binary.AppendUvarint(body, v)
	}
	body = binary.AppendUvarint(body, uint64(len(r.Sketch)))
	body = append(body, r.Sketch...)
	if schema.IsVitals(r.Dimension) {
		body = binary.AppendUvarint(body, r.Good)
		body = binary.AppendUvarint(body, r.Poor)
		body = binary.AppendUvarint(body, uint64(len(r.Hist)))
		for _, bin := range r.Hist {
			body = binary.AppendUvarint(body, uint64(bin.Index))
			body = binary.AppendUvarint(body, bin.Count)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(body)))
	b = append(b, body...)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(body, crcTable))
}

// encode returns the file contents for rows.
func encode(rows []aggregator.Row) []byte {
	b := make([]byte, 0, 64+len(rows)*128)
	b = append(b, magic...)
	for i := range rows {
		b = appendRecord(b, &rows[i])
	}
	return b
}

type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = ErrCorrupt
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = ErrCorrupt
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = ErrCorrupt
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

// decode parses a whole spool file. Any damage (bad magic, a truncated or
// oversized record, a checksum mismatch, trailing bytes) is ErrCorrupt: the
// caller keeps the file aside rather than replay part of it.
func decode(data []byte) ([]aggregator.Row, error) {
	if len(data) < len(magic) || string(data[:len(magic)]) != magic {
		return nil, fmt.Errorf("%w: bad header", ErrCorrupt)
	}
	data = data[len(magic):]
	var rows []aggregator.Row
	for len(data) > 0 {
		n, k := binary.Uvarint(data)
		if k <= 0 || n > maxRecord || uint64(len(data)-k) < n+4 {
			return nil, fmt.Errorf("%w: truncated record %d", ErrCorrupt, len(rows))
		}
		body := data[k : k+int(n)]
		sum := binary.LittleEndian.Uint32(data[k+int(n):])
		if crc32.Checksum(body, crcTable) != sum {
			return nil, fmt.Errorf("%w: checksum of record %d", ErrCorrupt, len(rows))
		}
		data = data[k+int(n)+4:]
		r := reader{b: body}
		var row aggregator.Row
		row.Site = string(r.bytes())
		row.Hour = time.Unix(r.varint(), 0).UTC()
		row.Dimension = string(r.bytes())
		row.Goal = string(r.bytes())
		row.Value = string(r.bytes())
		row.Writer = string(r.bytes())
		row.Ver = r.uvarint()
		row.Pageviews = r.uvarint()
		row.Events = r.uvarint()
		row.Engagements = r.uvarint()
		row.ScrollSum = r.uvarint()
		row.EngagedMS = r.uvarint()
		row.Visits = r.uvarint()
		row.Bounces = r.uvarint()
		row.Duration = r.uvarint()
		row.Sketch = append([]byte(nil), r.bytes()...)
		if schema.IsVitals(row.Dimension) {
			row.Good = r.uvarint()
			row.Poor = r.uvarint()
			n := r.uvarint()
			if n > vitals.NumBuckets {
				return nil, fmt.Errorf("%w: record %d: %d histogram buckets", ErrCorrupt, len(rows), n)
			}
			row.Hist = make(vitals.Hist, 0, n)
			for range n {
				i, c := r.uvarint(), r.uvarint()
				if i >= vitals.NumBuckets {
					return nil, fmt.Errorf("%w: record %d: bucket %d", ErrCorrupt, len(rows), i)
				}
				row.Hist = append(row.Hist, vitals.Bin{Index: uint16(i), Count: c})
			}
		}
		if r.err != nil || len(r.b) != 0 {
			return nil, fmt.Errorf("%w: record %d", ErrCorrupt, len(rows))
		}
		rows = append(rows, row)
	}
	return rows, nil
}
