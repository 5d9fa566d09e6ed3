package audit

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteJSON writes the report as one indented JSON document.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the report for people, ending with the summary line
// "audit: N findings".
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "analytics audit at %s: database %s on ClickHouse %s", r.Time.Format("2006-01-02 15:04 UTC"), r.Database, r.ClickHouse)
	if r.DataDir != "" {
		fmt.Fprintf(&b, ", data dir %s", r.DataDir)
	}
	b.WriteString("\n\ntables\n")
	for _, t := range r.Tables {
		meaning := t.Meaning
		if meaning == "" {
			meaning = "(undocumented)"
		}
		fmt.Fprintf(&b, "  %s: %s\n", t.Name, meaning)
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		for _, c := range t.Columns {
			m := c.Meaning
			if m == "" {
				m = "(undocumented)"
			}
			sampled := ""
			if c.Sampled > 0 {
				sampled = fmt.Sprintf(" [%d values scanned]", c.Sampled)
			}
			fmt.Fprintf(tw, "    %s\t%s\t%s%s\n", c.Name, c.Type, m, sampled)
		}
		tw.Flush()
	}
	b.WriteString("\nretention\n")
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	for _, s := range r.Retention {
		oldest, status, conf := s.Oldest, "ok", ""
		if oldest == "" {
			oldest = "(no data)"
		}
		if !s.OK {
			status = "OVERDUE"
		}
		if !s.Configured {
			conf = " (not configured: default)"
		}
		fmt.Fprintf(tw, "  %s\t%d months%s\toldest %s\tkeeps from %s\t%s\n", s.Site, s.Months, conf, oldest, s.KeepFrom, status)
	}
	tw.Flush()
	if r.Salts != nil {
		dir := r.Salts.Dir
		if dir == "" {
			dir = "(no data dir)"
		}
		fmt.Fprintf(&b, "\nsalts\n  %s: %d file(s)", dir, r.Salts.Files)
		if len(r.Salts.Days) > 0 {
			fmt.Fprintf(&b, ", days %s", strings.Join(r.Salts.Days, ", "))
		}
		b.WriteString("\n")
		if r.Salts.SharedDays != nil {
			fmt.Fprintf(&b, "  salts table (shared, sealed): %d day(s)", len(r.Salts.SharedDays))
			if len(r.Salts.SharedDays) > 0 {
				fmt.Fprintf(&b, ", days %s", strings.Join(r.Salts.SharedDays, ", "))
			}
			b.WriteString("\n")
		}
	}
	if r.Spool != nil {
		fmt.Fprintf(&b, "\nspool\n  %s: %d file(s), %d row(s)\n", r.Spool.Dir, r.Spool.Files, r.Spool.Rows)
	}
	if len(r.Findings) > 0 {
		b.WriteString("\nfindings\n")
		for _, f := range r.Findings {
			where := f.Path
			switch {
			case f.Table != "" && f.Column != "":
				where = f.Table + "." + f.Column
			case f.Table != "":
				where = f.Table
			case f.Path != "" && f.Column != "":
				where = f.Path + " (" + f.Column + ")"
			}
			fmt.Fprintf(&b, "  [%s] %s: %s", f.Check, where, f.Message)
			if f.Example != "" {
				fmt.Fprintf(&b, ": %q", f.Example)
			}
			b.WriteString("\n")
		}
	}
	fmt.Fprintf(&b, "\n%s\n", r.Summary())
	_, err := io.WriteString(w, b.String())
	return err
}

// Summary is the last line of the text report: "audit: N findings".
func (r *Report) Summary() string {
	return fmt.Sprintf("audit: %d findings", len(r.Findings))
}
