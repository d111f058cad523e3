// Package authswitchorganization is the AuthSwitchOrganization function:
// POST /api/auth/switch-organization {"organization_id": "org_…"} refreshes
// the cookie session into another organization of the user.
package authswitchorganization

import (
	"net/http"

	"github.com/bondingai/platform/shared/customhandler"
	"github.com/bondingai/platform/shared/platform"
)

// Name is the function's folder name.
const Name = "AuthSwitchOrganization"

// Register adds the function to app.
func Register(app *customhandler.App, p *platform.Platform) {
	app.HandleHTTP(Name, "POST /api/auth/switch-organization", p.Authenticated(http.HandlerFunc(p.Sessions.SwitchOrganization)))
}
