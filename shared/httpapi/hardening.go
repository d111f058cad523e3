package httpapi

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/bondingai/platform/shared/problem"
)

// ContentSecurityPolicyDefault allows nothing to load, which suits JSON
// responses. A handler that serves a page, such as the analytics
// dashboard, replaces it with its own policy.
const ContentSecurityPolicyDefault = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// strictTransportSecurity asks browsers to use HTTPS for a year.
const strictTransportSecurity = "max-age=31536000; includeSubDomains"

// corsMaxAgeSeconds is how long a browser may cache a preflight answer.
const corsMaxAgeSeconds = "600"

// Hardening configures Harden.
type Hardening struct {
	// AllowedOrigins are the exact origins (scheme://host[:port]) whose
	// browser pages may call the API. Requests from other origins get no
	// CORS headers, so browsers withhold the response from the page.
	AllowedOrigins []string
	// MaxBodyBytes caps the request body; 0 means no cap.
	MaxBodyBytes int64
}

// Harden wraps next with the protections every HTTP function needs:
// security headers on every response, CORS for the allowed origins only,
// preflight answers, and a request body cap. A body whose Content-Length
// is over the cap is rejected with 413 before next runs. A body that
// turns out longer than the cap fails next's reads with
// *http.MaxBytesError.
//
// CORS responses do not allow credentials, so a cross-origin page must
// send a bearer token. Cookie-authenticated state changes are guarded by
// the session package's Origin check.
func Harden(next http.Handler, config Hardening) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		header := w.Header()
		header.Set("X-Content-Type-Options", "nosniff")
		header.Set("Referrer-Policy", "no-referrer")
		header.Set("X-Frame-Options", "DENY")
		header.Set("Content-Security-Policy", ContentSecurityPolicyDefault)
		header.Set("Cache-Control", "no-store")
		if isHTTPS(r) {
			header.Set("Strict-Transport-Security", strictTransportSecurity)
		}

		origin := r.Header.Get("Origin")
		allowed := origin != "" && slices.Contains(config.AllowedOrigins, origin)
		header.Add("Vary", "Origin")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			answerPreflight(w, r, allowed)
			return
		}
		if allowed {
			header.Set("Access-Control-Allow-Origin", origin)
			header.Set("Access-Control-Expose-Headers", "Location, Retry-After")
		}

		if config.MaxBodyBytes > 0 && r.Body != nil {
			if r.ContentLength > config.MaxBodyBytes {
				problem.Write(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("The request body is larger than %d bytes.", config.MaxBodyBytes))
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, config.MaxBodyBytes)
		}
		next.ServeHTTP(w, r)
	})
}

// answerPreflight answers a CORS preflight request: 204 with the allowed
// methods and headers for an allowed origin, 403 for any other.
//
// NOTE: no function.json lists the OPTIONS method, so the Functions host
// does not forward preflights to the handler yet. Until the routes list it,
// cross-origin browser calls also need the function app's own CORS setting.
func answerPreflight(w http.ResponseWriter, r *http.Request, allowed bool) {
	if !allowed {
		problem.Write(w, r, http.StatusForbidden, "Cross-origin requests from this origin are not allowed.")
		return
	}
	header := w.Header()
	header.Add("Vary", "Access-Control-Request-Method")
	header.Add("Vary", "Access-Control-Request-Headers")
	header.Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
	header.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE")
	header.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept")
	header.Set("Access-Control-Max-Age", corsMaxAgeSeconds)
	w.WriteHeader(http.StatusNoContent)
}

// isHTTPS reports whether the client reached the platform over HTTPS:
// directly, or through the Azure front end, which terminates TLS and sets
// X-Forwarded-Proto.
func isHTTPS(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}
