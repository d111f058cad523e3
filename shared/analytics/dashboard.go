package analytics

import (
	"embed"
	"net/http"

	"github.com/bondingai/platform/shared/httpapi"
	"github.com/bondingai/platform/shared/problem"
)

// dashboardAssets are the dashboard's page, script and style sheet. They
// hold no data: the script reads the KPI API with the caller's session.
//
//go:embed dashboard/index.html dashboard/dashboard.js dashboard/dashboard.css
var dashboardAssets embed.FS

// dashboardContentTypes lists the assets the dashboard serves.
var dashboardContentTypes = map[string]string{
	"dashboard.js":  "text/javascript; charset=utf-8",
	"dashboard.css": "text/css; charset=utf-8",
}

// dashboardSecurityPolicy lets the page load scripts, styles and data
// from this platform only, so the dashboard can make no request to
// another origin.
const dashboardSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// DashboardHandler serves the dashboard page for an empty asset path
// value and its script and style sheet by name (the path value "asset").
// The page and assets are public, because they hold no data; the KPI API
// they call checks the session and the analytics:read permission.
func DashboardHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("asset")
		file, contentType := "dashboard/index.html", "text/html; charset=utf-8"
		if name != "" {
			var ok bool
			if contentType, ok = dashboardContentTypes[name]; !ok {
				problem.Write(w, r, http.StatusNotFound, "The dashboard has no asset named "+name+".")
				return
			}
			file = "dashboard/" + name
		}

		body, err := dashboardAssets.ReadFile(file)
		if err != nil {
			httpapi.InternalError(w, r, "read dashboard asset "+file, err)
			return
		}
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Content-Security-Policy", dashboardSecurityPolicy)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(body)
	})
}
