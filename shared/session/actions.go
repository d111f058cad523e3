package session

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/workos/workos-go/v4/pkg/usermanagement"
	"github.com/workos/workos-go/v4/pkg/workos_errors"

	"github.com/bondingai/platform/shared/customhandler"
	"github.com/bondingai/platform/shared/httpapi"
	"github.com/bondingai/platform/shared/identity"
	"github.com/bondingai/platform/shared/problem"
)

// SwitchOrganizationRequest is the body of POST /api/auth/switch-organization.
type SwitchOrganizationRequest struct {
	OrganizationID string `json:"organization_id"`
}

// SwitchOrganizationResponse is the organization and role of the new
// access token.
type SwitchOrganizationResponse struct {
	OrganizationID string   `json:"organization_id"`
	Role           string   `json:"role"`
	Permissions    []string `json:"permissions"`
}

// LogoutResponse is the body of the POST /api/auth/logout response. The
// browser must visit LogoutURL to end the AuthKit session at WorkOS too,
// because otherwise the next sign-in would be silent.
type LogoutResponse struct {
	LogoutURL string `json:"logout_url"`
}

// SwitchOrganization handles POST /api/auth/switch-organization behind
// Authenticate: it refreshes the session into another organization of the
// user and sets the new cookie. It needs the session cookie, because a
// bearer client holds no refresh token here. WorkOS rejecting the switch
// (the user is not a member, or the organization requires SSO or MFA the
// session lacks) results in 403.
func (m *Manager) SwitchOrganization(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	logger := customhandler.Logger(ctx)
	var request SwitchOrganizationRequest
	if !httpapi.DecodeJSON(w, r, &request) {
		return
	}
	if !ValidOrganizationID(request.OrganizationID) {
		problem.Write(w, r, http.StatusBadRequest, "organization_id must be a WorkOS organization ID such as org_01H…, 26 characters after the prefix.")
		return
	}
	current := sessionFromContext(ctx)
	if current == nil {
		problem.Write(w, r, http.StatusBadRequest, "Switching organization needs the session cookie. A bearer-token client signs in again with organization_id.")
		return
	}

	claims, next, err := m.refresh(ctx, r, *current, request.OrganizationID)
	var httpErr workos_errors.HTTPError
	switch {
	case errors.Is(err, ErrSessionEnded):
		m.endSession(w, r)
		return
	case errors.As(err, &httpErr) && httpErr.Code >= 400 && httpErr.Code < 500 && httpErr.Code != http.StatusTooManyRequests:
		logger.Info("organization switch rejected by WorkOS", slog.String("workos_organization_id", request.OrganizationID), slog.Int("status", httpErr.Code), slog.String("error_code", httpErr.ErrorCode))
		problem.Write(w, r, http.StatusForbidden, "You cannot switch to organization "+request.OrganizationID+": you are not an active member, or it requires another sign-in method.")
		return
	case err != nil:
		logger.Error("switch organization", slog.String("workos_organization_id", request.OrganizationID), slog.Any("error", err))
		writeUnavailable(w, r)
		return
	}
	if claims.OrganizationID != request.OrganizationID {
		logger.Warn("organization switch returned another organization", slog.String("workos_organization_id", request.OrganizationID), slog.String("token_organization_id", claims.OrganizationID))
		problem.Write(w, r, http.StatusForbidden, "You cannot switch to organization "+request.OrganizationID+".")
		return
	}

	if err := m.mirror(ctx, claims, ""); err != nil {
		logger.Error("mirror switched organization", slog.Any("error", err))
		problem.Write(w, r, http.StatusServiceUnavailable, "The service cannot reach its database. Retry shortly.")
		return
	}
	if err := m.setSessionCookie(w, next); err != nil {
		m.internalError(w, r, "seal the session cookie", err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, SwitchOrganizationResponse{
		OrganizationID: claims.OrganizationID, Role: claims.Role, Permissions: nonNil(claims.Permissions),
	})
}

// Logout handles POST /api/auth/logout behind Authenticate, for cookie and
// bearer callers alike: it revokes the AuthKit session of the access token,
// clears the session cookie and returns the WorkOS logout URL. A failed
// revoke is logged and the logout goes on, because the logout URL also ends
// the session at WorkOS.
func (m *Manager) Logout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	logger := customhandler.Logger(ctx)
	claims, ok := identity.ClaimsFromContext(ctx)
	if !ok || claims.SessionID == "" {
		http.SetCookie(w, expiredCookie(SessionCookieName, "/"))
		problem.Write(w, r, http.StatusBadRequest, "The access token names no session (sid claim) to sign out of.")
		return
	}

	if err := m.cfg.Users.RevokeSession(ctx, usermanagement.RevokeSessionOpts{SessionID: claims.SessionID}); err != nil {
		logger.Warn("revoke session failed; the logout URL ends it instead", slog.String("session_id", claims.SessionID), slog.Any("error", err))
	}
	logoutURL, err := m.cfg.Users.GetLogoutURL(usermanagement.GetLogoutURLOpts{SessionID: claims.SessionID, ReturnTo: m.cfg.PublicBaseURL + "/"})
	if err != nil {
		m.internalError(w, r, "build the logout URL", err)
		return
	}

	http.SetCookie(w, expiredCookie(SessionCookieName, "/"))
	logger.Info("user signed out", slog.String("session_id", claims.SessionID))
	httpapi.WriteJSON(w, http.StatusOK, LogoutResponse{LogoutURL: logoutURL.String()})
}

func nonNil(values []string) []string {
	if values == nil {
		return []string{}
	}
	return values
}
