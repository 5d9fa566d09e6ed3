package spool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"analytics/aggregator"
	"analytics/aggregator/vitals"
)

// switchable stands for a store that can be made to fail, as ClickHouse
// does in an outage; it keeps the newest version of each row like
// ReplacingMergeTree. The real outage, with ClickHouse stopped, is tested
// end to end in the analytics package.
type switchable struct {
	mu     sync.Mutex
	down   bool
	rows   map[rowKey]aggregator.Row
	writes int
}

func (s *switchable) Write(_ context.Context, rows []aggregator.Row) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return errors.New("connection refused")
	}
	if s.rows == nil {
		s.rows = map[rowKey]aggregator.Row{}
	}
	for _, r := range rows {
		k := rowKey{r.Site, r.Hour.Unix(), r.Dimension, r.Goal, r.Value, r.Writer}
		if old, ok := s.rows[k]; !ok || r.Ver > old.Ver {
			s.rows[k] = r
		}
	}
	s.writes++
	return nil
}

func (s *switchable) set(down bool) {
	s.mu.Lock()
	s.down = down
	s.mu.Unlock()
}

func (s *switchable) total(value string) (pv uint64, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, r := range s.rows {
		if k.value == value {
			pv += r.Pageviews
			n++
		}
	}
	return pv, n
}

func row(value string, ver, pageviews uint64) aggregator.Row {
	return aggregator.Row{Site: "a.com", Hour: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC), Dimension: "event:page",
		Value: value, Writer: "w1", Ver: ver, Pageviews: pageviews, Events: pageviews, Visits: 1, Sketch: []byte{1, 2, 3}}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestRoundTrip(t *testing.T) {
	rows := []aggregator.Row{row("/", 1, 5), row("/ü", 2, 7), {Site: "b", Hour: time.Unix(0, 0).UTC()}}
	rows[1].Goal, rows[1].Duration, rows[1].EngagedMS = "Signup", 99, 1<<40
	rows = append(rows, aggregator.Row{Site: "a.com", Hour: time.Unix(3600, 0).UTC(), Dimension: "vitals:page", Goal: "lcp",
		Value: "/", Writer: "w1", Ver: 3, Events: 9, Good: 5, Poor: 1,
		Hist: vitals.Hist{{Index: 0, Count: 1}, {Index: 90, Count: 7}, {Index: 239, Count: 1}}})
	got, err := decode(encode(rows))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, rows) {
		t.Fatalf("round trip:\n%+v\n%+v", got, rows)
	}
}

func TestDecodeRejectsDamage(t *testing.T) {
	good := encode([]aggregator.Row{row("/a", 1, 1), row("/b", 2, 2)})
	for name, data := range map[string][]byte{
		"empty":      nil,
		"bad magic":  append([]byte("XNSPOOL1"), good[8:]...),
		"truncated":  good[:len(good)-3],
		"bit flip":   func() []byte { b := bytes.Clone(good); b[20] ^= 1; return b }(),
		"extra byte": append(bytes.Clone(good), 0),
	} {
		if _, err := decode(data); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: err %v, want ErrCorrupt", name, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(encode([]aggregator.Row{row("/a", 1, 1)}))
	f.Add(encode(nil))
	f.Add([]byte(magic + "\xff\xff\xff\xff\x0f"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := decode(data)
		if err != nil {
			return
		}
		again, err := decode(encode(rows))
		if err != nil || len(again) != len(rows) {
			t.Fatalf("re-encoding a decoded file: %v", err)
		}
	})
}

func newSpool(t *testing.T, st aggregator.Store, dir string, maxBytes int64) *Spool {
	t.Helper()
	s, err := New(st, Options{Dir: dir, MaxBytes: maxBytes, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestOutageSpoolsAndReplaysExactly(t *testing.T) {
	st := &switchable{}
	dir := t.TempDir()
	s := newSpool(t, st, dir, 1<<20)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)

	st.set(true)
	for ver := uint64(1); ver <= 20; ver++ { // cumulative: version v has v pageviews
		if err := s.Write(ctx, []aggregator.Row{row("/x", ver, ver)}); err != nil {
			t.Fatalf("write during outage: %v", err)
		}
	}
	if state := s.State(); state.StoreErr == nil || state.Files == 0 || state.Bytes == 0 {
		t.Fatalf("state during outage: %+v", state)
	}
	for _, e := range mustReadDir(t, dir) {
		info, _ := os.Stat(filepath.Join(dir, e))
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", e, info.Mode().Perm())
		}
	}
	st.set(false)
	waitFor(t, "replay", func() bool { return s.State().Files == 0 })
	if pv, n := st.total("/x"); pv != 20 || n != 1 {
		t.Fatalf("after replay: %d pageviews in %d rows, want the newest version only: 20 in 1", pv, n)
	}
	if state := s.State(); state.StoreErr != nil || state.Bytes != 0 {
		t.Fatalf("state after replay: %+v", state)
	}
	if files := mustReadDir(t, dir); len(files) != 0 {
		t.Fatalf("files left: %v", files)
	}
}

func TestBoundedWithCompaction(t *testing.T) {
	st := &switchable{down: true}
	dir := t.TempDir()
	one := int64(len(encode([]aggregator.Row{row("/x", 1, 1)})))
	s := newSpool(t, st, dir, 3*one+one/2)
	ctx := context.Background()
	// The same row over and over: compaction keeps one version, so it fits.
	for ver := uint64(1); ver <= 50; ver++ {
		if err := s.Write(ctx, []aggregator.Row{row("/x", ver, ver)}); err != nil {
			t.Fatalf("write %d: %v", ver, err)
		}
	}
	if st := s.State(); st.Bytes > st.MaxBytes {
		t.Fatalf("spool over its bound: %+v", st)
	}
	// Distinct rows cannot be compacted away: the spool says it is full.
	var err error
	for i := 0; i < 10 && err == nil; i++ {
		err = s.Write(ctx, []aggregator.Row{row(fmt.Sprint("/y", i), 1, 1)})
	}
	if !errors.Is(err, ErrFull) || !s.State().Full {
		t.Fatalf("err %v, state %+v: want ErrFull", err, s.State())
	}
	// Once the store takes writes again, the spool is no longer full.
	st.set(false)
	if err := s.Write(ctx, []aggregator.Row{row("/z", 1, 1)}); err != nil || s.State().Full {
		t.Fatalf("after the store came back: err %v, state %+v", err, s.State())
	}
	// A new process replays what the first one left behind.
	s2 := newSpool(t, st, dir, 1<<20)
	ctx2, cancel := context.WithCancel(ctx)
	defer cancel()
	go s2.Run(ctx2)
	waitFor(t, "replay by a new process", func() bool { return s2.State().Files == 0 })
	if pv, _ := st.total("/x"); pv != 50 {
		t.Fatalf("replayed /x: %d pageviews, want 50", pv)
	}
}

func TestCorruptFileIsKeptAside(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, fileName(1)), []byte("garbage"), 0o600)
	os.WriteFile(filepath.Join(dir, fileName(2)), encode([]aggregator.Row{row("/ok", 1, 3)}), 0o600)
	st := &switchable{}
	s := newSpool(t, st, dir, 1<<20)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	waitFor(t, "replay", func() bool { return s.State().Files == 0 })
	if pv, _ := st.total("/ok"); pv != 3 {
		t.Fatalf("good file not replayed: %d", pv)
	}
	if _, err := os.Stat(filepath.Join(dir, fileName(1)+".corrupt")); err != nil {
		t.Fatalf("corrupt file not kept aside: %v", err)
	}
}

func TestInterruptedCompactionRecovers(t *testing.T) {
	dir := t.TempDir()
	// A crash after the merged file was written and one original deleted.
	os.WriteFile(filepath.Join(dir, fileName(2)+".merged"), encode([]aggregator.Row{row("/a", 2, 2), row("/b", 1, 1)}), 0o600)
	os.WriteFile(filepath.Join(dir, fileName(2)), encode([]aggregator.Row{row("/b", 1, 1)}), 0o600)
	os.WriteFile(filepath.Join(dir, fileName(3)+".tmp"), []byte("half"), 0o600)
	st := &switchable{}
	s := newSpool(t, st, dir, 1<<20)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	waitFor(t, "replay", func() bool { return s.State().Files == 0 })
	if pv, _ := st.total("/a"); pv != 2 {
		t.Fatalf("/a: %d", pv)
	}
	if files := mustReadDir(t, dir); len(files) != 0 {
		t.Fatalf("files left: %v", files)
	}
}

func mustReadDir(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}
