// Package geo owns the mapping from a visitor's IP address to an ISO 3166-1
// country code, read from a MaxMind DB file (GeoLite2-Country or
// GeoLite2-City, or a compatible GeoIP2/DB-IP database).
//
// Only the country code is decoded; the address is not kept or logged. The
// collector runs without a database too: a nil *DB answers "" (unknown) for
// every address.
//
// The database is read with github.com/oschwald/geoip2-golang/v2. Its
// Country lookup decodes the whole Country record (~0.6 us and one
// allocation here); decoding only "country.iso_code" through the reader
// underneath it would be about four times cheaper, which geoip2-golang does
// not expose.
package geo

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/oschwald/geoip2-golang/v2"
)

// DB looks up countries. It is safe for concurrent use; Close must not be
// called before the last lookup has returned.
type DB struct {
	r *geoip2.Reader
	// city is set for databases with subdivisions (City, Enterprise).
	city bool
}

// Open opens the MaxMind DB file at path (memory-mapped) and checks that it
// holds country data.
func Open(path string) (*DB, error) {
	r, err := geoip2.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open geoip db %s: %w", path, err)
	}
	d, err := newDB(r)
	if err != nil {
		return nil, fmt.Errorf("open geoip db %s: %w", path, err)
	}
	return d, nil
}

// OpenBytes is Open for a database already in memory. b must not be modified
// while the DB is in use.
func OpenBytes(b []byte) (*DB, error) {
	r, err := geoip2.OpenBytes(b)
	if err != nil {
		return nil, fmt.Errorf("open geoip db: %w", err)
	}
	d, err := newDB(r)
	if err != nil {
		return nil, fmt.Errorf("open geoip db: %w", err)
	}
	return d, nil
}

func newDB(r *geoip2.Reader) (*DB, error) {
	if t := r.Metadata().DatabaseType; !hasCountry(t) {
		return nil, errors.Join(
			fmt.Errorf("database type %q has no country data; use a GeoLite2-Country or GeoLite2-City database", t),
			r.Close())
	}
	t := r.Metadata().DatabaseType
	return &DB{r: r, city: strings.Contains(t, "City") || strings.Contains(t, "Enterprise")}, nil
}

// hasCountry reports whether records of a database of type t carry
// country.iso_code: MaxMind's and DB-IP's Country, City and Enterprise
// databases do, ASN, ISP, Domain, Anonymous-IP and Connection-Type ones don't.
func hasCountry(t string) bool {
	return strings.Contains(t, "Country") || strings.Contains(t, "City") ||
		strings.Contains(t, "Enterprise") || strings.Contains(t, "DBIP-Location")
}

// Type returns the database type from the file's metadata, such as
// "GeoLite2-Country", or "" for a nil DB.
func (d *DB) Type() string {
	if d == nil {
		return ""
	}
	return d.r.Metadata().DatabaseType
}

// Close releases the database. It is a no-op on a nil DB.
func (d *DB) Close() error {
	if d == nil {
		return nil
	}
	return d.r.Close()
}

// Country returns the upper-case ISO 3166-1 alpha-2 code of the country ip is
// located in, or "" when it is unknown: no database, an invalid, private,
// loopback, link-local or multicast address, an address missing from the
// database, or a record without a country.
func (d *DB) Country(ip netip.Addr) string {
	if d == nil {
		return ""
	}
	ip = ip.Unmap()
	if !ip.IsGlobalUnicast() || ip.IsPrivate() {
		return ""
	}
	rec, err := d.r.Country(ip)
	if err != nil || rec == nil {
		return ""
	}
	iso := rec.Country.ISOCode
	if !isISOCode(iso) {
		return ""
	}
	return iso
}

// Location returns the country as Country does and, with a City database,
// the ISO 3166-2 code of the first-level subdivision ("DE-BY"), else "".
// Nothing finer (city, postal code, coordinates) is ever read.
func (d *DB) Location(ip netip.Addr) (country, region string) {
	if d == nil || !d.city {
		return d.Country(ip), ""
	}
	ip = ip.Unmap()
	if !ip.IsGlobalUnicast() || ip.IsPrivate() {
		return "", ""
	}
	rec, err := d.r.City(ip)
	if err != nil || rec == nil || !isISOCode(rec.Country.ISOCode) {
		return "", ""
	}
	country = rec.Country.ISOCode
	if len(rec.Subdivisions) > 0 {
		if sub := rec.Subdivisions[0].ISOCode; isSubdivision(sub) {
			region = country + "-" + sub
		}
	}
	return country, region
}

// isSubdivision reports whether s looks like the part of an ISO 3166-2 code
// after the country: one to three letters or digits.
func isSubdivision(s string) bool {
	if len(s) == 0 || len(s) > 3 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// isISOCode reports whether s looks like an ISO 3166-1 alpha-2 code, so that
// a damaged database cannot put arbitrary text into the aggregates.
func isISOCode(s string) bool {
	return len(s) == 2 && 'A' <= s[0] && s[0] <= 'Z' && 'A' <= s[1] && s[1] <= 'Z'
}
