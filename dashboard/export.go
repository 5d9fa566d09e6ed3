package dashboard

import (
	"encoding/csv"
	"errors"
	"net/http"
	"strings"

	"analytics/dashboard/auth"
)

// CSV export of a panel of the site page: /{domain}/export.csv?panel=KEY
// with the page's period and filter (and auth for a shared link). Values
// come through the same queries as the page, so the k-anonymity fold and
// the "< k" masking of filtered series apply alike.

var errExportPanel = &httpError{http.StatusBadRequest, "Unknown panel to export."}

// csvCell defuses spreadsheet formulas: a cell that starts with = + - @
// (or a tab or carriage return, which some programs skip before them) gets
// a leading apostrophe, so that a hostile path or property value is shown
// as text rather than run.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func (s *Server) handleShareExport(w http.ResponseWriter, r *http.Request) {
	site, ok := s.sites[strings.ToLower(r.PathValue("domain"))]
	if !ok || !auth.MatchToken(r.URL.Query().Get("auth"), s.shares[site.Domain]) {
		s.renderError(w, r, nil, errPageNotFound)
		return
	}
	s.export(w, r, nil, site, "/share/"+site.Domain)
}

func (s *Server) export(w http.ResponseWriter, r *http.Request, ss *auth.Session, site Site, base string) {
	fail := func(err error) {
		if r.Context().Err() != nil {
			return
		}
		he, ok := errors.AsType[*httpError](err)
		if !ok {
			s.logger.Error("export failed", "route", routeExport, "error", err.Error())
			he = &httpError{http.StatusInternalServerError, "The export could not be made; the dashboard log has the details."}
		}
		s.renderError(w, r, ss, he)
	}
	q, err := s.newSiteReq(r, site, base)
	if err != nil {
		fail(err)
		return
	}
	key := r.URL.Query().Get("panel")
	var records [][]string
	var reason string
	switch key {
	case "visitors":
		buckets, why, err := s.series(r.Context(), q)
		if err != nil {
			fail(err)
			return
		}
		reason = why
		records = append(records, []string{"bucket", "visitors"})
		for _, b := range buckets {
			text, _ := maskedValue(b.visitors, q.filter.active(), site.MinVisitors)
			records = append(records, []string{b.label, text})
		}
	default:
		p, ok := panelByKey(key)
		if key == "props" {
			goal, prop := q.params.Get("goal"), q.params.Get("prop")
			if goal == "" || prop == "" {
				fail(errExportPanel)
				return
			}
			p, ok = propsPanel(goal, prop), true
		}
		if !ok {
			fail(errExportPanel)
			return
		}
		rows, why, err := s.breakdown(r.Context(), q, p, exportRows)
		if err != nil {
			fail(err)
			return
		}
		reason = why
		head := []string{csvColumn(p.dim), "visitors"}
		if p.events {
			head = append(head, "events")
		}
		records = append(records, head)
		for _, row := range rows {
			rec := []string{row.Name, row.Visitors}
			if p.events {
				rec = append(rec, row.Events)
			}
			records = append(records, rec)
		}
	}
	if reason != "" {
		fail(&httpError{http.StatusBadRequest, reason})
		return
	}
	name := site.Domain + "-" + key + "-" + q.rng.from.Format("20060102") + "-" + q.rng.to.Format("20060102") + ".csv"
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	cw := csv.NewWriter(w)
	for _, rec := range records {
		for i := range rec {
			rec[i] = csvCell(rec[i])
		}
		cw.Write(rec)
	}
	cw.Flush()
}

// csvColumn names a dimension's column: "page", "source", "url".
func csvColumn(dim string) string {
	if _, name, ok := strings.Cut(dim, ":"); ok {
		return strings.TrimPrefix(name, "props:")
	}
	return dim
}
