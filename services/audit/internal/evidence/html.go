package evidence

import (
	"embed"
	"html/template"
	"io"
	"strings"
	"time"
)

//go:embed packet.html.tmpl
var templates embed.FS

var page = template.Must(template.New("packet.html.tmpl").Funcs(template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.Format("2006-01-02 15:04 MST")
	},
	"join": func(ss []string) string { return strings.Join(ss, ", ") },
	"short": func(s string) string {
		if len(s) > 12 {
			return s[:12] + "…"
		}
		return s
	},
}).ParseFS(templates, "packet.html.tmpl"))

// RenderHTML writes the packet as a self-contained, printable HTML page for
// people (auditors print or save it as PDF from the browser). The JSON
// packet stays the record; this page shows the same facts and nothing else.
func RenderHTML(w io.Writer, p Packet) error { return page.Execute(w, p) }
