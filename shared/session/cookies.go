package session

import (
	"net/http"
	"time"
)

// Cookie names. The sealed values also authenticate the name, so a login
// cookie cannot be replayed as a session cookie.
const (
	SessionCookieName = "bondingai_session"
	LoginCookieName   = "bondingai_login"
)

const (
	// loginCookiePath limits the login cookie to the login and callback
	// routes.
	loginCookiePath = "/api/auth"
	// LoginCookieMaxAge bounds how long a started login can be finished.
	LoginCookieMaxAge = 10 * time.Minute
	// SessionCookieMaxAge is how long a browser keeps the session cookie.
	// WorkOS ends the session earlier when its maximum session length or
	// inactivity timeout passes: the next refresh then fails with
	// invalid_grant and the cookie is cleared.
	SessionCookieMaxAge = 30 * 24 * time.Hour
	// maxCookieBytes is the size browsers guarantee for one cookie,
	// name and value included (RFC 6265 section 6.1).
	maxCookieBytes = 4096
)

// loginState is the login cookie's sealed content.
type loginState struct {
	State        string    `json:"state"`
	CodeVerifier string    `json:"code_verifier"`
	ReturnTo     string    `json:"return_to"`
	ExpiresAt    time.Time `json:"expires_at"`
}

// sessionState is the session cookie's sealed content.
type sessionState struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	// SessionID is the AuthKit session (sid claim), for logout.
	SessionID string `json:"session_id"`
	// ExpiresAt is the access token's exp claim.
	ExpiresAt time.Time `json:"expires_at"`
	// Lifetime is the access token's exp minus iat, which selects the
	// refresh margin.
	Lifetime time.Duration `json:"lifetime"`
}

func newCookie(name, value, path string, maxAge time.Duration) *http.Cookie {
	return &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     path,
		MaxAge:   int(maxAge / time.Second),
		HttpOnly: true,
		Secure:   true,
		SameSite: http.SameSiteLaxMode,
	}
}

// expiredCookie returns a cookie that makes the browser delete the cookie
// name at path.
func expiredCookie(name, path string) *http.Cookie {
	c := newCookie(name, "", path, 0)
	c.MaxAge = -1
	return c
}
