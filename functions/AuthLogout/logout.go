// Package authlogout is the AuthLogout function: POST /api/auth/logout
// revokes the AuthKit session, clears the session cookie and returns the
// WorkOS logout URL for the browser to visit.
package authlogout

import (
	"net/http"

	"github.com/bondingai/platform/shared/customhandler"
	"github.com/bondingai/platform/shared/platform"
)

// Name is the function's folder name.
const Name = "AuthLogout"

// Register adds the function to app.
func Register(app *customhandler.App, p *platform.Platform) {
	app.HandleHTTP(Name, "POST /api/auth/logout", p.Authenticated(http.HandlerFunc(p.Sessions.Logout)))
}
