package visitor

import (
	"context"
	"os"
	"slices"
	"time"
)

// State is what an auditor needs to check the salt lifecycle: where salts
// exist, for which days. It never holds salt bytes.
type State struct {
	// Mode is "local" (a random salt per node and day, NewSalts) or
	// "shared" (one salt per day for every node, NewSharedSalts).
	Mode string `json:"mode"`
	// Day is the UTC day (2006-01-02) of the salt keys are derived with.
	Day string `json:"day"`
	// Grace is how long a salt may outlive its day.
	Grace time.Duration `json:"grace"`
	// Memory lists the days whose salts are in this process's memory: the
	// current one, and the one it replaced until its grace is over.
	Memory []string `json:"memory"`
	// Disk lists the days with salt files (sealed in shared mode) in the
	// data directory, temporary files included.
	Disk []string `json:"disk"`
	// Store lists the days with sealed salts in the shared store (shared
	// mode only).
	Store []string `json:"store,omitempty"`
	// StoreError says why the store could not be listed, if it could not.
	StoreError string `json:"store_error,omitempty"`
}

// State reports where salts are held. In shared mode it lists the store's
// days, waiting at most a few seconds for it.
func (s *Salts) State() State {
	st := State{Mode: "local", Grace: s.grace}
	s.mu.Lock()
	cur := s.cur.Load()
	st.Day = dayString(cur.day)
	if s.prev != nil {
		st.Memory = append(st.Memory, dayString(s.prev.day))
	}
	st.Memory = append(st.Memory, dayString(cur.day))
	s.mu.Unlock()

	if entries, err := os.ReadDir(s.dir); err == nil {
		for _, e := range entries {
			if day, ok := fileDay(e.Name()); ok {
				st.Disk = append(st.Disk, dayString(day))
			}
		}
	}
	slices.Sort(st.Disk)
	st.Disk = slices.Compact(st.Disk)

	if s.shared != nil {
		st.Mode = "shared"
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout/2)
		defer cancel()
		days, err := s.shared.store.Days(ctx)
		if err != nil {
			st.StoreError = err.Error()
		}
		for _, d := range days {
			st.Store = append(st.Store, d.UTC().Format(time.DateOnly))
		}
	}
	return st
}
