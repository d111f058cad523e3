// Package me is the Me function: GET /api/me returns the signed-in user,
// the organization of the session, and the role and permissions of the
// access token.
package me

import (
	"net/http"

	"github.com/bondingai/platform/shared/customhandler"
	"github.com/bondingai/platform/shared/httpapi"
	"github.com/bondingai/platform/shared/platform"
	"github.com/bondingai/platform/shared/problem"
)

// Name is the function's folder name.
const Name = "Me"

// Response is the body of GET /api/me.
type Response struct {
	User         User         `json:"user"`
	Organization Organization `json:"organization"`
	Role         string       `json:"role"`
	Roles        []string     `json:"roles"`
	Permissions  []string     `json:"permissions"`
}

// User is the signed-in user: the platform's id and the WorkOS user ID.
type User struct {
	ID       string `json:"id"`
	WorkOSID string `json:"workos_id"`
	Email    string `json:"email"`
}

// Organization is the organization the session is signed in to.
type Organization struct {
	ID       string `json:"id"`
	WorkOSID string `json:"workos_id"`
	Name     string `json:"name"`
}

// Register adds the function to app.
func Register(app *customhandler.App, p *platform.Platform) {
	app.HandleHTTP(Name, "GET /api/me", p.Authenticated(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		principal, ok := httpapi.PrincipalFromContext(ctx)
		if !ok {
			problem.Write(w, r, http.StatusUnauthorized, "The request is not authenticated.")
			return
		}

		user, err := p.Store.User(ctx, principal.UserID)
		if err != nil {
			httpapi.InternalError(w, r, "read user "+principal.UserID.String(), err)
			return
		}
		org, err := p.Store.Organization(ctx, principal.OrgID)
		if err != nil {
			httpapi.InternalError(w, r, "read organization "+principal.OrgID.String(), err)
			return
		}

		claims := principal.Claims
		httpapi.WriteJSON(w, http.StatusOK, Response{
			User:         User{ID: user.ID.String(), WorkOSID: user.WorkOSID, Email: user.Email},
			Organization: Organization{ID: org.ID.String(), WorkOSID: org.WorkOSID, Name: org.Name},
			Role:         claims.Role,
			Roles:        nonNil(claims.Roles),
			Permissions:  nonNil(claims.Permissions),
		})
	})))
}

func nonNil(values []string) []string {
	if values == nil {
		return []string{}
	}
	return values
}
