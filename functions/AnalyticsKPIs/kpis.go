// Package analyticskpis is the AnalyticsKPIs function: GET
// /api/analytics/kpis returns the caller's organization's usage KPIs for a
// period, read from the rollups. It needs the analytics:read permission.
package analyticskpis

import (
	"net/http"

	"github.com/bondingai/platform/shared/customhandler"
	"github.com/bondingai/platform/shared/httpapi"
	"github.com/bondingai/platform/shared/identity"
	"github.com/bondingai/platform/shared/platform"
)

// Name is the function's folder name.
const Name = "AnalyticsKPIs"

// Register adds the function to app.
func Register(app *customhandler.App, p *platform.Platform) {
	kpis := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.KPIs.Handler(nil).ServeHTTP(w, r)
	})
	app.HandleHTTP(Name, "GET /api/analytics/kpis",
		p.Authenticated(httpapi.RequirePermission(identity.PermissionAnalyticsRead)(kpis)))
}
