package session

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/bondingai/platform/shared/customhandler"
	"github.com/bondingai/platform/shared/identity"
	"github.com/bondingai/platform/shared/problem"
)

type sessionContextKey struct{}

// Authenticate returns middleware that accepts either credential and puts
// the same identity.Claims into the request context:
//   - a request with an Authorization header goes through
//     identity.Authenticate with the Manager's validator;
//   - otherwise the session cookie is opened, refreshed when its access
//     token expires within the refresh margin (the new cookie is set on the
//     response), and its access token validated by the same validator.
//
// Cookie-authenticated requests with a method other than GET, HEAD or
// OPTIONS must pass the CSRF check described at checkSameOrigin. The cookie
// path responds with 401 when the cookie is missing or tampered with, and
// with 401 and a cleared cookie when WorkOS ended the session
// (invalid_grant). It responds with 403 for a failed CSRF check or a
// session without an organization. It responds with 503 and Retry-After
// when WorkOS or its signing keys are unavailable and the current access
// token has expired.
func (m *Manager) Authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			// Built per request so that wrapping reads no configuration:
			// function registration tests wrap handlers of an empty
			// Platform.
			identity.Authenticate(m.cfg.Validator)(next).ServeHTTP(w, r)
			return
		}
		m.authenticateCookie(w, r, next)
	})
}

func (m *Manager) authenticateCookie(w http.ResponseWriter, r *http.Request, next http.Handler) {
	ctx := r.Context()
	logger := customhandler.Logger(ctx)

	cookie, err := r.Cookie(SessionCookieName)
	if err != nil {
		w.Header().Set("WWW-Authenticate", "Bearer")
		problem.Write(w, r, http.StatusUnauthorized, "Sign in at /api/auth/login, or send an \"Authorization: Bearer <access token>\" header.")
		return
	}
	var current sessionState
	if err := m.cfg.Sealer.Open(SessionCookieName, cookie.Value, &current); err != nil {
		logger.Warn("session cookie rejected", slog.Any("error", err))
		m.endSession(w, r)
		return
	}
	if !safeMethod(r.Method) {
		if err := m.checkSameOrigin(r); err != nil {
			logger.Warn("cookie-authenticated request rejected by the CSRF check", slog.String("method", r.Method), slog.Any("error", err))
			problem.Write(w, r, http.StatusForbidden, "A cookie-authenticated "+r.Method+" request must come from this site: "+err.Error()+".")
			return
		}
	}

	claims, validateErr := m.cfg.Validator.Validate(ctx, current.AccessToken)
	switch {
	case errors.Is(validateErr, identity.ErrJWKSUnavailable):
		logger.Warn("session access token not checked, JWKS unavailable", slog.Any("error", validateErr))
		writeUnavailable(w, r)
		return
	case validateErr != nil && !errors.Is(validateErr, identity.ErrExpiredToken):
		// The sealed cookie proves that WorkOS issued this token, so an
		// invalid one was signed by a key WorkOS has since dropped or
		// carries an issuer the settings no longer accept. A refresh
		// decides: only invalid_grant ends the session.
		logger.Info("session access token rejected, refreshing", slog.Any("error", validateErr))
	}

	if validateErr != nil || needsRefresh(current, m.cfg.Now()) {
		refreshedClaims, refreshed, err := m.refresh(ctx, r, current, "")
		switch {
		case err == nil:
			if err := m.setSessionCookie(w, refreshed); err != nil {
				m.internalError(w, r, "seal the session cookie", err)
				return
			}
			claims, current = refreshedClaims, refreshed
		case errors.Is(err, ErrSessionEnded):
			logger.Info("session ended by WorkOS", slog.Any("error", err))
			m.endSession(w, r)
			return
		case validateErr == nil:
			// The current access token is still valid, so serve the
			// request and refresh on a later one.
			logger.Warn("session refresh failed, serving with the current access token", slog.Any("error", err))
		default:
			logger.Error("session refresh failed and the access token is expired or invalid", slog.Any("error", err))
			writeUnavailable(w, r)
			return
		}
	}

	if claims.OrganizationID == "" {
		problem.Write(w, r, http.StatusForbidden, "The session is not signed in to an organization. Sign in again and choose one.")
		return
	}
	ctx = identity.ContextWithClaims(ctx, claims)
	ctx = context.WithValue(ctx, sessionContextKey{}, &current)
	next.ServeHTTP(w, r.WithContext(ctx))
}

// sessionFromContext returns the cookie session Authenticate read, or nil
// for a bearer-authenticated request.
func sessionFromContext(ctx context.Context) *sessionState {
	s, _ := ctx.Value(sessionContextKey{}).(*sessionState)
	return s
}

// endSession clears the session cookie and responds with 401.
func (m *Manager) endSession(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, expiredCookie(SessionCookieName, "/"))
	w.Header().Set("WWW-Authenticate", "Bearer")
	problem.Write(w, r, http.StatusUnauthorized, "The session ended. Sign in again at /api/auth/login.")
}

func writeUnavailable(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Retry-After", retryAfterSeconds)
	problem.Write(w, r, http.StatusServiceUnavailable, "The session cannot be checked or refreshed because WorkOS is unavailable. Retry shortly.")
}

func safeMethod(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}

// checkSameOrigin is the CSRF defence for cookie-authenticated requests
// that change state. SameSite=Lax already keeps the cookie off cross-site
// POSTs in current browsers; this check also covers same-site but
// cross-origin pages and older browsers. It uses the Fetch Metadata header
// when the browser sends one (Sec-Fetch-Site must be "same-origin") and
// otherwise requires an Origin header equal to the public base URL's
// origin. A request with neither header is rejected: browsers send at
// least one of them on every POST, PUT, PATCH and DELETE.
func (m *Manager) checkSameOrigin(r *http.Request) error {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		if site != "same-origin" {
			return errors.New("Sec-Fetch-Site is " + site + ", want same-origin")
		}
		return nil
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return errors.New("the request has neither a Sec-Fetch-Site nor an Origin header")
	}
	if origin != m.publicOrigin {
		return errors.New("Origin " + origin + " is not " + m.publicOrigin)
	}
	return nil
}
