package memo

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
)

func TestGetPut(t *testing.T) {
	m := New(256)
	k := m.Key([]byte("https://example.com/pricing?utm_source=x"))
	if k != m.KeyString("https://example.com/pricing?utm_source=x") {
		t.Fatal("Key and KeyString differ")
	}
	if out, ok := m.Get([]byte("pre"), k); ok || string(out) != "pre" {
		t.Fatalf("empty table: %q, %v", out, ok)
	}
	m.Put(k, []byte("example.com/pricing"))
	out, ok := m.Get([]byte("pre:"), k)
	if !ok || string(out) != "pre:example.com/pricing" {
		t.Fatalf("got %q, %v", out, ok)
	}
	if h, m := m.Stats(); h != 1 || m != 1 {
		t.Fatalf("Stats() = %d hits, %d misses; want 1, 1", h, m)
	}
	// The table keeps a copy: changing the caller's buffer changes nothing.
	val := []byte("first")
	m.Put(k, val)
	copy(val, "XXXXX")
	if out, _ := m.Get(nil, k); string(out) != "first" {
		t.Fatalf("got %q after the caller's buffer changed", out)
	}
	// An empty value is a value.
	e := m.KeyString("")
	m.Put(e, nil)
	if out, ok := m.Get(nil, e); !ok || len(out) != 0 {
		t.Fatalf("empty value: %q, %v", out, ok)
	}
	// Too large: not kept.
	big := m.KeyString("big")
	m.Put(big, make([]byte, MaxValue+1))
	if _, ok := m.Get(nil, big); ok {
		t.Fatal("a value over MaxValue was kept")
	}
	m.Put(big, make([]byte, MaxValue))
	if out, ok := m.Get(nil, big); !ok || len(out) != MaxValue {
		t.Fatal("a value of MaxValue bytes was not kept")
	}
}

// TestBounded fills a table with many more keys than it holds: it keeps at
// most Entries of them, and the ones it returns are right.
func TestBounded(t *testing.T) {
	m := New(1000)
	n := m.Entries()
	if n < 500 || n > 1000 {
		t.Fatalf("Entries() = %d for a table of 1000", n)
	}
	const keys = 20000
	for i := range keys {
		m.Put(m.KeyString(fmt.Sprint(i)), []byte(fmt.Sprint("v", i)))
	}
	held := 0
	for i := range keys {
		out, ok := m.Get(nil, m.KeyString(fmt.Sprint(i)))
		if !ok {
			continue
		}
		held++
		if want := fmt.Sprint("v", i); string(out) != want {
			t.Fatalf("key %d: %q, want %q", i, out, want)
		}
	}
	if held > n || held < n/2 {
		t.Fatalf("holds %d of %d keys; room for %d", held, keys, n)
	}
}

// TestLeastRecentlyUsed: of two keys of a set, a third replaces the one
// not read last.
func TestLeastRecentlyUsed(t *testing.T) {
	m := New(2) // one shard of one set
	if m.Entries() != 2 {
		t.Fatalf("Entries() = %d", m.Entries())
	}
	a, b, c := m.KeyString("a"), m.KeyString("b"), m.KeyString("c")
	m.Put(a, []byte("A"))
	m.Put(b, []byte("B"))
	if _, ok := m.Get(nil, a); !ok { // a is now the more recent
		t.Fatal("a missing")
	}
	m.Put(c, []byte("C"))
	if _, ok := m.Get(nil, b); ok {
		t.Error("b survived although a was read after it")
	}
	for k, want := range map[uint64]string{a: "A", c: "C"} {
		if out, ok := m.Get(nil, k); !ok || string(out) != want {
			t.Errorf("got %q, %v; want %q", out, ok, want)
		}
	}
	// Putting a key it holds replaces the value in place.
	m.Put(a, []byte("A2"))
	if out, _ := m.Get(nil, c); string(out) != "C" {
		t.Error("updating a evicted c")
	}
	if out, _ := m.Get(nil, a); string(out) != "A2" {
		t.Errorf("a = %q after the update", out)
	}
}

func TestWarmTableDoesNotAllocate(t *testing.T) {
	m := New(64)
	k := m.KeyString("https://example.com/")
	m.Put(k, []byte("example.com/"))
	dst := make([]byte, 0, 64)
	allocs := testing.AllocsPerRun(100, func() {
		m.Put(k, []byte("example.com/"))
		dst, _ = m.Get(dst[:0], m.Key([]byte("https://example.com/")))
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per Put and Get", allocs)
	}
}

// TestConcurrent is for the race detector: readers and writers of the same
// keys see only whole values.
func TestConcurrent(t *testing.T) {
	m := New(128)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			var dst []byte
			for i := range 5000 {
				key := fmt.Sprint(i % 300)
				k := m.KeyString(key)
				want := []byte("value-of-" + key)
				if i%3 == g%3 {
					m.Put(k, want)
				}
				var ok bool
				if dst, ok = m.Get(dst[:0], k); ok && !bytes.Equal(dst, want) {
					t.Errorf("key %s: %q", key, dst)
					return
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkGet(b *testing.B) {
	m := New(4096)
	raw := []byte("https://www.example.com/blog/simple-analytics?utm_source=newsletter&utm_medium=email")
	m.Put(m.Key(raw), []byte("example.com/blog/simple-analyticsnewsletteremail"))
	dst := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		dst, _ = m.Get(dst[:0], m.Key(raw))
	}
}
