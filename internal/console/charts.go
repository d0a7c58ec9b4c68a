package console

import (
	"fmt"
	"html/template"
	"strings"

	"github.com/furl/furl/internal/series"
)

// The charts are inline SVG built from numbers only (no user text), with presentation
// attributes rather than style, so the strict CSP holds.

func polyline(vals []float64, w, h int, max float64, color string) string {
	if max <= 0 {
		max = 1
	}
	var b strings.Builder
	n := len(vals)
	for i, v := range vals {
		x := float64(0)
		if n > 1 {
			x = float64(i) * float64(w-2) / float64(n-1)
		}
		y := float64(h-2) - v/max*float64(h-4)
		fmt.Fprintf(&b, "%.1f,%.1f ", x+1, y)
	}
	return fmt.Sprintf(`<polyline points="%s" fill="none" stroke="%s" stroke-width="1.5" stroke-linejoin="round"/>`, strings.TrimSpace(b.String()), color)
}

func svg(w, h int, label, inner string) template.HTML {
	return template.HTML(fmt.Sprintf(`<svg class="chart" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s">`+
		`<line x1="0" y1="%d" x2="%d" y2="%d" stroke="#d0d7de" stroke-width="1"/>%s</svg>`,
		w, h, w, h, template.HTMLEscapeString(label), h-1, w, h-1, inner))
}

func seriesChart(pts []series.Point, w, h int, f func(series.Point) float64, color string) template.HTML {
	vals := make([]float64, len(pts))
	max := 0.0
	for i, p := range pts {
		vals[i] = f(p)
		if vals[i] > max {
			max = vals[i]
		}
	}
	return svg(w, h, "last 15 minutes", polyline(vals, w, h, max, color))
}

// countChart draws requests (blue) with errors (red) over the window.
func countChart(pts []series.Point, w, h int) template.HTML {
	req := make([]float64, len(pts))
	errs := make([]float64, len(pts))
	max := 0.0
	for i, p := range pts {
		req[i], errs[i] = float64(p.Requests), float64(p.Errors)
		if req[i] > max {
			max = req[i]
		}
	}
	return svg(w, h, "requests and errors, last 15 minutes", polyline(req, w, h, max, "#1f6feb")+polyline(errs, w, h, max, "#c62828"))
}

// latencyChart draws p50 (green) and p99 (purple) in milliseconds.
func latencyChart(pts []series.Point, w, h int) template.HTML {
	p50 := make([]float64, len(pts))
	p99 := make([]float64, len(pts))
	max := 0.0
	for i, p := range pts {
		p50[i], p99[i] = float64(p.P50.Microseconds())/1000, float64(p.P99.Microseconds())/1000
		if p99[i] > max {
			max = p99[i]
		}
	}
	return svg(w, h, "p50 and p99 latency, last 15 minutes", polyline(p50, w, h, max, "#2e7d32")+polyline(p99, w, h, max, "#8250df"))
}
