package httpapi

import (
	"log/slog"
	"net/http"

	"github.com/bondingai/platform/shared/customhandler"
	"github.com/bondingai/platform/shared/identity"
	"github.com/bondingai/platform/shared/problem"
)

// RequirePermission returns middleware that runs next only when the access
// token's permissions claim grants permission, and otherwise responds 403.
// It runs after identity.Authenticate, which stores the claims.
func RequirePermission(permission string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			claims, ok := identity.ClaimsFromContext(r.Context())
			if !ok {
				problem.Write(w, r, http.StatusUnauthorized, "The request is not authenticated.")
				return
			}
			if !claims.HasPermission(permission) {
				customhandler.Logger(r.Context()).Info("request without the required permission denied",
					slog.String("permission", permission), slog.String("role", claims.Role))
				problem.Write(w, r, http.StatusForbidden, "This operation needs the "+permission+" permission, which your role does not grant.")
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
