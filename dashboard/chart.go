package dashboard

import (
	"math"
	"strconv"
	"strings"
)

// A small server-side SVG chart of visitors per bucket: an area under a
// line, y-axis ticks at round numbers, a few x-axis labels, and one
// transparent column per bucket whose <title> gives its value on hover.
// Coordinates are numbers computed here; every text goes through
// html/template, so labels from data are escaped like any other text.

// Chart geometry, in viewBox units.
const (
	chartWidth  = 640
	chartHeight = 220
	chartLeft   = 44 // room for y labels
	chartRight  = 8
	chartTop    = 10
	chartBottom = 26 // room for x labels
	chartXTicks = 6
)

type chartPoint struct {
	Label, Short, Text string // full label, axis label, value as shown
	Value              float64
	Masked             bool
}

type chartTick struct {
	X, Y  float64
	Label string
}

type chartColumn struct {
	X, W  float64
	Title string
}

type chartDot struct {
	X, Y   float64
	Masked bool
}

type chart struct {
	// Reason is why the series cannot be read; the chart is empty.
	Reason         string
	Width, Height  int
	Left, Right    float64
	Top, Bottom    float64
	Line, Area     string
	YTicks, XTicks []chartTick
	Columns        []chartColumn
	Dots           []chartDot
	Empty          bool
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func fmtCoord(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

func renderChart(points []chartPoint) *chart { return renderChartUnit(points, " visitors") }

// renderChartUnit draws points whose hover titles end with unit.
func renderChartUnit(points []chartPoint, unit string) *chart {
	c := &chart{
		Width: chartWidth, Height: chartHeight,
		Left: chartLeft, Right: chartWidth - chartRight,
		Top: chartTop, Bottom: chartHeight - chartBottom,
	}
	if len(points) == 0 {
		c.Empty = true
		return c
	}
	var top float64
	for _, p := range points {
		top = max(top, p.Value)
	}
	top = niceCeil(top)
	switch {
	case unit != "" && top < 4: // counts: at least 0..4
		top = 4
	case top == 0:
		top = 1
	}
	plotW, plotH := c.Right-c.Left, c.Bottom-c.Top
	step := plotW / float64(len(points))
	x := func(i int) float64 { return c.Left + step*(float64(i)+0.5) }
	y := func(v float64) float64 { return c.Bottom - v/top*plotH }

	for i := 0; i <= 4; i++ {
		v := top * float64(i) / 4
		c.YTicks = append(c.YTicks, chartTick{X: c.Left - 6, Y: y(v), Label: strconv.FormatFloat(v, 'f', -1, 64)})
	}
	every := max(1, (len(points)+chartXTicks-1)/chartXTicks)
	var line, area strings.Builder
	area.WriteString("M" + fmtCoord(x(0)) + " " + fmtCoord(c.Bottom))
	for i, p := range points {
		px, py := x(i), y(p.Value)
		if i == 0 {
			line.WriteString("M")
		} else {
			line.WriteString(" L")
		}
		line.WriteString(fmtCoord(px) + " " + fmtCoord(py))
		area.WriteString(" L" + fmtCoord(px) + " " + fmtCoord(py))
		if i%every == 0 {
			c.XTicks = append(c.XTicks, chartTick{X: px, Y: c.Bottom + 18, Label: p.Short})
		}
		c.Columns = append(c.Columns, chartColumn{X: c.Left + step*float64(i), W: step, Title: p.Label + ": " + p.Text + unit})
		if len(points) <= 62 || p.Masked {
			c.Dots = append(c.Dots, chartDot{X: px, Y: py, Masked: p.Masked})
		}
	}
	area.WriteString(" L" + fmtCoord(x(len(points)-1)) + " " + fmtCoord(c.Bottom) + " Z")
	c.Line, c.Area = line.String(), area.String()
	return c
}
