package identity

import (
	"errors"
	"net/http"
	"strings"

	"github.com/bondingai/platform/shared/problem"
)

// jwksRetryAfterSeconds is the Retry-After of a 503 caused by an unavailable
// JWKS. It is a hint only, because the next JWKS fetch waits for the refetch
// interval and may fail again.
const jwksRetryAfterSeconds = "10"

// BearerToken returns the access token of the request's
// "Authorization: Bearer <token>" header (RFC 6750 section 2.1). It returns
// ErrMissingToken when the header is absent or uses another scheme.
func BearerToken(r *http.Request) (string, error) {
	scheme, token, found := strings.Cut(r.Header.Get("Authorization"), " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", ErrMissingToken
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return "", ErrMissingToken
	}
	return token, nil
}

// Authenticate returns middleware that requires a valid access token scoped
// to an organization and stores its Claims in the request context (read them
// with ClaimsFromContext). It responds with:
//   - 401 with "WWW-Authenticate: Bearer" when the token is missing,
//   - 401 with error="invalid_token" when it is invalid or expired,
//   - 503 with Retry-After when the JWKS is unavailable, because the token
//     may be valid and the client should retry rather than sign in again,
//   - 403 with error="insufficient_scope" when the token has no org_id,
//     because every API call is scoped to an organization.
//
// Bodies are application/problem+json. Tokens are never logged.
func Authenticate(v *Validator) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			token, err := BearerToken(r)
			if err != nil {
				// RFC 6750 section 3.1: no error code when the request has
				// no credentials.
				w.Header().Set("WWW-Authenticate", "Bearer")
				problem.Write(w, r, http.StatusUnauthorized, "The request needs an \"Authorization: Bearer <access token>\" header.")
				return
			}

			claims, err := v.Validate(r.Context(), token)
			switch {
			case errors.Is(err, ErrJWKSUnavailable):
				v.logger.WarnContext(r.Context(), "access token not checked, JWKS unavailable", "path", r.URL.Path, "error", err)
				w.Header().Set("Retry-After", jwksRetryAfterSeconds)
				problem.Write(w, r, http.StatusServiceUnavailable, "The access token cannot be checked because the identity provider's signing keys are unavailable. Retry shortly.")
				return
			case errors.Is(err, ErrExpiredToken):
				v.logger.DebugContext(r.Context(), "access token rejected", "path", r.URL.Path, "error", err)
				w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="The access token expired"`)
				problem.Write(w, r, http.StatusUnauthorized, "The access token expired. Refresh it and retry.")
				return
			case err != nil:
				v.logger.InfoContext(r.Context(), "access token rejected", "path", r.URL.Path, "error", err)
				w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
				problem.Write(w, r, http.StatusUnauthorized, "The access token is invalid.")
				return
			}

			if claims.OrganizationID == "" {
				v.logger.InfoContext(r.Context(), "access token rejected, no organization", "path", r.URL.Path, "user_id", claims.UserID)
				w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope", error_description="The access token has no organization"`)
				problem.Write(w, r, http.StatusForbidden, "The access token is not scoped to an organization. Sign in to an organization and retry.")
				return
			}

			next.ServeHTTP(w, r.WithContext(ContextWithClaims(r.Context(), claims)))
		})
	}
}
