package visitor

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// memStore is a SaltStore in memory, for the lifecycle tests; chsalt has the
// ClickHouse one and its own tests.
type memStore struct {
	mu   sync.Mutex
	rows map[int64][][]byte
	down error // every call fails with it while set
}

func newMemStore() *memStore { return &memStore{rows: map[int64][][]byte{}} }

func (m *memStore) Load(_ context.Context, day time.Time) ([][]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down != nil {
		return nil, m.down
	}
	out := slices.Clone(m.rows[unixDay(day.Unix())])
	slices.SortFunc(out, bytes.Compare)
	return out, nil
}

func (m *memStore) Store(_ context.Context, day time.Time, sealed []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down != nil {
		return m.down
	}
	d := unixDay(day.Unix())
	m.rows[d] = append(m.rows[d], slices.Clone(sealed))
	return nil
}

func (m *memStore) Days(context.Context) ([]time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down != nil {
		return nil, m.down
	}
	var out []time.Time
	for d := range m.rows {
		out = append(out, dayTime(d))
	}
	slices.SortFunc(out, time.Time.Compare)
	return out, nil
}

func (m *memStore) DropBefore(_ context.Context, day time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down != nil {
		return m.down
	}
	for d := range m.rows {
		if d < unixDay(day.Unix()) {
			delete(m.rows, d)
		}
	}
	return nil
}

func (m *memStore) setDown(err error) {
	m.mu.Lock()
	m.down = err
	m.mu.Unlock()
}

func (m *memStore) days() []string {
	days, _ := m.Days(context.Background())
	var out []string
	for _, d := range days {
		out = append(out, d.Format(time.DateOnly))
	}
	return out
}

func (m *memStore) all() [][]byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out [][]byte
	for _, rows := range m.rows {
		out = append(out, rows...)
	}
	return out
}

var (
	saltKey1 = []byte("0123456789abcdef0123456789abcdef-installation-one")
	saltKey2 = []byte("0123456789abcdef0123456789abcdef-installation-two")
)

func TestMain(m *testing.M) {
	genesisSettle = 10 * time.Millisecond
	os.Exit(m.Run())
}

func newShared(t *testing.T, dir string, st SaltStore, c *clock) *Salts {
	t.Helper()
	s, err := NewSharedSalts(dir, st, saltKey1, c.now, 5*time.Minute)
	if err != nil {
		t.Fatalf("NewSharedSalts: %v", err)
	}
	return s
}

func key(s *Salts) uint64 { return s.Key("example.com", ipA, uaA) }

func TestSharedSameDayAcrossRestartAndNodes(t *testing.T) {
	st := newMemStore()
	c := newClock(day1)
	dirA := t.TempDir()
	a := newShared(t, dirA, st, c)
	b := newShared(t, t.TempDir(), st, c) // another node
	if key(a) != key(b) {
		t.Fatalf("two nodes disagree: %x vs %x", key(a), key(b))
	}
	c.set(day2.Add(-time.Nanosecond))
	restarted := newShared(t, dirA, st, c)
	if key(restarted) != key(a) {
		t.Errorf("after restart: %x, want %x", key(restarted), key(a))
	}
	if got := st.days(); !slices.Equal(got, []string{"2026-11-27"}) {
		t.Errorf("store days %q, want [2026-11-27]", got)
	}
	if n := len(st.all()); n != 1 {
		t.Errorf("store holds %d rows, want 1 (no node created a salt of its own)", n)
	}
}

func TestSharedNextDay(t *testing.T) {
	st := newMemStore()
	c := newClock(day1)
	dirA := t.TempDir()
	a := newShared(t, dirA, st, c)
	b := newShared(t, t.TempDir(), st, c)
	k1 := key(a)
	day1Salt := a.cur.Load().bytes()

	c.set(day2.Add(time.Second))
	kb := key(b) // b switches on its own, before any Rotate, without the store
	if err := a.Rotate(); err != nil {
		t.Fatal(err)
	}
	ka := key(a)
	if ka == k1 {
		t.Fatal("key did not change with the day")
	}
	if ka != kb {
		t.Fatalf("nodes disagree on day 2: %x vs %x", ka, kb)
	}
	if c := newShared(t, t.TempDir(), st, c); key(c) != ka {
		t.Errorf("a node started on day 2 gets %x, want %x", key(c), ka)
	}
	// The day 2 salt is the ratchet of day 1's, and nothing else.
	base, _ := saltFrom(unixDay(day1.Unix()), day1Salt)
	want := ratchet(base, unixDay(day2.Unix())).bytes()
	if got := a.cur.Load().bytes(); got != want {
		t.Error("day 2's salt is not the ratchet of day 1's")
	}
	if got := ratchet(base, unixDay(day2.Unix())+1).bytes(); got != ratchet(ratchet(base, unixDay(day2.Unix())), unixDay(day2.Unix())+1).bytes() {
		t.Error("ratcheting two days differs from ratcheting twice")
	}
}

// TestSharedRotationLeavesOnlyToday: after rotation the data dir holds only
// the new day; after the grace period memory and store do too.
func TestSharedRotationLeavesOnlyToday(t *testing.T) {
	st := newMemStore()
	c := newClock(day1)
	dir := t.TempDir()
	s := newShared(t, dir, st, c)
	old := s.cur.Load()

	steps := []struct {
		name               string
		at                 time.Time
		memory, disk, stor []string
	}{
		{"day 1", day1.Add(time.Hour), []string{"2026-11-27"}, []string{"2026-11-27"}, []string{"2026-11-27"}},
		{"midnight", day2, []string{"2026-11-27", "2026-11-28"}, []string{"2026-11-28"}, []string{"2026-11-27", "2026-11-28"}},
		{"grace over", day2.Add(5 * time.Minute), []string{"2026-11-28"}, []string{"2026-11-28"}, []string{"2026-11-28"}},
		{"three days later", day2.Add(72*time.Hour + 5*time.Minute), []string{"2026-12-01"}, []string{"2026-12-01"}, []string{"2026-12-01"}},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			c.set(step.at)
			if err := s.Rotate(); err != nil {
				t.Fatal(err)
			}
			got := s.State()
			if got.Mode != "shared" || got.StoreError != "" {
				t.Errorf("mode %q, store error %q", got.Mode, got.StoreError)
			}
			if !slices.Equal(got.Memory, step.memory) || !slices.Equal(got.Disk, step.disk) || !slices.Equal(got.Store, step.stor) {
				t.Errorf("memory %q disk %q store %q, want %q %q %q", got.Memory, got.Disk, got.Store, step.memory, step.disk, step.stor)
			}
		})
	}
	if old.k0.Load() != 0 || old.k1.Load() != 0 {
		t.Error("day 1's salt is still in memory")
	}
}

func TestSharedRestartAcrossMidnight(t *testing.T) {
	st := newMemStore()
	c := newClock(day1)
	dir := t.TempDir()
	running := newShared(t, t.TempDir(), st, c)
	stopped := newShared(t, dir, st, c)
	_ = stopped // stops during day 1

	c.set(day2.Add(2 * time.Minute))
	restarted := newShared(t, dir, st, c) // its file is yesterday's; the store has day 1 only
	if key(restarted) != key(running) {
		t.Errorf("restart after midnight: %x, want %x", key(restarted), key(running))
	}
	if got := saltFiles(t, dir); !slices.Equal(got, []string{"salt-2026-11-28"}) {
		t.Errorf("files %q, want only today's", got)
	}

	// Every node was down for days: the store still has day 1; a node
	// ratchets forward from it and drops it.
	c.set(day2.Add(72 * time.Hour))
	later := newShared(t, dir, st, c)
	base := newShared(t, t.TempDir(), st, c)
	if key(later) != key(base) {
		t.Error("nodes disagree after a long outage")
	}
	if got := st.days(); !slices.Equal(got, []string{"2026-12-01"}) {
		t.Errorf("store days %q, want [2026-12-01]", got)
	}
}

func TestSharedWrongKey(t *testing.T) {
	st := newMemStore()
	c := newClock(day1)
	newShared(t, t.TempDir(), st, c)
	_, err := NewSharedSalts(t.TempDir(), st, saltKey2, c.now, 0)
	if !errors.Is(err, ErrSaltKeyMismatch) {
		t.Fatalf("error %v, want ErrSaltKeyMismatch", err)
	}
	for _, want := range []string{"ANALYTICS_SALT_KEY", "same key", "TRUNCATE TABLE salts"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if n := len(st.all()); n != 1 {
		t.Errorf("store holds %d rows, want 1: a wrong key must not start a salt of its own", n)
	}

	// The same at rotation: a node with the right key stored day 2, a
	// node with another key cannot switch to it.
	c.set(day2)
	newShared(t, t.TempDir(), st, c)
	if _, err := NewSharedSalts(t.TempDir(), st, saltKey2, c.now, 0); !errors.Is(err, ErrSaltKeyMismatch) {
		t.Errorf("day 2: error %v, want ErrSaltKeyMismatch", err)
	}
}

func TestSharedSaltKeyTooShort(t *testing.T) {
	_, err := NewSharedSalts(t.TempDir(), newMemStore(), []byte("short"), nil, 0)
	if err == nil || !strings.Contains(err.Error(), "at least 32") || strings.Contains(err.Error(), "short") {
		t.Errorf("error %v, want one about the length that does not echo the key", err)
	}
}

// TestSharedNoRawSalt: neither the store nor the data dir holds the salt,
// or half of it, in clear; files are private.
func TestSharedNoRawSalt(t *testing.T) {
	st := newMemStore()
	c := newClock(day1)
	dir := t.TempDir()
	s := newShared(t, dir, st, c)
	c.set(day2)
	if err := s.Rotate(); err != nil {
		t.Fatal(err)
	}
	var raws [][]byte
	for _, k := range []*salt{s.prev, s.cur.Load()} {
		b := k.bytes()
		raws = append(raws, b[:], b[:8], b[8:])
	}
	blobs := st.all()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %o, want 600", e.Name(), fi.Mode().Perm())
		}
		blobs = append(blobs, b)
	}
	if len(blobs) != 3 { // day 1 and 2 in the store, day 2 on disk
		t.Fatalf("%d sealed values, want 3", len(blobs))
	}
	for _, blob := range blobs {
		if len(blob) != sealedSize {
			t.Errorf("sealed value of %d bytes, want %d", len(blob), sealedSize)
		}
		for _, raw := range raws {
			if bytes.Contains(blob, raw) {
				t.Fatal("a sealed value contains salt bytes in clear")
			}
		}
	}
}

func TestSharedStoreDown(t *testing.T) {
	st := newMemStore()
	c := newClock(day1)
	dir := t.TempDir()
	want := key(newShared(t, dir, st, c))

	st.setDown(errors.New("connection refused"))
	s := newShared(t, dir, st, c) // today's copy in the data dir
	if key(s) != want {
		t.Errorf("started from the data dir: %x, want %x", key(s), want)
	}
	if err := s.Rotate(); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("Rotate with the store down: %v", err)
	}
	if _, err := NewSharedSalts(t.TempDir(), st, saltKey1, c.now, 0); err == nil || !strings.Contains(err.Error(), "when ClickHouse answers") {
		t.Errorf("no copy, store down: %v", err)
	}

	// Past midnight, yesterday's copy is no good either.
	c.set(day2.Add(time.Hour))
	if _, err := NewSharedSalts(dir, st, saltKey1, c.now, 0); err == nil {
		t.Error("started on yesterday's copy with the store down")
	}
	// s ran through midnight on its own; the store catches up.
	k2 := key(s)
	st.setDown(nil)
	if err := s.Rotate(); err != nil {
		t.Fatal(err)
	}
	if key(s) != k2 || key(newShared(t, t.TempDir(), st, c)) != k2 {
		t.Error("the day 2 salt derived offline differs from the store's")
	}
}

// TestSharedGenesisRace: nodes that start at once on an empty store
// converge on one salt.
func TestSharedGenesisRace(t *testing.T) {
	for i := range 20 {
		st := newMemStore()
		c := newClock(day1)
		nodes := make([]*Salts, 4)
		var wg sync.WaitGroup
		for n := range nodes {
			wg.Go(func() {
				s, err := NewSharedSalts(t.TempDir(), st, saltKey1, c.now, 0)
				if err != nil {
					t.Error(err)
					return
				}
				nodes[n] = s
			})
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		for _, s := range nodes {
			if err := s.Rotate(); err != nil {
				t.Fatal(err)
			}
		}
		for n, s := range nodes {
			if key(s) != key(nodes[0]) {
				t.Fatalf("round %d: node %d has key %x, node 0 %x", i, n, key(s), key(nodes[0]))
			}
		}
	}
}

func TestLocalState(t *testing.T) {
	c := newClock(day1)
	s := newSalts(t, t.TempDir(), c)
	c.set(day2)
	if err := s.Rotate(); err != nil {
		t.Fatal(err)
	}
	got := s.State()
	want := []string{"2026-11-27", "2026-11-28"}
	if got.Mode != "local" || got.Day != "2026-11-28" || !slices.Equal(got.Memory, want) || !slices.Equal(got.Disk, want) || got.Store != nil {
		t.Errorf("State = %+v", got)
	}
}

func TestGraceMinimum(t *testing.T) {
	if _, err := NewSalts(t.TempDir(), nil, time.Second); err == nil || !strings.Contains(err.Error(), "minimum") {
		t.Errorf("grace 1s: %v", err)
	}
}

// TestLocalToShared: a node switched from local to shared mode replaces
// today's salt in clear by the shared one, sealed.
func TestLocalToShared(t *testing.T) {
	dir := t.TempDir()
	c := newClock(day1)
	local := newSalts(t, dir, c)
	raw := local.cur.Load().bytes()
	s := newShared(t, dir, newMemStore(), c)
	if key(s) == key(local) {
		t.Error("shared mode kept the local salt")
	}
	b, err := os.ReadFile(filepath.Join(dir, "salt-2026-11-27"))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != sealedSize || bytes.Contains(b, raw[:8]) || bytes.Contains(b, raw[8:]) {
		t.Errorf("salt file of %d bytes, want a sealed salt without the old one", len(b))
	}
}
