// Package adminsettings is the AdminSettings function: GET and PUT
// /api/admin/settings read and replace the caller organization's settings
// document. Writes use optimistic concurrency: GET returns an ETag, and PUT
// must send it back in If-Match. Both need the admin:settings:write
// permission.
package adminsettings

import (
	"errors"
	"net/http"

	"github.com/bondingai/platform/shared/admin"
	"github.com/bondingai/platform/shared/customhandler"
	"github.com/bondingai/platform/shared/httpapi"
	"github.com/bondingai/platform/shared/identity"
	"github.com/bondingai/platform/shared/platform"
	"github.com/bondingai/platform/shared/problem"
)

// Name is the function's folder name.
const Name = "AdminSettings"

// Register adds the function to app.
func Register(app *customhandler.App, p *platform.Platform) {
	requireAdmin := httpapi.RequirePermission(identity.PermissionAdminSettingsWrite)
	app.HandleHTTP(Name, "GET /api/admin/settings", p.Authenticated(requireAdmin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		get(w, r, p.Settings)
	}))))
	app.HandleHTTP(Name, "PUT /api/admin/settings", p.Authenticated(requireAdmin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		put(w, r, p.Settings)
	}))))
}

func get(w http.ResponseWriter, r *http.Request, service *admin.SettingsService) {
	caller, _ := httpapi.PrincipalFromContext(r.Context())
	stored, err := service.Get(r.Context(), caller.OrgID)
	if err != nil {
		httpapi.InternalError(w, r, "read settings", err)
		return
	}
	w.Header().Set("ETag", stored.ETag())
	httpapi.WriteJSON(w, http.StatusOK, stored)
}

func put(w http.ResponseWriter, r *http.Request, service *admin.SettingsService) {
	ifMatch := r.Header.Get("If-Match")
	if ifMatch == "" {
		problem.Write(w, r, http.StatusPreconditionRequired, "Send the ETag of the settings you read in If-Match, so that a concurrent change is not overwritten.")
		return
	}
	version, ok := admin.ParseETag(ifMatch)
	if !ok {
		problem.Write(w, r, http.StatusPreconditionFailed, "If-Match does not hold an ETag returned by GET /api/admin/settings.")
		return
	}

	settings := admin.DefaultSettings()
	if !httpapi.DecodeJSON(w, r, &settings) {
		return
	}
	if errs := settings.Validate(); len(errs) > 0 {
		problem.WriteDetails(w, r, problem.Details{Status: http.StatusUnprocessableEntity, Detail: "Some settings are invalid.", Errors: errs})
		return
	}

	caller, _ := httpapi.PrincipalFromContext(r.Context())
	stored, err := service.Put(r.Context(), caller.OrgID, caller.UserID, settings, version)
	if errors.Is(err, admin.ErrVersionMismatch) {
		problem.Write(w, r, http.StatusPreconditionFailed, "The settings changed since you read them. Read them again and reapply your change.")
		return
	}
	if err != nil {
		httpapi.InternalError(w, r, "write settings", err)
		return
	}
	w.Header().Set("ETag", stored.ETag())
	httpapi.WriteJSON(w, http.StatusOK, stored)
}
