// Package analyticsdashboard is the AnalyticsDashboard function: GET
// /api/admin/dashboard serves the admin usage dashboard, and GET
// /api/admin/dashboard/{asset} its script and style sheet. The page holds
// no data; it reads the KPI API with the browser's session cookie.
package analyticsdashboard

import (
	"github.com/bondingai/platform/shared/analytics"
	"github.com/bondingai/platform/shared/customhandler"
	"github.com/bondingai/platform/shared/platform"
)

// Name is the function's folder name.
const Name = "AnalyticsDashboard"

// Register adds the function to app.
func Register(app *customhandler.App, p *platform.Platform) {
	dashboard := analytics.DashboardHandler()
	app.HandleHTTP(Name, "GET /api/admin/dashboard", p.Public(dashboard))
	app.HandleHTTP(Name, "GET /api/admin/dashboard/{asset}", p.Public(dashboard))
}
