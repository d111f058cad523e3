package workosstandin

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Access token lifetimes of the development endpoint.
const (
	// AccessTokenTTLDefault is the lifetime when the request names none.
	// NOTE: 5 minutes is the AuthKit default reported by WorkOS SDK users;
	// each WorkOS environment configures its own duration.
	AccessTokenTTLDefault = 5 * time.Minute
	// AccessTokenTTLMax bounds a requested lifetime, so a forgotten
	// development token does not stay valid for long.
	AccessTokenTTLMax = 24 * time.Hour
)

// AccessTokenRequest is the body of POST /_standin/access-tokens.
type AccessTokenRequest struct {
	UserID string `json:"user_id"`
	// OrganizationID scopes the token to an organization in which the user
	// has an active membership; the membership's role sets role, roles and
	// permissions. Empty mints a token without org_id.
	OrganizationID string `json:"organization_id"`
	// TTLSeconds is the token lifetime in seconds; 0 means
	// AccessTokenTTLDefault.
	TTLSeconds int `json:"ttl_seconds"`
}

// AccessToken is the response of POST /_standin/access-tokens.
type AccessToken struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	ExpiresAt   string `json:"expires_at"`
}

// AccessTokenClaims are the claims of an AuthKit access token, as the WorkOS
// session-token reference lists them.
type AccessTokenClaims struct {
	jwt.RegisteredClaims
	OrganizationID string   `json:"org_id,omitempty"`
	Role           string   `json:"role,omitempty"`
	Roles          []string `json:"roles,omitempty"`
	Permissions    []string `json:"permissions,omitempty"`
	SessionID      string   `json:"sid"`
}

// Errors of MintAccessToken that map to client errors.
var (
	errUserNotFound         = errors.New("user not found")
	errOrganizationNotFound = errors.New("organization not found")
	errNotAMember           = errors.New("user has no active membership in the organization")
	errInvalidTTL           = errors.New("invalid token lifetime")
)

// MintAccessToken signs an access token for a user without a sign-in, as a
// shortcut for development and tests. Each token gets a session of its own,
// so revocation and logout work with its sid, but no refresh token.
func (s *Server) MintAccessToken(req AccessTokenRequest) (AccessToken, error) {
	maxSeconds := int(AccessTokenTTLMax / time.Second)
	ttl := AccessTokenTTLDefault
	switch {
	case req.TTLSeconds < 0 || req.TTLSeconds > maxSeconds:
		return AccessToken{}, fmt.Errorf("%w: ttl_seconds %d is outside 1..%d", errInvalidTTL, req.TTLSeconds, maxSeconds)
	case req.TTLSeconds > 0:
		ttl = time.Duration(req.TTLSeconds) * time.Second
	}

	var signed string
	var expiresAt time.Time
	err := s.store.update(func(st *state) error {
		if _, ok := findByID(st.Users, req.UserID, userID); !ok {
			return fmt.Errorf("%w: %s", errUserNotFound, req.UserID)
		}
		if req.OrganizationID != "" {
			if _, ok := findByID(st.Organizations, req.OrganizationID, organizationID); !ok {
				return fmt.Errorf("%w: %s", errOrganizationNotFound, req.OrganizationID)
			}
			if activeMembershipLocked(st, req.UserID, req.OrganizationID) == nil {
				return fmt.Errorf("%w: user %s, organization %s", errNotAMember, req.UserID, req.OrganizationID)
			}
		}

		session := s.createSessionLocked(st, req.UserID, req.OrganizationID, authMethodDevToken, "", "")
		var err error
		signed, expiresAt, err = s.signAccessTokenLocked(st, req.UserID, req.OrganizationID, session.ID, ttl)
		return err
	})
	if err != nil {
		return AccessToken{}, fmt.Errorf("mint access token for user %s: %w", req.UserID, err)
	}
	return AccessToken{
		AccessToken: signed,
		TokenType:   "Bearer",
		ExpiresIn:   int(ttl.Seconds()),
		ExpiresAt:   formatTimestamp(expiresAt),
	}, nil
}

// SignClaims signs any claims with the current signing key (RS256, kid in the
// header). Tests use it to build tokens that MintAccessToken would never
// issue, such as tokens without sub or with a future nbf.
func (s *Server) SignClaims(claims jwt.Claims) (string, error) {
	return s.SignClaimsWithHeader(claims, nil)
}

// SignClaimsWithHeader is SignClaims with header entries that replace the
// defaults. A nil value removes the entry, so {"kid": nil} signs a token
// without a key ID. The alg entry cannot be changed: the signature is RS256.
func (s *Server) SignClaimsWithHeader(claims jwt.Claims, header map[string]any) (string, error) {
	var key *signingKey
	var err error
	s.store.read(func(st *state) {
		key, err = currentSigningKeyLocked(st)
	})
	if err != nil {
		return "", err
	}
	return signWithKey(key, claims, header)
}

// signWithKey signs claims with RS256 and key, with kid in the header and the
// header entries of SignClaimsWithHeader.
func signWithKey(key *signingKey, claims jwt.Claims, header map[string]any) (string, error) {
	token := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	token.Header["kid"] = key.ID
	for name, value := range header {
		switch {
		case name == "alg":
			continue
		case value == nil:
			delete(token.Header, name)
		default:
			token.Header[name] = value
		}
	}
	signed, err := token.SignedString(key.private)
	if err != nil {
		return "", fmt.Errorf("sign token with key %s: %w", key.ID, err)
	}
	return signed, nil
}

func (s *Server) handleMintAccessToken(w http.ResponseWriter, r *http.Request) {
	var req AccessTokenRequest
	if err := decodeJSONBody(w, r, &req); err != nil {
		writeError(w, http.StatusBadRequest, apiError{Message: err.Error(), Code: "invalid_json"})
		return
	}
	if req.UserID == "" {
		writeValidationFailed(w, fieldError{Field: "user_id", Code: "user_id_required"})
		return
	}

	token, err := s.MintAccessToken(req)
	switch {
	case errors.Is(err, errUserNotFound):
		writeNotFound(w, "User", req.UserID)
	case errors.Is(err, errOrganizationNotFound):
		writeNotFound(w, "Organization", req.OrganizationID)
	case errors.Is(err, errNotAMember):
		writeError(w, http.StatusUnprocessableEntity, apiError{Message: err.Error(), Code: "organization_membership_not_found"})
	case errors.Is(err, errInvalidTTL):
		writeValidationFailed(w, fieldError{Field: "ttl_seconds", Code: "ttl_seconds_invalid"})
	case err != nil:
		s.logger.Error("workos stand-in failed to mint access token", "user_id", req.UserID, "error", err)
		writeInternalError(w)
	default:
		s.logger.Info("workos stand-in minted access token", "user_id", req.UserID, "org_id", req.OrganizationID, "ttl_seconds", token.ExpiresIn)
		writeJSON(w, http.StatusCreated, token)
	}
}
