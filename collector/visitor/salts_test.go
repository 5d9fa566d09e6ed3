package visitor

import (
	"encoding/binary"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dchest/siphash"
)

// clock is a settable clock for Salts.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.set(t)
	return c
}

func (c *clock) now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *clock) set(t time.Time)     { c.ns.Store(t.UnixNano()) }
func (c *clock) add(d time.Duration) { c.ns.Add(int64(d)) }

var (
	day1 = time.Date(2026, 11, 27, 10, 30, 0, 0, time.UTC)
	day2 = time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)

	ipA = netip.MustParseAddr("198.51.100.7")
	ipB = netip.MustParseAddr("2001:db8::7")
	uaA = []byte("Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0")
	uaB = []byte("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36")
)

func newSalts(t *testing.T, dir string, c *clock) *Salts {
	t.Helper()
	s, err := NewSalts(dir, c.now, 5*time.Minute)
	if err != nil {
		t.Fatalf("NewSalts: %v", err)
	}
	return s
}

func saltFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestKeySameDayAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	c := newClock(day1)
	first := newSalts(t, dir, c).Key("example.com", ipA, uaA)

	c.set(day2.Add(-time.Nanosecond)) // the last instant of day 1
	restarted := newSalts(t, dir, c)
	if got := restarted.Key("example.com", ipA, uaA); got != first {
		t.Errorf("same day after restart: key %x, want %x", got, first)
	}
	if got := saltFiles(t, dir); len(got) != 1 || got[0] != "salt-2026-11-27" {
		t.Errorf("files = %q, want [salt-2026-11-27]", got)
	}
}

func TestKeyChangesWithDay(t *testing.T) {
	dir := t.TempDir()
	c := newClock(day1)
	s := newSalts(t, dir, c)
	before := s.Key("example.com", ipA, uaA)

	// No Rotate: Key must notice the new day by itself.
	c.set(day2)
	after := s.Key("example.com", ipA, uaA)
	if after == before {
		t.Fatal("key did not change with the UTC day")
	}
	if got := s.Key("example.com", ipA, uaA); got != after {
		t.Errorf("second key of the new day %x, want %x", got, after)
	}
	if _, err := os.Stat(filepath.Join(dir, "salt-2026-11-28")); err != nil {
		t.Errorf("new day's salt not saved: %v", err)
	}
	// A restart on the new day agrees.
	if got := newSalts(t, dir, c).Key("example.com", ipA, uaA); got != after {
		t.Errorf("new day after restart: key %x, want %x", got, after)
	}
}

func TestKeyClockGoesBack(t *testing.T) {
	c := newClock(day2.Add(time.Second))
	s := newSalts(t, t.TempDir(), c)
	want := s.Key("example.com", ipA, uaA)
	c.set(day2.Add(-time.Second)) // the clock is stepped back across midnight
	if got := s.Key("example.com", ipA, uaA); got != want {
		t.Errorf("key after the clock went back %x, want %x (salts never go back a day)", got, want)
	}
	if err := s.Rotate(); err != nil {
		t.Fatal(err)
	}
	if got := s.Key("example.com", ipA, uaA); got != want {
		t.Errorf("key after Rotate %x, want %x", got, want)
	}
}

func TestKeyInputs(t *testing.T) {
	s := newSalts(t, t.TempDir(), newClock(day1))
	base := s.Key("example.com", ipA, uaA)
	tests := []struct {
		name string
		site string
		ip   netip.Addr
		ua   []byte
		same bool
	}{
		{name: "same input", site: "example.com", ip: ipA, ua: uaA, same: true},
		{name: "ipv4-mapped address", site: "example.com", ip: netip.AddrFrom16(ipA.As16()), ua: uaA, same: true},
		{name: "other site", site: "example.org", ip: ipA, ua: uaA},
		{name: "other ipv4", site: "example.com", ip: netip.MustParseAddr("198.51.100.8"), ua: uaA},
		{name: "ipv6", site: "example.com", ip: ipB, ua: uaA},
		{name: "other user-agent", site: "example.com", ip: ipA, ua: uaB},
		{name: "empty user-agent", site: "example.com", ip: ipA, ua: nil},
		{name: "site and user-agent boundary", site: "example.co", ip: ipA, ua: append([]byte("m"), uaA...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := s.Key(tt.site, tt.ip, tt.ua)
			if (got == base) != tt.same {
				t.Errorf("Key(%q, %s, ...) = %x, base %x; want same=%v", tt.site, tt.ip, got, base, tt.same)
			}
		})
	}
}

// TestKeyDefinition pins the hashed encoding, which must stay stable within
// a day across versions of the collector running side by side.
func TestKeyDefinition(t *testing.T) {
	dir := t.TempDir()
	s := newSalts(t, dir, newClock(day1))
	raw, err := os.ReadFile(filepath.Join(dir, "salt-2026-11-27"))
	if err != nil {
		t.Fatal(err)
	}
	k0, k1 := binary.LittleEndian.Uint64(raw[:8]), binary.LittleEndian.Uint64(raw[8:])
	for _, tc := range []struct {
		name string
		ua   []byte
	}{
		{"short user-agent", uaA},
		{"user-agent beyond the stack buffer", []byte(strings.Repeat("x", 3*stackInput))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := ipB.As16()
			in := append([]byte("example.com\x00"), a[:]...)
			in = append(in, 0)
			in = append(in, tc.ua...)
			if got, want := s.Key("example.com", ipB, tc.ua), siphash.Hash(k0, k1, in); got != want {
				t.Errorf("Key = %x, want SipHash-2-4(salt, site||0||ip16||0||ua) = %x", got, want)
			}
		})
	}
}

func TestRotateRemovesExpiredSalts(t *testing.T) {
	dir := t.TempDir()
	c := newClock(day1)
	s := newSalts(t, dir, c)
	s.Key("example.com", ipA, uaA)
	// A temporary file left behind by a crash while writing day 1's salt.
	stale := filepath.Join(dir, ".salt-2026-11-27-123456.tmp")
	if err := os.WriteFile(stale, []byte("0123456789abcdef"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Files that are not ours stay.
	other := filepath.Join(dir, "README")
	if err := os.WriteFile(other, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		name    string
		at      time.Time
		want    []string
		oldInMe bool // day 1's salt still held in memory
	}{
		{"during day 1", day1.Add(time.Hour), []string{".salt-2026-11-27-123456.tmp", "README", "salt-2026-11-27"}, false},
		{"midnight", day2, []string{".salt-2026-11-27-123456.tmp", "README", "salt-2026-11-27", "salt-2026-11-28"}, true},
		{"just before grace ends", day2.Add(5*time.Minute - time.Nanosecond), []string{".salt-2026-11-27-123456.tmp", "README", "salt-2026-11-27", "salt-2026-11-28"}, true},
		{"grace over", day2.Add(5 * time.Minute), []string{"README", "salt-2026-11-28"}, false},
		{"two days later", day2.Add(48*time.Hour + 5*time.Minute), []string{"README", "salt-2026-11-30"}, false},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			c.set(st.at)
			if err := s.Rotate(); err != nil {
				t.Fatalf("Rotate: %v", err)
			}
			if got := saltFiles(t, dir); strings.Join(got, ",") != strings.Join(st.want, ",") {
				t.Errorf("files = %q, want %q", got, st.want)
			}
			s.mu.Lock()
			held := s.prev != nil && s.prev.day == unixDay(day1.Unix())
			s.mu.Unlock()
			if held != st.oldInMe {
				t.Errorf("day 1's salt held in memory = %v, want %v", held, st.oldInMe)
			}
		})
	}
}

func TestReplacedSaltIsWiped(t *testing.T) {
	c := newClock(day1)
	s := newSalts(t, t.TempDir(), c)
	old := s.cur.Load()
	c.set(day2.Add(5 * time.Minute))
	if err := s.Rotate(); err != nil {
		t.Fatal(err)
	}
	if old.k0.Load() != 0 || old.k1.Load() != 0 {
		t.Error("day 1's salt is still in memory after its grace period")
	}
}

func TestNewSaltsRemovesExpiredAtStart(t *testing.T) {
	dir := t.TempDir()
	c := newClock(day1)
	newSalts(t, dir, c)
	c.set(day2.Add(time.Hour))
	newSalts(t, dir, c)
	if got := saltFiles(t, dir); len(got) != 1 || got[0] != "salt-2026-11-28" {
		t.Errorf("files = %q, want [salt-2026-11-28]", got)
	}
}

func TestFileModes(t *testing.T) {
	tests := []struct {
		name     string
		existing os.FileMode // 0: directory does not exist yet
	}{
		{"new directory", 0},
		{"existing open directory is restricted", 0o755},
		{"existing private directory", 0o700},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "salts")
			if tt.existing != 0 {
				if err := os.Mkdir(dir, tt.existing); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(dir, tt.existing); err != nil { // past the umask
					t.Fatal(err)
				}
			}
			newSalts(t, dir, newClock(day1))
			fi, err := os.Stat(dir)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != 0o700 {
				t.Errorf("directory mode %o, want 700", got)
			}
			fi, err = os.Stat(filepath.Join(dir, "salt-2026-11-27"))
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != 0o600 {
				t.Errorf("salt file mode %o, want 600", got)
			}
			if fi.Size() != saltSize {
				t.Errorf("salt file size %d, want %d", fi.Size(), saltSize)
			}
		})
	}
}

func TestDamagedSaltFile(t *testing.T) {
	tests := []struct {
		name    string
		content string
	}{
		{"empty", ""},
		{"short", "0123456"},
		{"long", "0123456789abcdef0"},
		{"overwritten with zeros", string(make([]byte, saltSize))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "salt-2026-11-27")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := NewSalts(dir, newClock(day1).now, 0)
			if err == nil {
				t.Fatal("NewSalts succeeded on a damaged salt file")
			}
			for _, want := range []string{path, "damaged", "delete it"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestNewSaltsErrors(t *testing.T) {
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		dir   string
		grace time.Duration
		want  string
	}{
		{"no directory", "", 0, "no directory"},
		{"negative grace", t.TempDir(), -time.Second, "negative grace"},
		{"directory is a file", notDir, 0, "create directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewSalts(tt.dir, nil, tt.grace)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewSalts error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestSharedDirectory(t *testing.T) {
	dir := t.TempDir()
	c := newClock(day1)
	a, b := newSalts(t, dir, c), newSalts(t, dir, c)
	if ka, kb := a.Key("example.com", ipA, uaA), b.Key("example.com", ipA, uaA); ka != kb {
		t.Fatalf("two processes on one directory disagree: %x vs %x", ka, kb)
	}
	// At midnight both switch; whichever writes the new file first wins.
	c.set(day2)
	var wg sync.WaitGroup
	keys := make([]uint64, 16)
	for i := range keys {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() { keys[i] = s.Key("example.com", ipA, uaA) })
	}
	wg.Wait()
	for i, k := range keys {
		if k != keys[0] {
			t.Fatalf("key %d on the new day = %x, want %x like key 0", i, k, keys[0])
		}
	}
}

// TestUnsavedSaltIsRetried makes the new day's file impossible to create
// (a directory is in its way), then possible again.
func TestUnsavedSaltIsRetried(t *testing.T) {
	dir := t.TempDir()
	c := newClock(day1)
	s := newSalts(t, dir, c)
	blocker := filepath.Join(dir, "salt-2026-11-28")
	if err := os.Mkdir(blocker, 0o700); err != nil {
		t.Fatal(err)
	}

	c.set(day2.Add(time.Minute))
	key := s.Key("example.com", ipA, uaA) // must not fail or block
	if err := s.Rotate(); err == nil {
		t.Fatal("Rotate did not report the unsaved salt")
	}
	if got := s.Key("example.com", ipA, uaA); got != key {
		t.Fatalf("key changed while unsaved: %x, want %x", got, key)
	}

	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	if err := s.Rotate(); err != nil {
		t.Fatalf("Rotate after the obstacle is gone: %v", err)
	}
	if got := newSalts(t, dir, c).Key("example.com", ipA, uaA); got != key {
		t.Errorf("after restart: key %x, want the key of the salt saved late %x", got, key)
	}
}

// TestUnsavedSaltAdoptsOtherProcess: while this process could not save its
// salt, another one sharing the directory saved its own; this one adopts it.
func TestUnsavedSaltAdoptsOtherProcess(t *testing.T) {
	dir := t.TempDir()
	c := newClock(day1)
	s := newSalts(t, dir, c)
	path := filepath.Join(dir, "salt-2026-11-28")
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	c.set(day2.Add(time.Minute))
	unsaved := s.Key("example.com", ipA, uaA)

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	other := newSalts(t, dir, c) // the other process
	want := other.Key("example.com", ipA, uaA)
	if err := s.Rotate(); err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	got := s.Key("example.com", ipA, uaA)
	if got != want || got == unsaved {
		t.Errorf("key after Rotate %x, want the other process's %x (unsaved one was %x)", got, want, unsaved)
	}
}

func TestKeyConcurrentWithRotate(t *testing.T) {
	c := newClock(day1)
	s := newSalts(t, t.TempDir(), c)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					s.Key("example.com", ipA, uaA)
				}
			}
		})
	}
	for range 50 {
		c.add(time.Hour)
		if err := s.Rotate(); err != nil {
			t.Error(err)
		}
	}
	close(stop)
	wg.Wait()
}

func TestUnixDay(t *testing.T) {
	tests := []struct {
		name string
		at   time.Time
		want int64
	}{
		{"epoch", time.Unix(0, 0), 0},
		{"last second of day 0", time.Unix(secondsDay-1, 0), 0},
		{"day 1", time.Unix(secondsDay, 0), 1},
		{"before epoch", time.Unix(-1, 0), -1},
		{"local time zone does not matter", time.Date(2026, 11, 28, 0, 30, 0, 0, time.FixedZone("CET", 3600)), unixDay(day1.Unix())},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := unixDay(tt.at.Unix()); got != tt.want {
				t.Errorf("unixDay(%s) = %d, want %d", tt.at, got, tt.want)
			}
		})
	}
}

var sink uint64

func BenchmarkKey(b *testing.B) {
	c := newClock(day1)
	s, err := NewSalts(b.TempDir(), c.now, 0)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		ip   netip.Addr
		ua   []byte
	}{
		{"ua=firefox", ipA, uaA},
		{"ua=chrome/ip=v6", ipB, uaB},
		{"ua=oversized", ipA, []byte(strings.Repeat("x", 2*stackInput))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sink = s.Key("example.com", bc.ip, bc.ua)
			}
		})
	}
}

func BenchmarkKeyWallClock(b *testing.B) {
	s, err := NewSalts(b.TempDir(), nil, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		sink = s.Key("example.com", ipA, uaB)
	}
}
