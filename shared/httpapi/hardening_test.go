package httpapi_test

import (
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bondingai/platform/shared/httpapi"
)

const allowedOrigin = "https://app.contoso.example"

// echoBody reads the whole body and answers 200, or 413 when the body is
// over the cap.
var echoBody = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if _, err := io.ReadAll(r.Body); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			return
		}
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusOK)
})

func newHardenedServer(t *testing.T) *httptest.Server {
	t.Helper()
	server := httptest.NewServer(httpapi.Harden(echoBody, httpapi.Hardening{AllowedOrigins: []string{allowedOrigin}, MaxBodyBytes: 16}))
	t.Cleanup(server.Close)
	return server
}

func send(t *testing.T, r *http.Request) *http.Response {
	t.Helper()
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func TestHardenSetsSecurityHeaders(t *testing.T) {
	server := newHardenedServer(t)
	resp := send(t, mustRequest(t, http.MethodGet, server.URL+"/api/me", nil))

	want := map[string]string{
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"X-Frame-Options":         "DENY",
		"Content-Security-Policy": httpapi.ContentSecurityPolicyDefault,
	}
	for name, value := range want {
		if got := resp.Header.Get(name); got != value {
			t.Errorf("%s = %q, want %q", name, got, value)
		}
	}
	if got := resp.Header.Get("Strict-Transport-Security"); got != "" {
		t.Errorf("Strict-Transport-Security = %q on plain HTTP, want none", got)
	}
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("Access-Control-Allow-Origin = %q without an Origin, want none", got)
	}
}

func TestHardenSetsHSTSOverHTTPS(t *testing.T) {
	server := httptest.NewTLSServer(httpapi.Harden(echoBody, httpapi.Hardening{}))
	defer server.Close()
	client := server.Client()
	client.Transport.(*http.Transport).TLSClientConfig.MinVersion = tls.VersionTLS12
	resp, err := client.Get(server.URL + "/api/me")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Strict-Transport-Security"); !strings.HasPrefix(got, "max-age=") {
		t.Errorf("Strict-Transport-Security = %q over TLS, want max-age", got)
	}

	plain := newHardenedServer(t)
	r := mustRequest(t, http.MethodGet, plain.URL+"/api/me", nil)
	r.Header.Set("X-Forwarded-Proto", "https")
	if got := send(t, r).Header.Get("Strict-Transport-Security"); got == "" {
		t.Error("Strict-Transport-Security missing behind a TLS-terminating front end")
	}
}

func TestHardenCORSAllowsOnlyConfiguredOrigins(t *testing.T) {
	server := newHardenedServer(t)

	r := mustRequest(t, http.MethodGet, server.URL+"/api/me", nil)
	r.Header.Set("Origin", allowedOrigin)
	resp := send(t, r)
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != allowedOrigin {
		t.Errorf("allowed origin: Access-Control-Allow-Origin = %q, want %q", got, allowedOrigin)
	}
	if got := resp.Header.Get("Access-Control-Allow-Credentials"); got != "" {
		t.Errorf("Access-Control-Allow-Credentials = %q, want none", got)
	}

	r = mustRequest(t, http.MethodGet, server.URL+"/api/me", nil)
	r.Header.Set("Origin", "https://evil.example")
	resp = send(t, r)
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("other origin: Access-Control-Allow-Origin = %q, want none", got)
	}
	if got := resp.Header.Values("Vary"); !contains(got, "Origin") {
		t.Errorf("Vary = %v, want Origin", got)
	}
}

func TestHardenAnswersPreflight(t *testing.T) {
	server := newHardenedServer(t)

	r := mustRequest(t, http.MethodOptions, server.URL+"/api/search", nil)
	r.Header.Set("Origin", allowedOrigin)
	r.Header.Set("Access-Control-Request-Method", "POST")
	r.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
	resp := send(t, r)
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("allowed preflight status = %d, want 204", resp.StatusCode)
	}
	if got := resp.Header.Get("Access-Control-Allow-Methods"); !strings.Contains(got, "POST") {
		t.Errorf("Access-Control-Allow-Methods = %q, want POST among them", got)
	}
	if got := resp.Header.Get("Access-Control-Allow-Headers"); !strings.Contains(got, "Authorization") {
		t.Errorf("Access-Control-Allow-Headers = %q, want Authorization", got)
	}

	r = mustRequest(t, http.MethodOptions, server.URL+"/api/search", nil)
	r.Header.Set("Origin", "https://evil.example")
	r.Header.Set("Access-Control-Request-Method", "POST")
	resp = send(t, r)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("other origin preflight status = %d, want 403", resp.StatusCode)
	}
	if got := resp.Header.Get("Content-Type"); got != "application/problem+json" {
		t.Errorf("other origin preflight Content-Type = %q, want application/problem+json", got)
	}
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("other origin preflight Access-Control-Allow-Origin = %q, want none", got)
	}
}

func TestHardenCapsRequestBody(t *testing.T) {
	server := newHardenedServer(t)

	resp := send(t, mustRequest(t, http.MethodPost, server.URL+"/api/search", strings.NewReader("small")))
	if resp.StatusCode != http.StatusOK {
		t.Errorf("small body status = %d, want 200", resp.StatusCode)
	}

	resp = send(t, mustRequest(t, http.MethodPost, server.URL+"/api/search", strings.NewReader(strings.Repeat("x", 17))))
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("declared large body status = %d, want 413", resp.StatusCode)
	}
	if got := resp.Header.Get("Content-Type"); got != "application/problem+json" {
		t.Errorf("declared large body Content-Type = %q, want application/problem+json", got)
	}

	// A chunked body has no Content-Length, so the cap applies while the
	// handler reads.
	r := mustRequest(t, http.MethodPost, server.URL+"/api/search", io.MultiReader(strings.NewReader(strings.Repeat("x", 40))))
	r.ContentLength = -1
	resp = send(t, r)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked large body status = %d, want 413", resp.StatusCode)
	}
}

func mustRequest(t *testing.T, method, url string, body io.Reader) *http.Request {
	t.Helper()
	r, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func contains(values []string, want string) bool {
	for _, v := range values {
		if v == want {
			return true
		}
	}
	return false
}
