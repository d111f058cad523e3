package identity_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bondingai/platform/shared/identity"
	"github.com/bondingai/platform/shared/problem"
	"github.com/bondingai/platform/shared/workosstandin"
)

// apiServer serves a protected route on a real HTTP server. The handler
// writes the organization and user it finds in the request context.
func apiServer(t *testing.T, v *identity.Validator) *httptest.Server {
	t.Helper()
	protected := identity.Authenticate(v)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, ok := identity.ClaimsFromContext(r.Context())
		if !ok {
			http.Error(w, "no claims in context", http.StatusInternalServerError)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"org_id": claims.OrganizationID, "user_id": claims.UserID})
	}))
	server := httptest.NewServer(protected)
	t.Cleanup(server.Close)
	return server
}

type apiResponse struct {
	status          int
	contentType     string
	wwwAuthenticate string
	retryAfter      string
	body            []byte
}

func callAPI(t *testing.T, server *httptest.Server, authorization string) apiResponse {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, server.URL+"/api/documents", nil)
	if err != nil {
		t.Fatalf("build request: %v", err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := server.Client().Do(req)
	if err != nil {
		t.Fatalf("call API: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	return apiResponse{
		status:          resp.StatusCode,
		contentType:     resp.Header.Get("Content-Type"),
		wwwAuthenticate: resp.Header.Get("WWW-Authenticate"),
		retryAfter:      resp.Header.Get("Retry-After"),
		body:            body,
	}
}

func decodeProblem(t *testing.T, resp apiResponse) problem.Details {
	t.Helper()
	if resp.contentType != problem.ContentType {
		t.Errorf("Content-Type = %q, want %q", resp.contentType, problem.ContentType)
	}
	var details problem.Details
	if err := json.Unmarshal(resp.body, &details); err != nil {
		t.Fatalf("decode problem %q: %v", resp.body, err)
	}
	if details.Status != resp.status {
		t.Errorf("problem status = %d, want %d", details.Status, resp.status)
	}
	return details
}

func TestAuthenticateValidTokenReachesHandler(t *testing.T) {
	f := newStandinFixture(t, testClientID)
	server := apiServer(t, f.newValidator(t))

	resp := callAPI(t, server, "Bearer "+f.mint(t))

	if resp.status != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", resp.status, resp.body)
	}
	var got map[string]string
	if err := json.Unmarshal(resp.body, &got); err != nil {
		t.Fatalf("decode body: %v", err)
	}
	if got["org_id"] != f.organizationID {
		t.Errorf("handler saw org_id %q, want %q", got["org_id"], f.organizationID)
	}
	if got["user_id"] != f.userID {
		t.Errorf("handler saw user_id %q, want %q", got["user_id"], f.userID)
	}
}

func TestAuthenticateSchemeIsCaseInsensitive(t *testing.T) {
	f := newStandinFixture(t, testClientID)
	server := apiServer(t, f.newValidator(t))

	resp := callAPI(t, server, "bearer "+f.mint(t))

	if resp.status != http.StatusOK {
		t.Errorf("status = %d, want 200; body %s", resp.status, resp.body)
	}
}

func TestAuthenticateMissingTokenIs401(t *testing.T) {
	f := newStandinFixture(t, testClientID)
	server := apiServer(t, f.newValidator(t))

	for name, header := range map[string]string{
		"no header":    "",
		"basic scheme": "Basic dXNlcjpwYXNz",
		"bearer only":  "Bearer",
		"bearer blank": "Bearer   ",
	} {
		t.Run(name, func(t *testing.T) {
			resp := callAPI(t, server, header)

			if resp.status != http.StatusUnauthorized {
				t.Errorf("status = %d, want 401", resp.status)
			}
			if resp.wwwAuthenticate != "Bearer" {
				t.Errorf("WWW-Authenticate = %q, want %q", resp.wwwAuthenticate, "Bearer")
			}
			decodeProblem(t, resp)
		})
	}
}

func TestAuthenticateInvalidTokenIs401(t *testing.T) {
	f := newStandinFixture(t, testClientID)
	server := apiServer(t, f.newValidator(t))

	resp := callAPI(t, server, "Bearer not.a.token")

	if resp.status != http.StatusUnauthorized {
		t.Errorf("status = %d, want 401", resp.status)
	}
	if resp.wwwAuthenticate != `Bearer error="invalid_token"` {
		t.Errorf("WWW-Authenticate = %q, want invalid_token", resp.wwwAuthenticate)
	}
	details := decodeProblem(t, resp)
	if details.Instance != "/api/documents" {
		t.Errorf("problem instance = %q, want /api/documents", details.Instance)
	}
}

func TestAuthenticateExpiredTokenIs401(t *testing.T) {
	f := newStandinFixture(t, testClientID)
	token := f.mint(t)
	later := time.Now().Add(time.Hour)
	server := apiServer(t, f.newValidator(t, withNow(func() time.Time { return later })))

	resp := callAPI(t, server, "Bearer "+token)

	if resp.status != http.StatusUnauthorized {
		t.Errorf("status = %d, want 401", resp.status)
	}
	if !strings.HasPrefix(resp.wwwAuthenticate, `Bearer error="invalid_token", error_description="The access token expired"`) {
		t.Errorf("WWW-Authenticate = %q, want invalid_token with an expiry description", resp.wwwAuthenticate)
	}
	decodeProblem(t, resp)
}

func TestAuthenticateJWKSDownIs503(t *testing.T) {
	f := newStandinFixture(t, testClientID)
	f.jwksDown.Store(true)
	server := apiServer(t, f.newValidator(t))

	resp := callAPI(t, server, "Bearer "+f.mint(t))

	if resp.status != http.StatusServiceUnavailable {
		t.Errorf("status = %d, want 503", resp.status)
	}
	if resp.retryAfter == "" {
		t.Error("Retry-After is missing")
	}
	if resp.wwwAuthenticate != "" {
		t.Errorf("WWW-Authenticate = %q, want none on 503", resp.wwwAuthenticate)
	}
	decodeProblem(t, resp)
}

func TestAuthenticateTokenWithoutOrganizationIs403(t *testing.T) {
	f := newStandinFixture(t, testClientID)
	token, err := f.standin.MintAccessToken(workosstandin.AccessTokenRequest{UserID: f.userID})
	if err != nil {
		t.Fatalf("mint: %v", err)
	}
	server := apiServer(t, f.newValidator(t))

	resp := callAPI(t, server, "Bearer "+token.AccessToken)

	if resp.status != http.StatusForbidden {
		t.Errorf("status = %d, want 403", resp.status)
	}
	if !strings.Contains(resp.wwwAuthenticate, `error="insufficient_scope"`) {
		t.Errorf("WWW-Authenticate = %q, want insufficient_scope", resp.wwwAuthenticate)
	}
	decodeProblem(t, resp)
}

func TestAuthenticateNeverLogsToken(t *testing.T) {
	f := newStandinFixture(t, testClientID)
	var logs syncBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	later := time.Now().Add(time.Hour)
	server := apiServer(t, f.newValidator(t, withLogger(logger), withNow(func() time.Time { return later })))
	expired := f.mint(t)
	tampered := expired[:len(expired)-4] + "AAAA"

	callAPI(t, server, "Bearer "+expired)
	callAPI(t, server, "Bearer "+tampered)

	logged := logs.String()
	if !strings.Contains(logged, "access token rejected") {
		t.Fatalf("logs %q have no rejection entry; the check below would pass vacuously", logged)
	}
	for _, part := range strings.Split(expired, ".") {
		if strings.Contains(logged, part) {
			t.Errorf("logs contain a part of the access token: %q", part)
		}
	}
}

func TestClaimsFromContextWithoutClaims(t *testing.T) {
	req := httptest.NewRequest(http.MethodGet, "/api/health", nil)

	claims, ok := identity.ClaimsFromContext(req.Context())

	if ok || claims != nil {
		t.Errorf("ClaimsFromContext = %v, %v; want nil, false", claims, ok)
	}
}
