package functions_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/workos/workos-go/v4/pkg/organizations"
	"github.com/workos/workos-go/v4/pkg/usermanagement"

	"github.com/bondingai/platform/shared/session"
	"github.com/bondingai/platform/shared/workosstandin"
)

// authAccessTokenTTL is the stand-in's access-token lifetime in the sign-in
// tests. Tokens of 5 minutes or less are refreshed 30 s before they expire,
// so a 32 s token is refreshed once it is 2 s old.
const authAccessTokenTTL = 32 * time.Second

// testSessionCookieKey is a fixed key for tests only.
const testSessionCookieKey = "dGVzdC1vbmx5LXNlc3Npb24tY29va2llLWtleS0zMmI="

// exampleSettings returns the Values of local.settings.example.json, so the
// test starts with every setting the handler requires. The caller replaces
// the connections and the WorkOS settings with the test's own.
func exampleSettings(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "local.settings.example.json"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Values map[string]string
	}
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatalf("decode local.settings.example.json: %v", err)
	}
	return file.Values
}

// authPlatform is the handler under the local host with cookie sign-in
// configured, and the stand-in it signs in with.
type authPlatform struct {
	baseURL    string
	standin    *workosstandin.Server
	standinURL string
	// client follows no redirect, so each step of the sign-in is visible.
	client *http.Client
}

// freeLoopbackAddr returns a loopback address with a port that was free a
// moment ago. The callback URL must be known before the host starts, so
// port 0 cannot be used.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := listener.Addr().String()
	listener.Close()
	return addr
}

func startAuthPlatform(t *testing.T) *authPlatform {
	t.Helper()
	addr := freeLoopbackAddr(t)
	baseURL := "http://" + addr
	callbackURL := baseURL + "/api/auth/callback"
	p, standin, standinURL := launchPlatform(t, platformOptions{
		addr: addr,
		standin: func(cfg *workosstandin.Config) {
			cfg.RedirectURIs = []string{callbackURL}
			cfg.AccessTokenTTL = authAccessTokenTTL
		},
		extraSettings: []map[string]string{{
			"SESSION_COOKIE_KEY": testSessionCookieKey,
			"AUTH_REDIRECT_URI":  callbackURL,
		}},
	})
	return &authPlatform{
		baseURL: p.baseURL, standin: standin, standinURL: standinURL,
		client: &http.Client{
			Timeout:       time.Minute,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// createOrganization creates an organization in the stand-in through
// workos-go, as an administrator would.
func (a *authPlatform) createOrganization(t *testing.T, name string) string {
	t.Helper()
	orgs := &organizations.Client{APIKey: e2eAPIKey, Endpoint: a.standinURL, HTTPClient: http.DefaultClient}
	org, err := orgs.CreateOrganization(context.Background(), organizations.CreateOrganizationOpts{Name: name})
	if err != nil {
		t.Fatalf("create organization %s: %v", name, err)
	}
	return org.ID
}

// createUser creates a user who is an admin of each of orgIDs.
func (a *authPlatform) createUser(t *testing.T, email string, orgIDs ...string) string {
	t.Helper()
	users := usermanagement.NewClient(e2eAPIKey)
	users.Endpoint = a.standinURL
	user, err := users.CreateUser(context.Background(), usermanagement.CreateUserOpts{Email: email, EmailVerified: true})
	if err != nil {
		t.Fatalf("create user: %v", err)
	}
	for _, orgID := range orgIDs {
		_, err := users.CreateOrganizationMembership(context.Background(), usermanagement.CreateOrganizationMembershipOpts{
			UserID: user.ID, OrganizationID: orgID, RoleSlug: "admin",
		})
		if err != nil {
			t.Fatalf("create membership in %s: %v", orgID, err)
		}
	}
	return user.ID
}

// request sends one request to the platform with the given cookies and
// headers and returns the response with its body read.
func (a *authPlatform) request(t *testing.T, method, rawURL string, body io.Reader, cookies []*http.Cookie, header http.Header) (*http.Response, []byte) {
	t.Helper()
	if strings.HasPrefix(rawURL, "/") {
		rawURL = a.baseURL + rawURL
	}
	req, err := http.NewRequest(method, rawURL, body)
	if err != nil {
		t.Fatal(err)
	}
	for name, values := range header {
		req.Header[name] = values
	}
	for _, c := range cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	resp, err := a.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, data
}

func responseCookie(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// signInThroughStandin walks the login: the platform's redirect, the
// stand-in's login form submitted for email and organization, and the
// callback. It returns the session cookie.
func (a *authPlatform) signInThroughStandin(t *testing.T, email, organization, returnTo string) *http.Cookie {
	t.Helper()
	resp, body := a.request(t, http.MethodGet, "/api/auth/login?return_to="+url.QueryEscape(returnTo), nil, nil, nil)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("login: status %d, want 302: %s", resp.StatusCode, body)
	}
	loginCookie := responseCookie(resp, session.LoginCookieName)
	if loginCookie == nil || !loginCookie.HttpOnly || !loginCookie.Secure || loginCookie.SameSite != http.SameSiteLaxMode {
		t.Fatalf("login cookie = %+v, want HttpOnly, Secure, SameSite=Lax", loginCookie)
	}
	authorizeURL, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	query := authorizeURL.Query()
	for name, want := range map[string]string{"client_id": e2eClientID, "provider": "authkit", "code_challenge_method": "S256", "redirect_uri": a.baseURL + "/api/auth/callback"} {
		if got := query.Get(name); got != want {
			t.Errorf("authorization URL %s = %q, want %q", name, got, want)
		}
	}
	if len(query.Get("state")) < 43 || len(query.Get("code_challenge")) != 43 {
		t.Errorf("authorization URL state %q, code_challenge %q: want random values", query.Get("state"), query.Get("code_challenge"))
	}

	resp, body = a.request(t, http.MethodGet, authorizeURL.String(), nil, nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "<form") {
		t.Fatalf("stand-in login page: status %d: %s", resp.StatusCode, body)
	}
	form := url.Values{}
	for _, name := range []string{"client_id", "redirect_uri", "state", "code_challenge", "code_challenge_method", "organization_id"} {
		form.Set(name, query.Get(name))
	}
	form.Set("email", email)
	form.Set("organization", organization)
	form.Set("role", "admin")
	resp, body = a.request(t, http.MethodPost, a.standinURL+"/user_management/authorize", strings.NewReader(form.Encode()), nil,
		http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("stand-in login form: status %d: %s", resp.StatusCode, body)
	}
	callbackURL := resp.Header.Get("Location")
	if !strings.HasPrefix(callbackURL, a.baseURL+"/api/auth/callback?") {
		t.Fatalf("stand-in redirected to %q, want the callback", callbackURL)
	}

	resp, body = a.request(t, http.MethodGet, callbackURL, nil, []*http.Cookie{loginCookie}, nil)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("callback: status %d, want 302: %s", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Location"); got != returnTo {
		t.Errorf("callback redirected to %q, want return_to %q", got, returnTo)
	}
	sessionCookie := responseCookie(resp, session.SessionCookieName)
	if sessionCookie == nil {
		t.Fatal("callback set no session cookie")
	}
	if !sessionCookie.HttpOnly || !sessionCookie.Secure || sessionCookie.SameSite != http.SameSiteLaxMode || sessionCookie.Path != "/" {
		t.Errorf("session cookie = %+v, want HttpOnly, Secure, SameSite=Lax, Path=/", sessionCookie)
	}
	if size := len(sessionCookie.Name) + 1 + len(sessionCookie.Value); size > 4096 {
		t.Errorf("session cookie has %d bytes, over 4096", size)
	}
	if cleared := responseCookie(resp, session.LoginCookieName); cleared == nil || cleared.MaxAge >= 0 {
		t.Errorf("callback did not clear the login cookie: %+v", cleared)
	}

	// The code and login are single-use: replaying the callback fails.
	resp, body = a.request(t, http.MethodGet, callbackURL, nil, nil, nil)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("replayed callback: status %d, want 400: %s", resp.StatusCode, body)
	}
	if strings.Contains(string(body), url.QueryEscape(query.Get("state"))) || strings.Contains(string(body), query.Get("state")) {
		t.Error("callback error repeats the state")
	}
	return sessionCookie
}

type meView struct {
	User struct {
		ID       string `json:"id"`
		WorkOSID string `json:"workos_id"`
		Email    string `json:"email"`
	} `json:"user"`
	Organization struct {
		ID       string `json:"id"`
		WorkOSID string `json:"workos_id"`
		Name     string `json:"name"`
	} `json:"organization"`
	Role        string   `json:"role"`
	Permissions []string `json:"permissions"`
}

func (a *authPlatform) me(t *testing.T, cookie *http.Cookie, header http.Header) (*http.Response, meView) {
	t.Helper()
	var cookies []*http.Cookie
	if cookie != nil {
		cookies = []*http.Cookie{cookie}
	}
	resp, body := a.request(t, http.MethodGet, "/api/me", nil, cookies, header)
	var view meView
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, &view); err != nil {
			t.Fatalf("decode /api/me: %v: %s", err, body)
		}
	}
	return resp, view
}

// pollUntil calls check every 200 ms until it returns true or timeout passes.
func pollUntil(t *testing.T, timeout time.Duration, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	ticker := time.NewTicker(200 * time.Millisecond)
	defer ticker.Stop()
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within %s", what, timeout)
		}
		<-ticker.C
	}
}

func TestEndToEndCookieSession(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	a := startAuthPlatform(t)
	contoso := a.createOrganization(t, "Contoso")
	fabrikam := a.createOrganization(t, "Fabrikam")
	northwind := a.createOrganization(t, "Northwind")
	userID := a.createUser(t, "ada@contoso.example", contoso, fabrikam)

	// Hostile return_to values are rejected before any redirect.
	for _, hostile := range []string{"//evil.example", "/\\evil.example", "https://evil.example", "javascript:alert(1)", "/%2F%2Fevil.example"} {
		resp, body := a.request(t, http.MethodGet, "/api/auth/login?return_to="+url.QueryEscape(hostile), nil, nil, nil)
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("login with return_to %q: status %d %s, want 400 problem+json", hostile, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if resp.Header.Get("Location") != "" || strings.Contains(string(body), "evil.example") {
			t.Errorf("login with return_to %q redirected or echoed it", hostile)
		}
	}

	cookie := a.signInThroughStandin(t, "ada@contoso.example", contoso, "/app/chat?x=1")

	t.Run("me with cookie", func(t *testing.T) {
		resp, me := a.me(t, cookie, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if me.User.Email != "ada@contoso.example" || me.User.WorkOSID != userID {
			t.Errorf("user = %+v", me.User)
		}
		if me.Organization.WorkOSID != contoso || me.Organization.Name != "Contoso" || me.Organization.ID == "" {
			t.Errorf("organization = %+v, want Contoso", me.Organization)
		}
		if me.Role != "admin" || len(me.Permissions) == 0 {
			t.Errorf("role %q, permissions %v: want admin with permissions", me.Role, me.Permissions)
		}
	})

	t.Run("tampered cookie", func(t *testing.T) {
		tampered := *cookie
		tampered.Value = cookie.Value[:len(cookie.Value)-4] + "AAAA"
		resp, _ := a.me(t, &tampered, nil)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("status %d, want 401", resp.StatusCode)
		}
		if cleared := responseCookie(resp, session.SessionCookieName); cleared == nil || cleared.MaxAge >= 0 {
			t.Error("a tampered cookie was not cleared")
		}
	})

	t.Run("bearer token on the same routes", func(t *testing.T) {
		token, err := a.standin.MintAccessToken(workosstandin.AccessTokenRequest{UserID: userID, OrganizationID: contoso, TTLSeconds: 300})
		if err != nil {
			t.Fatal(err)
		}
		resp, me := a.me(t, nil, http.Header{"Authorization": {"Bearer " + token.AccessToken}})
		if resp.StatusCode != http.StatusOK || me.Organization.WorkOSID != contoso || me.User.Email != "ada@contoso.example" {
			t.Errorf("bearer /api/me: status %d, %+v", resp.StatusCode, me)
		}
		resp, _ = a.request(t, http.MethodGet, "/api/documents", nil, []*http.Cookie{cookie}, nil)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("cookie GET /api/documents: status %d, want 200", resp.StatusCode)
		}
		resp, _ = a.me(t, nil, http.Header{"Authorization": {"Bearer not-a-token"}})
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("bad bearer: status %d, want 401", resp.StatusCode)
		}
	})

	t.Run("refresh near expiry", func(t *testing.T) {
		var refreshed *http.Cookie
		pollUntil(t, 20*time.Second, "session refreshed", func() bool {
			resp, _ := a.me(t, cookie, nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("/api/me before refresh: status %d", resp.StatusCode)
			}
			refreshed = responseCookie(resp, session.SessionCookieName)
			return refreshed != nil
		})
		if refreshed.Value == cookie.Value || refreshed.MaxAge <= 0 {
			t.Fatalf("refreshed cookie = %+v, want a new value", refreshed)
		}

		// Requests that still carry the spent refresh token reuse the
		// stored result. The stand-in has no grace window, so spending the
		// token twice would fail with invalid_grant and a 401.
		var wg sync.WaitGroup
		statuses := make([]int, 4)
		for i := range statuses {
			wg.Go(func() {
				resp, _ := a.me(t, cookie, nil)
				statuses[i] = resp.StatusCode
			})
		}
		wg.Wait()
		for i, status := range statuses {
			if status != http.StatusOK {
				t.Errorf("parallel request %d with the spent refresh token: status %d, want 200", i, status)
			}
		}
		cookie = refreshed
	})

	sameOrigin := http.Header{"Origin": {a.baseURL}, "Content-Type": {"application/json"}}

	t.Run("csrf check", func(t *testing.T) {
		for _, header := range []http.Header{
			{"Origin": {"http://evil.example"}, "Content-Type": {"application/json"}},
			{"Sec-Fetch-Site": {"cross-site"}, "Content-Type": {"application/json"}},
			{"Sec-Fetch-Site": {"same-site"}, "Origin": {a.baseURL}, "Content-Type": {"application/json"}},
			{"Content-Type": {"application/json"}},
		} {
			resp, _ := a.request(t, http.MethodPost, "/api/auth/switch-organization", strings.NewReader(`{"organization_id":"`+fabrikam+`"}`), []*http.Cookie{cookie}, header)
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("switch with headers %v: status %d, want 403", header, resp.StatusCode)
			}
		}
	})

	t.Run("switch organization", func(t *testing.T) {
		resp, body := a.request(t, http.MethodPost, "/api/auth/switch-organization", strings.NewReader(`{"organization_id":"`+fabrikam+`"}`), []*http.Cookie{cookie}, sameOrigin)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("switch: status %d: %s", resp.StatusCode, body)
		}
		switched := responseCookie(resp, session.SessionCookieName)
		if switched == nil {
			t.Fatal("switch set no cookie")
		}
		var result session.SwitchOrganizationResponse
		if err := json.Unmarshal(body, &result); err != nil || result.OrganizationID != fabrikam || result.Role != "admin" {
			t.Errorf("switch response %s (%v), want Fabrikam as admin", body, err)
		}
		cookie = switched
		resp, me := a.me(t, cookie, nil)
		if resp.StatusCode != http.StatusOK || me.Organization.WorkOSID != fabrikam || me.Organization.Name != "Fabrikam" {
			t.Errorf("/api/me after switch: status %d, organization %+v", resp.StatusCode, me.Organization)
		}

		resp, body = a.request(t, http.MethodPost, "/api/auth/switch-organization", strings.NewReader(`{"organization_id":"`+northwind+`"}`), []*http.Cookie{cookie}, sameOrigin)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("switch to a non-member organization: status %d, want 403: %s", resp.StatusCode, body)
		}
		resp, _ = a.request(t, http.MethodPost, "/api/auth/switch-organization", strings.NewReader(`{"organization_id":"org_bad"}`), []*http.Cookie{cookie}, sameOrigin)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("switch to a malformed ID: status %d, want 400", resp.StatusCode)
		}
	})

	t.Run("logout", func(t *testing.T) {
		resp, body := a.request(t, http.MethodPost, "/api/auth/logout", nil, []*http.Cookie{cookie}, sameOrigin)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("logout: status %d: %s", resp.StatusCode, body)
		}
		var result session.LogoutResponse
		if err := json.Unmarshal(body, &result); err != nil || !strings.HasPrefix(result.LogoutURL, a.standinURL+"/user_management/sessions/logout?") {
			t.Errorf("logout response %s (%v), want the stand-in's logout URL", body, err)
		}
		if cleared := responseCookie(resp, session.SessionCookieName); cleared == nil || cleared.MaxAge >= 0 {
			t.Error("logout did not clear the session cookie")
		}

		// The revoked session's access token stays valid until it is
		// due for refresh; the refresh then fails with invalid_grant,
		// which ends the session.
		pollUntil(t, 40*time.Second, "revoked session rejected", func() bool {
			resp, _ := a.me(t, cookie, nil)
			return resp.StatusCode == http.StatusUnauthorized
		})
	})
}
