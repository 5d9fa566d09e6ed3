package chsalt_test

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"analytics/collector/visitor"
	"analytics/collector/visitor/chsalt"
	"analytics/schema"
	"analytics/schema/chtest"
)

var (
	day1 = time.Date(2026, 11, 27, 10, 30, 0, 0, time.UTC)
	day2 = time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	ip   = netip.MustParseAddr("198.51.100.7")
	ua   = []byte("Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0")
	key1 = []byte("an installation's salt key, 32+ bytes long")
	key2 = []byte("another installation's salt key, also long")
)

type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock        { c := &clock{}; c.set(t); return c }
func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) set(t time.Time)         { c.ns.Store(t.UnixNano()) }
func visitorKey(s *visitor.Salts) uint64 { return s.Key("example.com", ip, ua) }

func node(t *testing.T, db *schema.DB, c *clock) *visitor.Salts {
	t.Helper()
	s, err := visitor.NewSharedSalts(t.TempDir(), chsalt.New(db), key1, c.now, 5*time.Minute)
	if err != nil {
		t.Fatalf("NewSharedSalts: %v", err)
	}
	return s
}

// partitions lists the active partitions of the salts table, as a dump or
// a query would see them.
func partitions(t *testing.T, db *schema.DB) []string {
	t.Helper()
	rows, err := db.Conn.Query(context.Background(),
		"SELECT DISTINCT partition FROM system.parts WHERE database = ? AND table = 'salts' AND active ORDER BY partition", db.Name)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func TestConcurrentGenesisConverges(t *testing.T) {
	db := chtest.NewDB(t)
	c := newClock(day1)
	nodes := make([]*visitor.Salts, 2)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() {
			s, err := visitor.NewSharedSalts(t.TempDir(), chsalt.New(db), key1, c.now, 0)
			if err != nil {
				t.Error(err)
				return
			}
			nodes[i] = s
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
	if a, b := visitorKey(nodes[0]), visitorKey(nodes[1]); a != b {
		t.Fatalf("nodes disagree after a concurrent start: %x vs %x", a, b)
	}
	if late := node(t, db, c); visitorKey(late) != visitorKey(nodes[0]) {
		t.Error("a node started later disagrees")
	}
}

func TestLifecycle(t *testing.T) {
	db := chtest.NewDB(t)
	c := newClock(day1)
	a := node(t, db, c)
	b := node(t, db, c)
	k1 := visitorKey(a)
	if visitorKey(b) != k1 {
		t.Fatal("two nodes disagree")
	}
	if got := partitions(t, db); !slices.Equal(got, []string{"20261127"}) {
		t.Errorf("partitions %q, want [20261127]", got)
	}
	var n, size uint64
	if err := db.Conn.QueryRow(context.Background(), "SELECT count(), max(length(sealed)) FROM salts").Scan(&n, &size); err != nil {
		t.Fatal(err)
	}
	if n != 1 || size != 45 {
		t.Errorf("%d rows of up to %d bytes, want 1 sealed salt of 45 bytes", n, size)
	}

	c.set(day2.Add(time.Minute))
	if err := a.Rotate(); err != nil {
		t.Fatal(err)
	}
	k2 := visitorKey(a)
	if k2 == k1 || visitorKey(b) != k2 {
		t.Fatal("day 2: key unchanged or nodes disagree")
	}
	if got := partitions(t, db); !slices.Equal(got, []string{"20261127", "20261128"}) {
		t.Errorf("within grace: partitions %q", got)
	}

	c.set(day2.Add(5 * time.Minute))
	if err := b.Rotate(); err != nil {
		t.Fatal(err)
	}
	if got := partitions(t, db); !slices.Equal(got, []string{"20261128"}) {
		t.Errorf("after grace: partitions %q, want [20261128]", got)
	}
	if err := db.Conn.QueryRow(context.Background(), "SELECT count() FROM salts WHERE day < toDate('2026-11-28')").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d rows of day 1 left", n)
	}
	st := a.State()
	if st.Mode != "shared" || !slices.Equal(st.Store, []string{"2026-11-28"}) || !slices.Equal(st.Disk, []string{"2026-11-28"}) {
		t.Errorf("State = %+v", st)
	}
	if restarted := node(t, db, c); visitorKey(restarted) != k2 {
		t.Error("restart on day 2 disagrees")
	}
}

func TestWrongKey(t *testing.T) {
	db := chtest.NewDB(t)
	c := newClock(day1)
	node(t, db, c)
	_, err := visitor.NewSharedSalts(t.TempDir(), chsalt.New(db), key2, c.now, 0)
	if !errors.Is(err, visitor.ErrSaltKeyMismatch) {
		t.Fatalf("error %v, want ErrSaltKeyMismatch", err)
	}
	var n uint64
	if err := db.Conn.QueryRow(context.Background(), "SELECT count() FROM salts").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("%d rows, want 1: a wrong key must not create a salt", n)
	}
}

func TestLazyStoreDown(t *testing.T) {
	c := newClock(day1)
	down := chsalt.NewLazy(func(context.Context) (*schema.DB, error) { return nil, errors.New("connection refused") })
	defer down.Close()
	_, err := visitor.NewSharedSalts(t.TempDir(), down, key1, c.now, 0)
	if err == nil {
		t.Fatal("started without the store and without a copy of today's salt")
	}
}
