// Package authcallback is the AuthCallback function: GET /api/auth/callback
// is where WorkOS sends the browser back with code and state. It finishes
// the sign-in, sets the session cookie and redirects to return_to.
package authcallback

import (
	"net/http"

	"github.com/bondingai/platform/shared/customhandler"
	"github.com/bondingai/platform/shared/platform"
)

// Name is the function's folder name.
const Name = "AuthCallback"

// Register adds the function to app.
func Register(app *customhandler.App, p *platform.Platform) {
	app.HandleHTTP(Name, "GET /api/auth/callback", p.Public(http.HandlerFunc(p.Sessions.Callback)))
}
