package workosstandin

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Session statuses.
const (
	SessionActive  = "active"
	SessionRevoked = "revoked"
)

// Session is an AuthKit session: one sign-in and the chain of refresh tokens
// that extends it. Access tokens carry its ID as sid.
type Session struct {
	Object         string `json:"object"`
	ID             string `json:"id"`
	UserID         string `json:"user_id"`
	OrganizationID string `json:"organization_id,omitempty"`
	Status         string `json:"status"`
	AuthMethod     string `json:"auth_method"`
	IPAddress      string `json:"ip_address,omitempty"`
	UserAgent      string `json:"user_agent,omitempty"`
	CreatedAt      string `json:"created_at"`
	UpdatedAt      string `json:"updated_at"`
}

// refreshToken is one issued refresh token. Only its SHA-256 is stored, so
// the state file cannot be used to continue a session.
type refreshToken struct {
	Hash      string `json:"hash"`
	SessionID string `json:"session_id"`
	Used      bool   `json:"used"`
}

// Authentication methods the stand-in reports. The hosted login requests an
// email address only, which is closest to WorkOS's Magic Auth.
const (
	authMethodHostedLogin = "MagicAuth"
	authMethodDevToken    = "Impersonation"
)

// oauthError is the OAuth 2.0 error body of the authenticate endpoint.
// workos-go v4 copies error into HTTPError.ErrorCode.
type oauthError struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// OAuth error codes of the authenticate endpoint.
const (
	errorInvalidGrant         = "invalid_grant"
	errorInvalidClient        = "invalid_client"
	errorInvalidRequest       = "invalid_request"
	errorUnsupportedGrantType = "unsupported_grant_type"
)

func writeOAuthError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, oauthError{Error: code, ErrorDescription: description})
}

// authenticateRequest is the body workos-go v4 sends from
// AuthenticateWithCode and AuthenticateWithRefreshToken.
type authenticateRequest struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	GrantType    string `json:"grant_type"`
	Code         string `json:"code"`
	CodeVerifier string `json:"code_verifier"`
	// RedirectURI is optional: workos-go v4 does not send it, but when a
	// client does, it must be the redirect URI the code was issued for.
	RedirectURI    string `json:"redirect_uri"`
	RefreshToken   string `json:"refresh_token"`
	OrganizationID string `json:"organization_id"`
	IPAddress      string `json:"ip_address"`
	UserAgent      string `json:"user_agent"`
}

// authenticateResponse is the body of a successful authenticate call. The
// refresh grant returns the same fields, of which workos-go v4 keeps only
// the tokens.
type authenticateResponse struct {
	User                 User    `json:"user"`
	OrganizationID       *string `json:"organization_id"`
	AccessToken          string  `json:"access_token"`
	RefreshToken         string  `json:"refresh_token"`
	AuthenticationMethod string  `json:"authentication_method"`
	Impersonator         any     `json:"impersonator"`
}

// grantError is a failed grant with the status and OAuth body to return.
type grantError struct {
	status      int
	code        string
	description string
}

func (e *grantError) Error() string { return e.code + ": " + e.description }

func invalidGrant(description string) *grantError {
	return &grantError{status: http.StatusBadRequest, code: errorInvalidGrant, description: description}
}

func (s *Server) handleAuthenticate(w http.ResponseWriter, r *http.Request) {
	var req authenticateRequest
	if err := decodeJSONBody(w, r, &req); err != nil {
		writeOAuthError(w, http.StatusBadRequest, errorInvalidRequest, err.Error())
		return
	}
	if req.ClientID != s.clientID {
		writeOAuthError(w, http.StatusUnauthorized, errorInvalidClient, fmt.Sprintf("Invalid client ID '%s'.", req.ClientID))
		return
	}
	if subtle.ConstantTimeCompare([]byte(req.ClientSecret), []byte(s.apiKey)) != 1 {
		writeOAuthError(w, http.StatusUnauthorized, errorInvalidClient, "Invalid client secret.")
		return
	}

	var resp authenticateResponse
	var err error
	switch req.GrantType {
	case "authorization_code":
		resp, err = s.exchangeCode(req)
	case "refresh_token":
		resp, err = s.refreshSession(req)
	default:
		writeOAuthError(w, http.StatusBadRequest, errorUnsupportedGrantType, fmt.Sprintf("Grant type '%s' is not supported.", req.GrantType))
		return
	}

	var grantErr *grantError
	var switchErr *organizationSwitchError
	switch {
	case errors.As(err, &grantErr):
		s.logger.Info("workos stand-in rejected grant", "grant_type", req.GrantType, "error", grantErr.code)
		writeOAuthError(w, grantErr.status, grantErr.code, grantErr.description)
	case errors.As(err, &switchErr):
		writeError(w, http.StatusBadRequest, apiError{Message: switchErr.Error(), Code: "organization_membership_not_found"})
	case err != nil:
		s.logger.Error("workos stand-in failed to authenticate", "grant_type", req.GrantType, "error", err)
		writeInternalError(w)
	default:
		writeJSON(w, http.StatusOK, resp)
	}
}

// exchangeCode redeems an authorization code. The code is spent by the first
// attempt, whether it succeeds or not.
func (s *Server) exchangeCode(req authenticateRequest) (authenticateResponse, error) {
	if req.Code == "" {
		return authenticateResponse{}, &grantError{status: http.StatusBadRequest, code: errorInvalidRequest, description: "The code parameter is missing."}
	}
	code, ok := s.codes.take(req.Code, s.now())
	if !ok {
		return authenticateResponse{}, invalidGrant("The code is invalid, expired or already used.")
	}
	if code.ClientID != req.ClientID {
		return authenticateResponse{}, invalidGrant("The code was issued to another client.")
	}
	if req.RedirectURI != "" && req.RedirectURI != code.RedirectURI {
		return authenticateResponse{}, invalidGrant("The redirect_uri does not match the one the code was issued for.")
	}
	if err := verifyPKCE(code, req.CodeVerifier); err != nil {
		return authenticateResponse{}, err
	}

	var resp authenticateResponse
	err := s.store.update(func(st *state) error {
		user, ok := findByID(st.Users, code.UserID, userID)
		if !ok {
			return invalidGrant("The user of the code no longer exists.")
		}
		if code.OrganizationID != "" && activeMembershipLocked(st, code.UserID, code.OrganizationID) == nil {
			return invalidGrant("The user is no longer a member of the organization of the code.")
		}

		now := s.now()
		lastSignIn := formatTimestamp(now)
		user.LastSignInAt = &lastSignIn
		session := s.createSessionLocked(st, code.UserID, code.OrganizationID, authMethodHostedLogin, req.IPAddress, req.UserAgent)
		tokens, err := s.issueTokensLocked(st, session)
		if err != nil {
			return err
		}
		resp = tokens
		resp.User = *user
		resp.AuthenticationMethod = authMethodHostedLogin
		return nil
	})
	return resp, err
}

// verifyPKCE checks the verifier against the S256 challenge of the code. A
// code issued without a challenge accepts no verifier.
func verifyPKCE(code *authorizationCode, verifier string) error {
	if code.CodeChallenge == "" {
		if verifier != "" {
			return invalidGrant("The code was issued without a code challenge, but a code verifier was sent.")
		}
		return nil
	}
	if verifier == "" {
		return invalidGrant("The code verifier is missing.")
	}
	sum := sha256.Sum256([]byte(verifier))
	computed := base64.RawURLEncoding.EncodeToString(sum[:])
	if subtle.ConstantTimeCompare([]byte(computed), []byte(code.CodeChallenge)) != 1 {
		return invalidGrant("The code verifier does not match the code challenge.")
	}
	return nil
}

// organizationSwitchError rejects a refresh into an organization where the
// user has no active membership. It does not spend the refresh token.
type organizationSwitchError struct {
	userID, organizationID string
}

func (e *organizationSwitchError) Error() string {
	return fmt.Sprintf("User '%s' is not a member of organization '%s'.", e.userID, e.organizationID)
}

// refreshSession spends a refresh token and issues a new pair. Each refresh
// token is single-use: a second use fails with invalid_grant.
// NOTE: WorkOS tolerates reuse within a short grace window; the stand-in has
// none, so clients that spend a token twice fail here first.
func (s *Server) refreshSession(req authenticateRequest) (authenticateResponse, error) {
	if req.RefreshToken == "" {
		return authenticateResponse{}, &grantError{status: http.StatusBadRequest, code: errorInvalidRequest, description: "The refresh_token parameter is missing."}
	}
	hash := hashRefreshToken(req.RefreshToken)

	var resp authenticateResponse
	err := s.store.update(func(st *state) error {
		token := findRefreshTokenLocked(st, hash)
		if token == nil {
			return invalidGrant("The refresh token is invalid.")
		}
		if token.Used {
			return invalidGrant("Refresh token already exchanged.")
		}
		session, ok := findByID(st.Sessions, token.SessionID, sessionID)
		if !ok || session.Status != SessionActive {
			return invalidGrant("Session has already ended.")
		}
		user, ok := findByID(st.Users, session.UserID, userID)
		if !ok {
			return invalidGrant("The user of the session no longer exists.")
		}

		organization := session.OrganizationID
		if req.OrganizationID != "" {
			if activeMembershipLocked(st, session.UserID, req.OrganizationID) == nil {
				return &organizationSwitchError{userID: session.UserID, organizationID: req.OrganizationID}
			}
			organization = req.OrganizationID
		} else if organization != "" && activeMembershipLocked(st, session.UserID, organization) == nil {
			return invalidGrant("The user is no longer a member of the organization of the session.")
		}

		token.Used = true
		session.OrganizationID = organization
		session.UpdatedAt = s.nextUpdatedAt(session.UpdatedAt)
		tokens, err := s.issueTokensLocked(st, session)
		if err != nil {
			return err
		}
		resp = tokens
		resp.User = *user
		resp.AuthenticationMethod = session.AuthMethod
		return nil
	})
	return resp, err
}

// createSessionLocked records an active session and emits session.created.
func (s *Server) createSessionLocked(st *state, user, organization, method, ipAddress, userAgent string) *Session {
	now := formatTimestamp(s.now())
	session := &Session{
		Object:         "session",
		ID:             newID("session"),
		UserID:         user,
		OrganizationID: organization,
		Status:         SessionActive,
		AuthMethod:     method,
		IPAddress:      ipAddress,
		UserAgent:      userAgent,
		CreatedAt:      now,
		UpdatedAt:      now,
	}
	st.Sessions = append(st.Sessions, session)
	s.emitLocked(st, EventSessionCreated, organization, session)
	return session
}

// issueTokensLocked signs an access token for the session and stores a new
// refresh token.
func (s *Server) issueTokensLocked(st *state, session *Session) (authenticateResponse, error) {
	access, _, err := s.signAccessTokenLocked(st, session.UserID, session.OrganizationID, session.ID, s.accessTokenTTL)
	if err != nil {
		return authenticateResponse{}, err
	}
	refresh, err := newRefreshToken()
	if err != nil {
		return authenticateResponse{}, err
	}
	st.RefreshTokens = append(st.RefreshTokens, &refreshToken{Hash: hashRefreshToken(refresh), SessionID: session.ID})

	resp := authenticateResponse{AccessToken: access, RefreshToken: refresh}
	if session.OrganizationID != "" {
		organization := session.OrganizationID
		resp.OrganizationID = &organization
	}
	return resp, nil
}

// signAccessTokenLocked signs an access token with the current key. With an
// organization, the user's active membership there sets role, roles and
// permissions.
func (s *Server) signAccessTokenLocked(st *state, user, organization, session string, ttl time.Duration) (string, time.Time, error) {
	now := s.now()
	claims := AccessTokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    s.IssuerURL(),
			Subject:   user,
			ID:        newID("jti"),
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
		SessionID: session,
	}
	if organization != "" {
		membership := activeMembershipLocked(st, user, organization)
		if membership == nil {
			return "", time.Time{}, fmt.Errorf("%w: user %s, organization %s", errNotAMember, user, organization)
		}
		claims.OrganizationID = organization
		claims.Role = membership.Role.Slug
		claims.Roles = []string{membership.Role.Slug}
		claims.Permissions, _ = RolePermissions(membership.Role.Slug)
	}

	key, err := currentSigningKeyLocked(st)
	if err != nil {
		return "", time.Time{}, err
	}
	signed, err := signWithKey(key, claims, nil)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign access token for user %s: %w", user, err)
	}
	return signed, claims.ExpiresAt.Time, nil
}

// revokeSessionLocked ends an active session and emits session.revoked. It
// reports whether the session was active.
func (s *Server) revokeSessionLocked(st *state, session *Session) bool {
	if session.Status != SessionActive {
		return false
	}
	session.Status = SessionRevoked
	session.UpdatedAt = s.nextUpdatedAt(session.UpdatedAt)
	s.emitLocked(st, EventSessionRevoked, session.OrganizationID, session)
	return true
}

// revokeSessionsLocked revokes every active session that matches.
func (s *Server) revokeSessionsLocked(st *state, matches func(*Session) bool) {
	for _, session := range st.Sessions {
		if matches(session) {
			s.revokeSessionLocked(st, session)
		}
	}
}

// RevokeSession ends a session, after which its refresh tokens fail with
// invalid_grant. Access tokens already issued stay valid until they expire,
// as in WorkOS. Revoking an ended session succeeds without a new event.
func (s *Server) RevokeSession(id string) error {
	var found bool
	err := s.store.update(func(st *state) error {
		session, ok := findByID(st.Sessions, id, sessionID)
		if !ok {
			return nil
		}
		found = true
		s.revokeSessionLocked(st, session)
		return nil
	})
	if err != nil {
		return fmt.Errorf("revoke session %s: %w", id, err)
	}
	if !found {
		return fmt.Errorf("revoke session %s: %w", id, errSessionNotFound)
	}
	return nil
}

var errSessionNotFound = errors.New("session not found")

// revokeSessionRequest is the body workos-go v4 sends from RevokeSession.
type revokeSessionRequest struct {
	SessionID string `json:"session_id"`
}

func (s *Server) handleRevokeSession(w http.ResponseWriter, r *http.Request) {
	var req revokeSessionRequest
	if err := decodeJSONBody(w, r, &req); err != nil {
		writeError(w, http.StatusBadRequest, apiError{Message: err.Error(), Code: "invalid_json"})
		return
	}
	if req.SessionID == "" {
		writeValidationFailed(w, fieldError{Field: "session_id", Code: "session_id_required"})
		return
	}

	err := s.RevokeSession(req.SessionID)
	switch {
	case errors.Is(err, errSessionNotFound):
		writeNotFound(w, "Session", req.SessionID)
	case err != nil:
		s.logger.Error("workos stand-in failed to revoke session", "session_id", req.SessionID, "error", err)
		writeInternalError(w)
	default:
		s.logger.Info("workos stand-in revoked session", "session_id", req.SessionID)
		writeJSON(w, http.StatusOK, map[string]any{})
	}
}

// handleLogout serves the browser logout URL that workos-go's GetLogoutURL
// builds: it ends the session and redirects to return_to, which must have
// the origin of an allowed redirect URI.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("session_id")
	returnTo := r.URL.Query().Get("return_to")
	if id == "" {
		writePage(w, http.StatusBadRequest, "Sign-out failed", "The session_id parameter is missing.")
		return
	}
	if returnTo != "" && !s.allowedReturnURL(returnTo) {
		writePage(w, http.StatusBadRequest, "Sign-out failed", fmt.Sprintf("The return_to URL %q is not an allowed logout redirect.", returnTo))
		return
	}

	err := s.RevokeSession(id)
	switch {
	case errors.Is(err, errSessionNotFound):
		writePage(w, http.StatusNotFound, "Sign-out failed", fmt.Sprintf("Session %q was not found.", id))
		return
	case err != nil:
		s.logger.Error("workos stand-in failed to end session", "session_id", id, "error", err)
		writePage(w, http.StatusInternalServerError, "Sign-out failed", "The stand-in could not end the session. See its log.")
		return
	}

	s.logger.Info("workos stand-in ended session", "session_id", id)
	if returnTo == "" {
		writePage(w, http.StatusOK, "Signed out", "The session has ended. You can close this page.")
		return
	}
	http.Redirect(w, r, returnTo, http.StatusFound)
}

// allowedReturnURL reports whether a logout may redirect to raw: its origin
// must be the origin of a configured redirect URI, or, without configured
// URIs, a loopback host.
func (s *Server) allowedReturnURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() {
		return false
	}
	if len(s.redirectURIs) == 0 {
		return isLoopbackURL(raw) && u.Scheme == "http"
	}
	for _, allowed := range s.redirectURIs {
		a, err := url.Parse(allowed)
		if err == nil && a.Scheme == u.Scheme && a.Host == u.Host {
			return true
		}
	}
	return false
}

func sessionID(session *Session) string { return session.ID }

func findRefreshTokenLocked(st *state, hash string) *refreshToken {
	for _, token := range st.RefreshTokens {
		if subtle.ConstantTimeCompare([]byte(token.Hash), []byte(hash)) == 1 {
			return token
		}
	}
	return nil
}

// newRefreshToken returns 32 random bytes, base64url-encoded.
func newRefreshToken() (string, error) {
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("generate refresh token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(buf), nil
}

func hashRefreshToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
