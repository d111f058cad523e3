package session

import (
	"context"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"unicode"

	"github.com/jackc/pgx/v5"
	"github.com/workos/workos-go/v4/pkg/organizations"
	"github.com/workos/workos-go/v4/pkg/usermanagement"
	"github.com/workos/workos-go/v4/pkg/workos_errors"

	"github.com/bondingai/platform/shared/analytics"
	"github.com/bondingai/platform/shared/customhandler"
	"github.com/bondingai/platform/shared/identity"
	"github.com/bondingai/platform/shared/problem"
	"github.com/bondingai/platform/shared/store"
)

// providerAuthKit selects the AuthKit hosted sign-in page.
const providerAuthKit = "authkit"

// maxLoginHintLength is the longest login_hint passed on: an email
// address has at most 254 characters (RFC 5321 section 4.5.3.1.3 and
// its errata).
const maxLoginHintLength = 254

// WorkOS object IDs: a prefix and a 26-character Crockford base32 ULID.
var (
	organizationIDPattern = regexp.MustCompile(`^org_[0-9A-HJKMNP-TV-Z]{26}$`)
	connectionIDPattern   = regexp.MustCompile(`^conn_[0-9A-HJKMNP-TV-Z]{26}$`)
	oauthErrorPattern     = regexp.MustCompile(`^[a-z_]{1,64}$`)
)

// ValidOrganizationID reports whether id has the shape of a WorkOS
// organization ID.
func ValidOrganizationID(id string) bool {
	return organizationIDPattern.MatchString(id)
}

// Login handles GET /api/auth/login: it keeps a fresh state, a PKCE code
// verifier and return_to in the sealed login cookie and redirects the
// browser to the WorkOS authorization URL. The query may carry return_to
// (a same-site path, default "/"), organization_id or connection_id (which
// select the organization's SSO instead of the AuthKit page) and
// login_hint.
func (m *Manager) Login(w http.ResponseWriter, r *http.Request) {
	query := r.URL.Query()
	returnTo := "/"
	if value := query.Get("return_to"); value != "" {
		var err error
		if returnTo, err = ValidateReturnTo(value); err != nil {
			// The error reads "invalid return_to: <reason>"; the reason alone
			// completes the sentence.
			reason := strings.TrimPrefix(err.Error(), ErrInvalidReturnTo.Error()+": ")
			problem.Write(w, r, http.StatusBadRequest, "return_to must be a path on this site, such as /documents ("+reason+").")
			return
		}
	}
	organizationID, connectionID, loginHint := query.Get("organization_id"), query.Get("connection_id"), query.Get("login_hint")
	switch {
	case organizationID != "" && !organizationIDPattern.MatchString(organizationID):
		problem.Write(w, r, http.StatusBadRequest, "organization_id must be a WorkOS organization ID such as org_01H…, 26 characters after the prefix.")
		return
	case connectionID != "" && !connectionIDPattern.MatchString(connectionID):
		problem.Write(w, r, http.StatusBadRequest, "connection_id must be a WorkOS connection ID such as conn_01H…, 26 characters after the prefix.")
		return
	case organizationID != "" && connectionID != "":
		problem.Write(w, r, http.StatusBadRequest, "Give organization_id or connection_id, not both.")
		return
	case !validLoginHint(loginHint):
		problem.Write(w, r, http.StatusBadRequest, "login_hint must be an email address of at most 254 characters without spaces.")
		return
	}

	// NOTE: one login cookie per browser, so a login started in a second
	// tab replaces the first one's, and the first tab's callback then fails
	// with 400 and must start again.
	login := loginState{
		State:        NewState(),
		CodeVerifier: NewCodeVerifier(),
		ReturnTo:     returnTo,
		ExpiresAt:    m.cfg.Now().Add(LoginCookieMaxAge),
	}
	opts := usermanagement.GetAuthorizationURLOpts{
		ClientID:            m.cfg.ClientID,
		RedirectURI:         m.cfg.RedirectURI,
		OrganizationID:      organizationID,
		ConnectionID:        connectionID,
		LoginHint:           loginHint,
		State:               login.State,
		CodeChallenge:       CodeChallengeS256(login.CodeVerifier),
		CodeChallengeMethod: CodeChallengeMethodS256,
	}
	if organizationID == "" && connectionID == "" {
		opts.Provider = providerAuthKit
	}
	authorizationURL, err := m.cfg.Users.GetAuthorizationURL(opts)
	if err != nil {
		m.internalError(w, r, "build the authorization URL", err)
		return
	}
	sealed, err := m.cfg.Sealer.Seal(LoginCookieName, login)
	if err != nil {
		m.internalError(w, r, "seal the login cookie", err)
		return
	}

	http.SetCookie(w, newCookie(LoginCookieName, sealed, loginCookiePath, LoginCookieMaxAge))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, authorizationURL.String(), http.StatusFound)
}

func validLoginHint(hint string) bool {
	if len(hint) > maxLoginHintLength {
		return false
	}
	return !strings.ContainsFunc(hint, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) })
}

// Callback handles GET /api/auth/callback: it checks state against the login
// cookie, exchanges the code with its PKCE verifier, validates the access
// token, mirrors the user, organization and membership, sets the session
// cookie and redirects to the return_to of the login. Responses never repeat
// the code or a token.
func (m *Manager) Callback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	logger := customhandler.Logger(ctx)
	w.Header().Set("Cache-Control", "no-store")
	query := r.URL.Query()

	login, ok := m.readLoginCookie(w, r)
	// The login cookie is single-use: clear it on every outcome.
	http.SetCookie(w, expiredCookie(LoginCookieName, loginCookiePath))
	if errorCode := query.Get("error"); errorCode != "" {
		if !oauthErrorPattern.MatchString(errorCode) {
			errorCode = "unknown"
		}
		logger.Info("sign-in failed at the identity provider", slog.String("error_code", errorCode))
		problem.Write(w, r, http.StatusUnauthorized, "Sign-in failed at the identity provider ("+errorCode+"). Start again at /api/auth/login.")
		return
	}
	code, state := query.Get("code"), query.Get("state")
	if code == "" || state == "" {
		problem.Write(w, r, http.StatusBadRequest, "The callback needs the code and state query parameters that WorkOS sends.")
		return
	}
	if !ok {
		problem.Write(w, r, http.StatusBadRequest, "The sign-in started in another browser or more than 10 minutes ago. Start again at /api/auth/login.")
		return
	}
	if subtle.ConstantTimeCompare([]byte(state), []byte(login.State)) != 1 {
		logger.Warn("sign-in callback rejected: state does not match the login cookie")
		problem.Write(w, r, http.StatusBadRequest, "The sign-in state does not match this browser's login. Start again at /api/auth/login.")
		return
	}

	response, err := m.cfg.Users.AuthenticateWithCode(ctx, usermanagement.AuthenticateWithCodeOpts{
		ClientID:     m.cfg.ClientID,
		Code:         code,
		CodeVerifier: login.CodeVerifier,
		IPAddress:    clientIP(r),
		UserAgent:    r.UserAgent(),
	})
	if err != nil {
		m.writeExchangeError(w, r, err)
		return
	}
	claims, newSession, status := m.validateNewTokens(ctx, response.AccessToken, response.RefreshToken)
	if status != 0 {
		m.writeTokenError(w, r, status)
		return
	}

	if err := m.mirror(ctx, claims, response.User.Email); err != nil {
		logger.Error("mirror signed-in user", slog.Any("error", err))
		problem.Write(w, r, http.StatusServiceUnavailable, "The service cannot reach its database. Retry the sign-in shortly.")
		return
	}
	if err := m.setSessionCookie(w, newSession); err != nil {
		m.internalError(w, r, "seal the session cookie", err)
		return
	}
	logger.Info("user signed in", slog.String("workos_user_id", claims.UserID), slog.String("workos_organization_id", claims.OrganizationID))
	http.Redirect(w, r, login.ReturnTo, http.StatusFound)
}

func (m *Manager) readLoginCookie(w http.ResponseWriter, r *http.Request) (loginState, bool) {
	cookie, err := r.Cookie(LoginCookieName)
	if err != nil {
		return loginState{}, false
	}
	var login loginState
	if err := m.cfg.Sealer.Open(LoginCookieName, cookie.Value, &login); err != nil {
		customhandler.Logger(r.Context()).Warn("login cookie rejected", slog.Any("error", err))
		return loginState{}, false
	}
	if !m.cfg.Now().Before(login.ExpiresAt) {
		return loginState{}, false
	}
	return login, true
}

// writeExchangeError maps a failed code exchange: WorkOS rejecting the code
// is the caller's problem (401), anything else is WorkOS being unavailable
// (502).
func (m *Manager) writeExchangeError(w http.ResponseWriter, r *http.Request, err error) {
	logger := customhandler.Logger(r.Context())
	var httpErr workos_errors.HTTPError
	if errors.As(err, &httpErr) && httpErr.Code >= 400 && httpErr.Code < 500 && httpErr.Code != http.StatusTooManyRequests {
		logger.Info("authorization code rejected", slog.Int("status", httpErr.Code), slog.String("error_code", httpErr.ErrorCode))
		problem.Write(w, r, http.StatusUnauthorized, "WorkOS rejected the sign-in code; it may have expired or been used already. Start again at /api/auth/login.")
		return
	}
	logger.Error("exchange authorization code", slog.Any("error", err))
	problem.Write(w, r, http.StatusBadGateway, "WorkOS could not be reached to finish the sign-in. Retry shortly.")
}

// writeTokenError responds for an access token from WorkOS that fails
// validation.
func (m *Manager) writeTokenError(w http.ResponseWriter, r *http.Request, status int) {
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", retryAfterSeconds)
		problem.Write(w, r, status, "The access token cannot be checked because the identity provider's signing keys are unavailable. Retry shortly.")
		return
	}
	problem.Write(w, r, http.StatusBadGateway, "WorkOS returned an access token that fails validation.")
}

// mirror stores the signed-in user with email, the organization with its
// name and the membership with the token's role.
func (m *Manager) mirror(ctx context.Context, claims *identity.Claims, email string) error {
	userID, err := m.cfg.Store.EnsureUserWithEmail(ctx, claims.UserID, email)
	if err != nil {
		return err
	}
	if claims.OrganizationID == "" {
		return nil
	}
	orgID, err := m.cfg.Store.EnsureOrganization(ctx, claims.OrganizationID)
	if err != nil {
		return err
	}
	// The name is for display only, so a failed lookup keeps the sign-in.
	org, err := m.cfg.Organizations.GetOrganization(ctx, organizations.GetOrganizationOpts{Organization: claims.OrganizationID})
	if err != nil {
		customhandler.Logger(ctx).Warn("organization name not read", slog.String("workos_organization_id", claims.OrganizationID), slog.Any("error", err))
	} else if err := m.cfg.Store.SetOrganizationName(ctx, orgID, org.Name); err != nil {
		return err
	}
	err = m.cfg.Store.InOrg(ctx, orgID, func(tx pgx.Tx) error {
		return store.EnsureMembership(ctx, tx, orgID, userID, claims.Role)
	})
	if err == nil {
		m.cfg.Recorder.Record(ctx, analytics.Event{OrgID: orgID, UserID: userID, Type: analytics.EventSignIn})
	}
	return err
}

// clientIP returns the browser's address for WorkOS's session record: the
// first X-Forwarded-For entry, which the Azure front end sets, or the
// connection's peer.
func clientIP(r *http.Request) string {
	if forwarded := r.Header.Get("X-Forwarded-For"); forwarded != "" {
		first, _, _ := strings.Cut(forwarded, ",")
		if ip := net.ParseIP(strings.TrimSpace(first)); ip != nil {
			return ip.String()
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return ""
	}
	return host
}

func (m *Manager) internalError(w http.ResponseWriter, r *http.Request, operation string, err error) {
	customhandler.Logger(r.Context()).Error(operation, slog.Any("error", err))
	problem.Write(w, r, http.StatusInternalServerError, "The server failed to "+operation+".")
}
