package session_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bondingai/platform/shared/identity"
	"github.com/bondingai/platform/shared/workosstandin"
)

// BenchmarkAuthenticateCookie measures the cookie path of Authenticate for
// a session that needs no refresh: open the sealed cookie and validate its
// access token with cached keys.
func BenchmarkAuthenticateCookie(b *testing.B) {
	f := newFixture(b)
	cookie := f.signIn(b)
	handler := f.manager.Authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := identity.ClaimsFromContext(r.Context()); !ok {
			b.Fatal("no claims in the request context")
		}
	}))
	req := httptest.NewRequest(http.MethodGet, "/api/me", nil)
	req.AddCookie(cookie)

	for b.Loop() {
		recorder := httptest.NewRecorder()
		handler.ServeHTTP(recorder, req)
		if recorder.Code != http.StatusOK {
			b.Fatalf("status %d", recorder.Code)
		}
	}
}

// BenchmarkAuthenticateBearer measures the same request with the access
// token in an Authorization header, for comparison.
func BenchmarkAuthenticateBearer(b *testing.B) {
	f := newFixture(b)
	cookie := f.signIn(b)
	resp, body := f.get(b, f.app.URL+"/api/whoami", cookie)
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("whoami: %d %s", resp.StatusCode, body)
	}
	var who map[string]string
	if err := json.Unmarshal([]byte(body), &who); err != nil {
		b.Fatal(err)
	}
	token, err := f.standin.MintAccessToken(workosstandin.AccessTokenRequest{UserID: who["user_id"], OrganizationID: who["org_id"], TTLSeconds: 3600})
	if err != nil {
		b.Fatal(err)
	}
	handler := f.manager.Authenticate(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	req := httptest.NewRequest(http.MethodGet, "/api/me", nil)
	req.Header.Set("Authorization", "Bearer "+token.AccessToken)

	for b.Loop() {
		recorder := httptest.NewRecorder()
		handler.ServeHTTP(recorder, req)
		if recorder.Code != http.StatusOK {
			b.Fatalf("status %d", recorder.Code)
		}
	}
}
