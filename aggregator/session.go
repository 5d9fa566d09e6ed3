package aggregator

import (
	"analytics/aggregator/channel"
	"analytics/schema"
)

// visitDims are the dimensions a visit is attributed to, with the values of
// the event that started it (as Plausible does: a visit that came from
// Google counts all its pageviews under Google). The first two get only
// visit metrics; the others also count the visit's events.
var visitDims = [...]string{
	schema.DimTotal, schema.DimEntryPage,
	schema.DimSource, schema.DimChannel,
	schema.DimUTMSource, schema.DimUTMMedium, schema.DimUTMCampaign, schema.DimUTMContent, schema.DimUTMTerm,
	schema.DimCountry, schema.DimRegion,
	schema.DimBrowser, schema.DimBrowserVersion, schema.DimOS, schema.DimOSVersion, schema.DimDevice,
}

// visitCells are the cells of a visit in its start bucket, one per
// visitDims entry.
type visitCells [len(visitDims)]*cell

const (
	visitTotal = iota
	visitEntry
	visitFirstEventDim // visitDims[visitFirstEventDim:] also count events
)

// session is one visit in progress, in memory only. It is keyed by the
// visitor key in its site's map and never written anywhere.
type session struct {
	start, last int64 // unix seconds
	bucket      *bucket
	// visit are the visit's cells in its start bucket, one per visitDims
	// entry; their keys also give the visit's dimension values for the
	// events that follow. Visits with the same cells share one array (see
	// bucket.visitCells): a session stays small, and the arrays of common
	// visits stay in the CPU's caches.
	visit        *visitCells
	interactions uint32
	// counted is the bucket whose visit-dimension cells last counted this
	// visit's visitor: later events in it need not insert it again, nor
	// look the cells up. In the visit's first bucket they are the visit
	// cells themselves; in a later one, cur holds them (cur[0] is the
	// bucket's total), allocated only when a visit crosses an hour.
	counted *bucket
	cur     *[1 + len(visitDims) - visitFirstEventDim]*cell
	// page is the current page's cell (its key holds the path), in the
	// bucket pageBucket.
	page       *cell
	pageBucket *bucket
	// seenPage is the page cell the visitor was last inserted into, and
	// minute the realtime cell: their sketches hold the visitor already.
	seenPage *cell
	minute   *cell
	// pendPV and pendEvents are pageviews and events of the visit not yet
	// added to the cells of bucket counted (the visit cells, or cur), and
	// pendDuration seconds not yet added to the visit cells: see
	// addPending.
	pendPV, pendEvents uint32
	pendDuration       uint64
	// Engagement of the current pageview.
	engaged   bool
	maxScroll int
}

// visitKeys returns the cell keys of a new visit started by e.
func visitKeys(e *Event) [len(visitDims)]cellKey {
	var ks [len(visitDims)]cellKey
	for i, d := range visitDims {
		ks[i].dim = d
	}
	ks[visitEntry].value = e.Path
	ks[2].value = e.Source
	ks[3].value = channel.Classify(e.Referrer, e.UTMSource, e.UTMMedium, e.UTMCampaign, e.ClickID)
	ks[4].value = e.UTMSource
	ks[5].value = e.UTMMedium
	ks[6].value = e.UTMCampaign
	ks[7].value = e.UTMContent
	ks[8].value = e.UTMTerm
	ks[9].value = e.Country
	ks[10].value = e.Region
	ks[11].value = e.Browser
	if e.Browser != "" && e.BrowserVersion != "" {
		ks[12].value, ks[12].sub = e.Browser, e.BrowserVersion
	}
	ks[13].value = e.OS
	if e.OS != "" && e.OSVersion != "" {
		ks[14].value, ks[14].sub = e.OS, e.OSVersion
	}
	ks[15].value = e.Device
	return ks
}

// pending reports whether counts of s wait to be added to its cells.
func (s *session) pending() bool {
	return s.pendPV != 0 || s.pendEvents != 0 || s.pendDuration != 0
}

// addPending adds the counts that wait in s to its cells: the pageviews and
// events to the cells of bucket counted, the duration to the visit cells.
// It must run before the cells are read (every snapshot), when the visit
// ends and before counted changes.
func (s *session) addPending() {
	if s.pendPV != 0 || s.pendEvents != 0 {
		pv, ev := uint64(s.pendPV), uint64(s.pendEvents)
		add := func(c *cell) {
			c.pageviews += pv
			c.events += ev
			c.dirty = true
		}
		if s.counted == s.bucket {
			add(s.visit[visitTotal])
			for _, c := range s.visit[visitFirstEventDim:] {
				add(c)
			}
		} else {
			for _, c := range s.cur {
				add(c)
			}
		}
		s.pendPV, s.pendEvents = 0, 0
	}
	if s.pendDuration != 0 {
		for _, c := range s.visit {
			c.duration += s.pendDuration
			c.dirty = true
		}
		s.pendDuration = 0
	}
}
