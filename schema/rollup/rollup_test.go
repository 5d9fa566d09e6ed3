package rollup

import (
	"testing"
	"time"
)

func TestVersionNamesTheDay(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	d1 := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	d2 := d1.AddDate(0, 0, 1)
	v1, v2 := Version(d1, now, 0), Version(d2, now, 0)
	if v1 == v2 || v1&0xFFFF != uint64(d1.Unix()/86400)&0xFFFF || v2&0xFFFF != uint64(d2.Unix()/86400)&0xFFFF {
		t.Fatalf("versions %x and %x of two days made at the same moment", v1, v2)
	}
	// A roll made later, or with a clock behind the roll in force, is newer.
	for _, at := range []time.Time{now.Add(time.Second), now.Add(-time.Hour)} {
		v := Version(d1, at, v1)
		if v <= v1 || v&0xFFFF != v1&0xFFFF {
			t.Errorf("version at %s after %x: %x", at, v1, v)
		}
	}
	// Any time of the day names the same day.
	if Version(d1.Add(13*time.Hour), now, 0) != v1 {
		t.Error("the time of day changed the version")
	}
}
