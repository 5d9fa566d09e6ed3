package aggregator

import (
	"math/rand/v2"
	"testing"
)

// TestSessionTableAgainstMap runs random inserts, finds, removes and sweeps
// on a sessionTable and on a Go map side by side. Keys come from a small
// range too, so that probe chains collide, wrap around the end and shift
// back on removal; key 0 is among them. Every operation is preceded by a
// prefetch of its key, which must change nothing.
func TestSessionTableAgainstMap(t *testing.T) {
	for _, keys := range []struct {
		name string
		next func(r *rand.Rand) uint64
	}{
		{"uniform", func(r *rand.Rand) uint64 { return r.Uint64() }},
		{"clustered", func(r *rand.Rand) uint64 { return r.Uint64N(300) }},
		{"same low bits", func(r *rand.Rand) uint64 { return r.Uint64N(50)<<32 | 63 }},
	} {
		t.Run(keys.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			var tab sessionTable
			model := map[uint64]int64{}
			var pool []uint64
			for step := range 200000 {
				var key uint64
				if len(pool) > 0 && r.IntN(2) == 0 {
					key = pool[r.IntN(len(pool))]
				} else {
					key = keys.next(r)
					pool = append(pool, key)
				}
				tab.prefetch(key) // only a hint: the model checks it changed nothing
				switch op := r.IntN(10); {
				case op < 5: // find, or insert when missing
					s := tab.find(key)
					want, ok := model[key]
					if (s != nil) != ok || ok && s.start != want {
						t.Fatalf("step %d: find(%d) = %v, model %v %v", step, key, s, want, ok)
					}
					if s == nil {
						s = tab.insert(key)
						if *s != (session{}) {
							t.Fatalf("step %d: insert(%d) gave a used visit", step, key)
						}
						s.start = int64(step)
						model[key] = int64(step)
					}
				case op < 8:
					tab.remove(key)
					delete(model, key)
				case op < 9 && step%50 == 0: // sweep: remove a third, touch the rest
					seen := map[uint64]bool{}
					tab.each(func(k uint64, s *session) bool {
						if want, ok := model[k]; !ok || s.start != want {
							t.Fatalf("step %d: each saw %d=%d, model %v %v", step, k, s.start, want, ok)
						}
						seen[k] = true
						if k%3 == 0 {
							delete(model, k)
							return true
						}
						return false
					})
					for k := range model {
						if !seen[k] && k%3 != 0 {
							t.Fatalf("step %d: each skipped %d", step, k)
						}
					}
				}
				if tab.len() != len(model) {
					t.Fatalf("step %d: len %d, model %d", step, tab.len(), len(model))
				}
			}
			for k, want := range model {
				if s := tab.find(k); s == nil || s.start != want {
					t.Fatalf("at the end: find(%d) = %v, want %d", k, s, want)
				}
			}
			// Emptied, the table shrinks back.
			tab.each(func(uint64, *session) bool { return true })
			if tab.len() != 0 || len(tab.keys) > 2*minSessionSlots {
				t.Fatalf("emptied: len %d, %d slots", tab.len(), len(tab.keys))
			}
		})
	}
}

func BenchmarkSessionTableFind(b *testing.B) {
	const n = 50000
	var tab sessionTable
	keys := make([]uint64, n)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range keys {
		keys[i] = r.Uint64()
		tab.insert(keys[i]).start = int64(i)
	}
	b.Run("table", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if tab.find(keys[i%n]) == nil {
				b.Fatal("missing")
			}
			i += 7919
		}
	})
	m := make(map[uint64]session, n)
	for i, k := range keys {
		m[k] = session{start: int64(i)}
	}
	b.Run("map", func(b *testing.B) {
		i := 0
		for b.Loop() {
			s, ok := m[keys[i%n]]
			if !ok || s.start < 0 {
				b.Fatal("missing")
			}
			i += 7919
		}
	})
}
