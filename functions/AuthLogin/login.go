// Package authlogin is the AuthLogin function: GET /api/auth/login starts
// the AuthKit sign-in with state and PKCE and redirects to WorkOS. Query
// parameters: return_to (a path on this site), organization_id,
// connection_id and login_hint.
package authlogin

import (
	"net/http"

	"github.com/bondingai/platform/shared/customhandler"
	"github.com/bondingai/platform/shared/platform"
)

// Name is the function's folder name.
const Name = "AuthLogin"

// Register adds the function to app.
func Register(app *customhandler.App, p *platform.Platform) {
	app.HandleHTTP(Name, "GET /api/auth/login", p.Public(http.HandlerFunc(p.Sessions.Login)))
}
