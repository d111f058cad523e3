// Package adminportallink is the AdminPortalLink function: POST
// /api/admin/portal-link returns a WorkOS Admin Portal link for the
// caller's organization, where its IT team sets up SSO, Directory Sync,
// domain verification, audit logs or log streams. It needs the
// admin:settings:write permission.
package adminportallink

import (
	"errors"
	"net/http"
	"strings"

	"github.com/bondingai/platform/shared/admin"
	"github.com/bondingai/platform/shared/customhandler"
	"github.com/bondingai/platform/shared/httpapi"
	"github.com/bondingai/platform/shared/identity"
	"github.com/bondingai/platform/shared/platform"
	"github.com/bondingai/platform/shared/problem"
)

// Name is the function's folder name.
const Name = "AdminPortalLink"

type request struct {
	Intent    string `json:"intent"`
	ReturnURL string `json:"return_url"`
}

type response struct {
	Link string `json:"link"`
}

// Register adds the function to app.
func Register(app *customhandler.App, p *platform.Platform) {
	app.HandleHTTP(Name, "POST /api/admin/portal-link",
		p.Authenticated(httpapi.RequirePermission(identity.PermissionAdminSettingsWrite)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			serve(w, r, p.Portal)
		}))))
}

func serve(w http.ResponseWriter, r *http.Request, portal *admin.PortalService) {
	var req request
	if !httpapi.DecodeJSON(w, r, &req) {
		return
	}
	caller, _ := httpapi.PrincipalFromContext(r.Context())

	link, err := portal.Link(r.Context(), caller.Claims.OrganizationID, req.Intent, req.ReturnURL)
	switch {
	case errors.Is(err, admin.ErrInvalidIntent):
		problem.WriteDetails(w, r, problem.Details{
			Status: http.StatusBadRequest,
			Detail: "The intent is not supported.",
			Errors: []problem.FieldError{{Field: "intent", Detail: "must be one of: " + strings.Join(admin.PortalIntents, ", ")}},
		})
		return
	case errors.Is(err, admin.ErrInvalidReturnURL):
		problem.WriteDetails(w, r, problem.Details{
			Status: http.StatusBadRequest,
			Detail: "The return URL is invalid.",
			Errors: []problem.FieldError{{Field: "return_url", Detail: "must be an absolute http or https URL"}},
		})
		return
	case err != nil:
		httpapi.InternalError(w, r, "generate portal link", err)
		return
	}

	httpapi.WriteJSON(w, http.StatusOK, response{Link: link})
}
