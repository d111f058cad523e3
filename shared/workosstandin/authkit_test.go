package workosstandin_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bondingai/platform/shared/identity"
	"github.com/bondingai/platform/shared/workosstandin"
	"github.com/workos/workos-go/v4/pkg/organizations"
	"github.com/workos/workos-go/v4/pkg/usermanagement"
	"golang.org/x/net/html"
)

const testRedirectURI = "http://127.0.0.1:9/callback"

// testClock is a settable clock for code and token lifetimes.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock {
	return &testClock{now: time.Now().UTC().Truncate(time.Second)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// startStandinWith starts a stand-in with cfg plus the test client ID and
// API key, and closes it when the test ends.
func startStandinWith(t testing.TB, cfg workosstandin.Config) clients {
	t.Helper()
	cfg.ClientID = testClientID
	cfg.APIKey = testAPIKey
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	standin, server, err := workosstandin.NewHTTPTestServer(cfg)
	if err != nil {
		t.Fatalf("start stand-in: %v", err)
	}
	t.Cleanup(func() {
		server.Close()
		standin.Close()
	})
	return newClients(standin, server, testAPIKey)
}

// pkcePair returns a code verifier and its S256 challenge (RFC 7636).
func pkcePair(seed string) (verifier, challenge string) {
	verifier = base64.RawURLEncoding.EncodeToString([]byte("verifier-" + seed + "-0123456789abcdefghijklmnop"))
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// noRedirectClient returns the test server's client without redirect
// following, so a test sees each 302 as a browser's network log does.
func noRedirectClient(c clients) *http.Client {
	client := *c.server.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &client
}

// loginForm is the form of the hosted login page as a browser sees it.
type loginForm struct {
	action string
	fields url.Values
	labels map[string]string // input id -> label text
	body   string
}

// openLoginPage loads the authorization URL and reads its form.
func openLoginPage(t testing.TB, c clients, authURL string) (int, loginForm) {
	t.Helper()
	resp, err := noRedirectClient(c).Get(authURL)
	if err != nil {
		t.Fatalf("GET authorization URL: %v", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read login page: %v", err)
	}
	return resp.StatusCode, parseLoginForm(t, string(raw))
}

func parseLoginForm(t testing.TB, page string) loginForm {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatalf("parse login page: %v", err)
	}
	form := loginForm{fields: url.Values{}, labels: map[string]string{}, body: page}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			attrs := map[string]string{}
			for _, a := range n.Attr {
				attrs[a.Key] = a.Val
			}
			switch n.Data {
			case "form":
				form.action = attrs["action"]
			case "input":
				if attrs["name"] != "" {
					form.fields.Set(attrs["name"], attrs["value"])
				}
			case "label":
				if n.FirstChild != nil {
					form.labels[attrs["for"]] = n.FirstChild.Data
				}
			}
		}
		for child := n.FirstChild; child != nil; child = child.NextSibling {
			walk(child)
		}
	}
	walk(doc)
	return form
}

// submitLogin posts the login form with the fields a person fills in and
// returns the response without following its redirect.
func submitLogin(t testing.TB, c clients, form loginForm, filled map[string]string) *http.Response {
	t.Helper()
	values := url.Values{}
	for name, v := range form.fields {
		values[name] = slices.Clone(v)
	}
	for name, value := range filled {
		values.Set(name, value)
	}
	resp, err := noRedirectClient(c).PostForm(c.server.URL+form.action, values)
	if err != nil {
		t.Fatalf("POST login form: %v", err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// authorizationURL builds the URL the platform redirects a browser to.
func authorizationURL(t testing.TB, c clients, opts usermanagement.GetAuthorizationURLOpts) string {
	t.Helper()
	opts.ClientID = testClientID
	if opts.RedirectURI == "" {
		opts.RedirectURI = testRedirectURI
	}
	if opts.Provider == "" && opts.OrganizationID == "" {
		opts.Provider = "authkit"
	}
	u, err := c.users.GetAuthorizationURL(opts)
	if err != nil {
		t.Fatalf("GetAuthorizationURL: %v", err)
	}
	return u.String()
}

// signInThroughPage walks the hosted login with email and organization and
// returns the code and state of the redirect.
func signInThroughPage(t testing.TB, c clients, challenge, state string, filled map[string]string) (code string, redirect *url.URL) {
	t.Helper()
	authURL := authorizationURL(t, c, usermanagement.GetAuthorizationURLOpts{
		State: state, CodeChallenge: challenge, CodeChallengeMethod: "S256",
	})
	status, form := openLoginPage(t, c, authURL)
	if status != http.StatusOK {
		t.Fatalf("login page status = %d, want 200: %s", status, form.body)
	}
	resp := submitLogin(t, c, form, filled)
	if resp.StatusCode != http.StatusFound {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("login submit status = %d, want 302: %s", resp.StatusCode, body)
	}
	location, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatalf("parse Location: %v", err)
	}
	return location.Query().Get("code"), location
}

// signIn signs in through the page and exchanges the code with the SDK.
func signIn(t testing.TB, c clients, email, organization, role string) usermanagement.AuthenticateResponse {
	t.Helper()
	verifier, challenge := pkcePair(email + organization)
	code, _ := signInThroughPage(t, c, challenge, "state-"+email, map[string]string{
		"email": email, "organization": organization, "role": role,
	})
	resp, err := c.users.AuthenticateWithCode(context.Background(), usermanagement.AuthenticateWithCodeOpts{
		ClientID: testClientID, Code: code, CodeVerifier: verifier,
	})
	if err != nil {
		t.Fatalf("AuthenticateWithCode for %s: %v", email, err)
	}
	return resp
}

func newValidator(t *testing.T, c clients) *identity.Validator {
	t.Helper()
	v, err := identity.NewValidator(identity.ValidatorConfig{
		JWKSURL:    c.standin.JWKSURL(),
		Issuers:    []string{c.standin.IssuerURL()},
		HTTPClient: c.server.Client(),
		Logger:     slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatalf("NewValidator: %v", err)
	}
	t.Cleanup(v.Close)
	return v
}

func eventNames(c clients) []string {
	var names []string
	for _, event := range c.standin.Events() {
		names = append(names, event.Event)
	}
	return names
}

func TestAuthKitLoginCodeFlowThroughSDK(t *testing.T) {
	c := startStandinWith(t, workosstandin.Config{})
	ctx := context.Background()
	verifier, challenge := pkcePair("ana")

	authURL := authorizationURL(t, c, usermanagement.GetAuthorizationURLOpts{
		State: "state-123", CodeChallenge: challenge, CodeChallengeMethod: "S256", LoginHint: "ana@contoso.example",
	})
	status, form := openLoginPage(t, c, authURL)
	if status != http.StatusOK {
		t.Fatalf("login page status = %d, want 200", status)
	}
	if form.fields.Get("email") != "ana@contoso.example" {
		t.Errorf("email field = %q, want the login hint", form.fields.Get("email"))
	}
	for _, id := range []string{"email", "organization", "role"} {
		if form.labels[id] == "" {
			t.Errorf("input %s has no label", id)
		}
	}
	if strings.Contains(form.body, "<script") || strings.Contains(form.body, "https://") {
		t.Error("login page loads scripts or external assets")
	}

	resp := submitLogin(t, c, form, map[string]string{"organization": "Contoso", "role": "admin"})
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("submit status = %d, want 302", resp.StatusCode)
	}
	location, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatalf("parse Location: %v", err)
	}
	if got := location.Scheme + "://" + location.Host + location.Path; got != testRedirectURI {
		t.Errorf("redirect = %s, want %s", got, testRedirectURI)
	}
	if location.Query().Get("state") != "state-123" {
		t.Errorf("state = %q, want state-123", location.Query().Get("state"))
	}
	code := location.Query().Get("code")
	if code == "" {
		t.Fatal("redirect has no code")
	}

	auth, err := c.users.AuthenticateWithCode(ctx, usermanagement.AuthenticateWithCodeOpts{
		ClientID: testClientID, Code: code, CodeVerifier: verifier, IPAddress: "127.0.0.1", UserAgent: "test",
	})
	if err != nil {
		t.Fatalf("AuthenticateWithCode: %v", err)
	}
	if auth.User.Email != "ana@contoso.example" || !strings.HasPrefix(auth.User.ID, "user_") {
		t.Errorf("user = %+v, want ana with a user ID", auth.User)
	}
	if !strings.HasPrefix(auth.OrganizationID, "org_") {
		t.Errorf("organization_id = %q, want an org ID", auth.OrganizationID)
	}
	if auth.RefreshToken == "" {
		t.Error("refresh token is empty")
	}
	if auth.AuthenticationMethod == "" {
		t.Error("authentication method is empty")
	}

	claims, err := newValidator(t, c).Validate(ctx, auth.AccessToken)
	if err != nil {
		t.Fatalf("validate access token: %v", err)
	}
	if claims.UserID != auth.User.ID || claims.OrganizationID != auth.OrganizationID {
		t.Errorf("claims user/org = %s/%s, want %s/%s", claims.UserID, claims.OrganizationID, auth.User.ID, auth.OrganizationID)
	}
	if claims.Role != workosstandin.RoleAdmin || !claims.HasPermission(identity.PermissionAdminSettingsWrite) {
		t.Errorf("claims role = %q permissions = %v, want admin", claims.Role, claims.Permissions)
	}
	if !strings.HasPrefix(claims.SessionID, "session_") {
		t.Errorf("sid = %q, want a session ID", claims.SessionID)
	}

	want := []string{
		workosstandin.EventUserCreated, workosstandin.EventOrganizationCreated,
		workosstandin.EventMembershipCreated, workosstandin.EventSessionCreated,
	}
	if got := eventNames(c); !slices.Equal(got, want) {
		t.Errorf("events = %v, want %v", got, want)
	}
}

func TestAuthKitLoginReusesExistingUserAndOrganization(t *testing.T) {
	c := startStandinWith(t, workosstandin.Config{})
	first := signIn(t, c, "ana@contoso.example", "Contoso", "member")

	again := signIn(t, c, "ANA@contoso.example", first.OrganizationID, "admin")
	if again.User.ID != first.User.ID {
		t.Errorf("second sign-in user = %s, want %s", again.User.ID, first.User.ID)
	}
	if again.OrganizationID != first.OrganizationID {
		t.Errorf("second sign-in organization = %s, want %s", again.OrganizationID, first.OrganizationID)
	}
	claims := tokenClaims(t, again.AccessToken)
	if claims["role"] != workosstandin.RoleMember {
		t.Errorf("role = %v, want the existing membership's member role", claims["role"])
	}

	byName := signIn(t, c, "ben@contoso.example", "contoso", "")
	if byName.OrganizationID != first.OrganizationID {
		t.Errorf("organization picked by name = %s, want %s", byName.OrganizationID, first.OrganizationID)
	}

	noOrg := signIn(t, c, "solo@contoso.example", "", "")
	if noOrg.OrganizationID != "" {
		t.Errorf("organization without memberships = %q, want none", noOrg.OrganizationID)
	}
	if _, ok := tokenClaims(t, noOrg.AccessToken)["org_id"]; ok {
		t.Error("token without organization has org_id")
	}
}

func TestAuthKitLoginPageRejectsInvalidEmail(t *testing.T) {
	c := startStandinWith(t, workosstandin.Config{})
	authURL := authorizationURL(t, c, usermanagement.GetAuthorizationURLOpts{State: "s"})
	_, form := openLoginPage(t, c, authURL)

	resp := submitLogin(t, c, form, map[string]string{"email": "not an email", "organization": "Contoso"})
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("status = %d, want 422", resp.StatusCode)
	}
	if !strings.Contains(string(body), `role="alert"`) {
		t.Errorf("page has no alert: %s", body)
	}
	if events := c.standin.Events(); len(events) != 0 {
		t.Errorf("events = %v, want none after a rejected form", eventNames(c))
	}

	resp = submitLogin(t, c, form, map[string]string{"email": "ana@contoso.example", "role": "owner"})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("unknown role status = %d, want 422", resp.StatusCode)
	}
}

func TestAuthorizeRejectsInvalidRequests(t *testing.T) {
	c := startStandinWith(t, workosstandin.Config{})
	_, challenge := pkcePair("x")
	valid := url.Values{
		"client_id": {testClientID}, "redirect_uri": {testRedirectURI}, "response_type": {"code"},
		"provider": {"authkit"}, "state": {"s"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"},
	}
	cases := map[string]func(url.Values){
		"foreign redirect_uri": func(v url.Values) { v.Set("redirect_uri", "http://attacker.example/callback") },
		"https non-loopback":   func(v url.Values) { v.Set("redirect_uri", "https://app.example/callback") },
		"missing redirect_uri": func(v url.Values) { v.Del("redirect_uri") },
		"wrong client_id":      func(v url.Values) { v.Set("client_id", "client_other") },
		"plain PKCE":           func(v url.Values) { v.Set("code_challenge_method", "plain") },
		"wrong response_type":  func(v url.Values) { v.Set("response_type", "token") },
		"unknown provider":     func(v url.Values) { v.Set("provider", "GoogleOAuth") },
		"no selector":          func(v url.Values) { v.Del("provider") },
		"unknown organization": func(v url.Values) { v.Del("provider"); v.Set("organization_id", "org_missing") },
		"unknown connection":   func(v url.Values) { v.Set("connection_id", "conn_missing") },
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			values := url.Values{}
			for k, v := range valid {
				values[k] = slices.Clone(v)
			}
			change(values)
			status, form := openLoginPage(t, c, c.server.URL+"/user_management/authorize?"+values.Encode())
			if status != http.StatusBadRequest {
				t.Errorf("status = %d, want 400", status)
			}
			if form.action != "" {
				t.Error("error page contains the login form")
			}
		})
	}

	// A form posted with a foreign redirect_uri is rejected too, so the
	// hidden fields cannot be edited to steal a code.
	_, form := openLoginPage(t, c, c.server.URL+"/user_management/authorize?"+valid.Encode())
	resp := submitLogin(t, c, form, map[string]string{"email": "ana@contoso.example", "redirect_uri": "http://attacker.example/cb"})
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
		t.Errorf("tampered form status = %d Location = %q, want 400 without redirect", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestAuthorizeConfiguredRedirectURIsMatchExactly(t *testing.T) {
	c := startStandinWith(t, workosstandin.Config{RedirectURIs: []string{"https://app.contoso.example/api/auth/callback"}})
	allowed := authorizationURL(t, c, usermanagement.GetAuthorizationURLOpts{RedirectURI: "https://app.contoso.example/api/auth/callback"})
	if status, _ := openLoginPage(t, c, allowed); status != http.StatusOK {
		t.Errorf("configured redirect URI status = %d, want 200", status)
	}
	for _, uri := range []string{"https://app.contoso.example/api/auth/callback/x", testRedirectURI} {
		status, _ := openLoginPage(t, c, authorizationURL(t, c, usermanagement.GetAuthorizationURLOpts{RedirectURI: uri}))
		if status != http.StatusBadRequest {
			t.Errorf("redirect URI %s status = %d, want 400", uri, status)
		}
	}
}

func TestAuthorizeFixedOrganizationSelector(t *testing.T) {
	c := startStandinWith(t, workosstandin.Config{})
	first := signIn(t, c, "ana@contoso.example", "Contoso", "admin")

	verifier, challenge := pkcePair("fixed")
	authURL := authorizationURL(t, c, usermanagement.GetAuthorizationURLOpts{
		OrganizationID: first.OrganizationID, CodeChallenge: challenge, CodeChallengeMethod: "S256",
	})
	status, form := openLoginPage(t, c, authURL)
	if status != http.StatusOK {
		t.Fatalf("status = %d, want 200", status)
	}
	if !strings.Contains(form.body, "Contoso") {
		t.Error("page does not show the organization")
	}
	resp := submitLogin(t, c, form, map[string]string{"email": "ben@contoso.example"})
	location, _ := url.Parse(resp.Header.Get("Location"))
	auth, err := c.users.AuthenticateWithCode(context.Background(), usermanagement.AuthenticateWithCodeOpts{
		ClientID: testClientID, Code: location.Query().Get("code"), CodeVerifier: verifier,
	})
	if err != nil {
		t.Fatalf("AuthenticateWithCode: %v", err)
	}
	if auth.OrganizationID != first.OrganizationID {
		t.Errorf("organization = %s, want %s", auth.OrganizationID, first.OrganizationID)
	}
}

func TestAuthenticateCodeRejections(t *testing.T) {
	clock := newTestClock()
	c := startStandinWith(t, workosstandin.Config{Now: clock.Now})
	ctx := context.Background()
	verifier, challenge := pkcePair("ana")
	login := map[string]string{"email": "ana@contoso.example", "organization": "Contoso"}

	t.Run("wrong verifier", func(t *testing.T) {
		code, _ := signInThroughPage(t, c, challenge, "s", login)
		_, err := c.users.AuthenticateWithCode(ctx, usermanagement.AuthenticateWithCodeOpts{ClientID: testClientID, Code: code, CodeVerifier: verifier + "x"})
		requireHTTPError(t, err, http.StatusBadRequest, "invalid_grant")
		// The failed attempt spent the code.
		_, err = c.users.AuthenticateWithCode(ctx, usermanagement.AuthenticateWithCodeOpts{ClientID: testClientID, Code: code, CodeVerifier: verifier})
		requireHTTPError(t, err, http.StatusBadRequest, "invalid_grant")
	})
	t.Run("missing verifier", func(t *testing.T) {
		code, _ := signInThroughPage(t, c, challenge, "s", login)
		_, err := c.users.AuthenticateWithCode(ctx, usermanagement.AuthenticateWithCodeOpts{ClientID: testClientID, Code: code})
		requireHTTPError(t, err, http.StatusBadRequest, "invalid_grant")
	})
	t.Run("reused code", func(t *testing.T) {
		code, _ := signInThroughPage(t, c, challenge, "s", login)
		opts := usermanagement.AuthenticateWithCodeOpts{ClientID: testClientID, Code: code, CodeVerifier: verifier}
		if _, err := c.users.AuthenticateWithCode(ctx, opts); err != nil {
			t.Fatalf("first exchange: %v", err)
		}
		_, err := c.users.AuthenticateWithCode(ctx, opts)
		httpErr := requireHTTPError(t, err, http.StatusBadRequest, "invalid_grant")
		if !strings.Contains(httpErr.Message, "already used") {
			t.Errorf("message = %q, want it to name reuse", httpErr.Message)
		}
	})
	t.Run("expired code", func(t *testing.T) {
		code, _ := signInThroughPage(t, c, challenge, "s", login)
		clock.Advance(10*time.Minute + time.Second)
		_, err := c.users.AuthenticateWithCode(ctx, usermanagement.AuthenticateWithCodeOpts{ClientID: testClientID, Code: code, CodeVerifier: verifier})
		requireHTTPError(t, err, http.StatusBadRequest, "invalid_grant")
	})
	t.Run("unknown code", func(t *testing.T) {
		_, err := c.users.AuthenticateWithCode(ctx, usermanagement.AuthenticateWithCodeOpts{ClientID: testClientID, Code: "nope", CodeVerifier: verifier})
		requireHTTPError(t, err, http.StatusBadRequest, "invalid_grant")
	})
	t.Run("wrong client secret", func(t *testing.T) {
		code, _ := signInThroughPage(t, c, challenge, "s", login)
		wrong := newClients(c.standin, c.server, "sk_test_wrong")
		_, err := wrong.users.AuthenticateWithCode(ctx, usermanagement.AuthenticateWithCodeOpts{ClientID: testClientID, Code: code, CodeVerifier: verifier})
		requireHTTPError(t, err, http.StatusUnauthorized, "invalid_client")
		// A request with a wrong secret does not spend the code.
		if _, err := c.users.AuthenticateWithCode(ctx, usermanagement.AuthenticateWithCodeOpts{ClientID: testClientID, Code: code, CodeVerifier: verifier}); err != nil {
			t.Errorf("exchange after a rejected secret: %v", err)
		}
	})
	t.Run("wrong client ID", func(t *testing.T) {
		code, _ := signInThroughPage(t, c, challenge, "s", login)
		_, err := c.users.AuthenticateWithCode(ctx, usermanagement.AuthenticateWithCodeOpts{ClientID: "client_other", Code: code, CodeVerifier: verifier})
		requireHTTPError(t, err, http.StatusUnauthorized, "invalid_client")
	})
	t.Run("unsupported grant type", func(t *testing.T) {
		resp := postJSON(t, c.server, "/user_management/authenticate", "",
			`{"client_id":"`+testClientID+`","client_secret":"`+testAPIKey+`","grant_type":"password"}`)
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), `"error":"unsupported_grant_type"`) {
			t.Errorf("status = %d body = %s, want 400 unsupported_grant_type", resp.StatusCode, body)
		}
	})
}

func TestRefreshRotatesAndRejectsReuse(t *testing.T) {
	c := startStandinWith(t, workosstandin.Config{AccessTokenTTL: 90 * time.Second})
	ctx := context.Background()
	auth := signIn(t, c, "ana@contoso.example", "Contoso", "admin")

	first, err := c.users.AuthenticateWithRefreshToken(ctx, usermanagement.AuthenticateWithRefreshTokenOpts{ClientID: testClientID, RefreshToken: auth.RefreshToken})
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if first.RefreshToken == "" || first.RefreshToken == auth.RefreshToken {
		t.Errorf("refresh token was not rotated")
	}
	claims := tokenClaims(t, first.AccessToken)
	if claims["sid"] != tokenClaims(t, auth.AccessToken)["sid"] {
		t.Errorf("sid changed on refresh: %v", claims["sid"])
	}
	if claims["org_id"] != auth.OrganizationID {
		t.Errorf("org_id = %v, want %s", claims["org_id"], auth.OrganizationID)
	}
	if ttl := claims["exp"].(float64) - claims["iat"].(float64); ttl != 90 {
		t.Errorf("token lifetime = %vs, want the configured 90s", ttl)
	}

	_, err = c.users.AuthenticateWithRefreshToken(ctx, usermanagement.AuthenticateWithRefreshTokenOpts{ClientID: testClientID, RefreshToken: auth.RefreshToken})
	httpErr := requireHTTPError(t, err, http.StatusBadRequest, "invalid_grant")
	if !strings.Contains(httpErr.Message, "already exchanged") {
		t.Errorf("message = %q, want it to name reuse", httpErr.Message)
	}

	if _, err := c.users.AuthenticateWithRefreshToken(ctx, usermanagement.AuthenticateWithRefreshTokenOpts{ClientID: testClientID, RefreshToken: first.RefreshToken}); err != nil {
		t.Errorf("refresh with the rotated token: %v", err)
	}

	_, err = c.users.AuthenticateWithRefreshToken(ctx, usermanagement.AuthenticateWithRefreshTokenOpts{ClientID: testClientID, RefreshToken: "unknown"})
	requireHTTPError(t, err, http.StatusBadRequest, "invalid_grant")
}

func TestRefreshConcurrentReuseSucceedsOnce(t *testing.T) {
	c := startStandinWith(t, workosstandin.Config{})
	auth := signIn(t, c, "ana@contoso.example", "Contoso", "admin")

	const callers = 8
	results := make(chan error, callers)
	for range callers {
		go func() {
			_, err := c.users.AuthenticateWithRefreshToken(context.Background(), usermanagement.AuthenticateWithRefreshTokenOpts{ClientID: testClientID, RefreshToken: auth.RefreshToken})
			results <- err
		}()
	}
	succeeded := 0
	for range callers {
		if err := <-results; err == nil {
			succeeded++
		} else {
			requireHTTPError(t, err, http.StatusBadRequest, "invalid_grant")
		}
	}
	if succeeded != 1 {
		t.Errorf("successful refreshes = %d, want 1", succeeded)
	}
}

func TestRefreshSwitchesOrganization(t *testing.T) {
	c := startStandinWith(t, workosstandin.Config{})
	ctx := context.Background()
	contoso := signIn(t, c, "ana@contoso.example", "Contoso", "admin")
	fabrikam := signIn(t, c, "ana@contoso.example", "Fabrikam", "member")
	other := signIn(t, c, "ben@contoso.example", "Northwind", "admin")

	switched, err := c.users.AuthenticateWithRefreshToken(ctx, usermanagement.AuthenticateWithRefreshTokenOpts{
		ClientID: testClientID, RefreshToken: contoso.RefreshToken, OrganizationID: fabrikam.OrganizationID,
	})
	if err != nil {
		t.Fatalf("refresh into Fabrikam: %v", err)
	}
	claims := tokenClaims(t, switched.AccessToken)
	if claims["org_id"] != fabrikam.OrganizationID || claims["role"] != workosstandin.RoleMember {
		t.Errorf("claims org/role = %v/%v, want Fabrikam member", claims["org_id"], claims["role"])
	}

	// Without organization_id the refresh keeps the organization switched to.
	kept, err := c.users.AuthenticateWithRefreshToken(ctx, usermanagement.AuthenticateWithRefreshTokenOpts{ClientID: testClientID, RefreshToken: switched.RefreshToken})
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if got := tokenClaims(t, kept.AccessToken)["org_id"]; got != fabrikam.OrganizationID {
		t.Errorf("org_id after plain refresh = %v, want %s", got, fabrikam.OrganizationID)
	}

	_, err = c.users.AuthenticateWithRefreshToken(ctx, usermanagement.AuthenticateWithRefreshTokenOpts{
		ClientID: testClientID, RefreshToken: kept.RefreshToken, OrganizationID: other.OrganizationID,
	})
	requireHTTPError(t, err, http.StatusBadRequest, "organization_membership_not_found")

	// A rejected switch does not spend the refresh token.
	if _, err := c.users.AuthenticateWithRefreshToken(ctx, usermanagement.AuthenticateWithRefreshTokenOpts{ClientID: testClientID, RefreshToken: kept.RefreshToken}); err != nil {
		t.Errorf("refresh after a rejected switch: %v", err)
	}
}

func TestRevokeSessionEndsRefresh(t *testing.T) {
	c := startStandinWith(t, workosstandin.Config{})
	ctx := context.Background()
	auth := signIn(t, c, "ana@contoso.example", "Contoso", "admin")
	sid := tokenClaims(t, auth.AccessToken)["sid"].(string)

	if err := c.users.RevokeSession(ctx, usermanagement.RevokeSessionOpts{SessionID: sid}); err != nil {
		t.Fatalf("RevokeSession: %v", err)
	}
	_, err := c.users.AuthenticateWithRefreshToken(ctx, usermanagement.AuthenticateWithRefreshTokenOpts{ClientID: testClientID, RefreshToken: auth.RefreshToken})
	requireHTTPError(t, err, http.StatusBadRequest, "invalid_grant")

	// Revoking again succeeds without a second event.
	if err := c.users.RevokeSession(ctx, usermanagement.RevokeSessionOpts{SessionID: sid}); err != nil {
		t.Errorf("second RevokeSession: %v", err)
	}
	if got := countEvents(c, workosstandin.EventSessionRevoked); got != 1 {
		t.Errorf("session.revoked events = %d, want 1", got)
	}

	err = c.users.RevokeSession(ctx, usermanagement.RevokeSessionOpts{SessionID: "session_missing"})
	requireHTTPError(t, err, http.StatusNotFound, "entity_not_found")

	wrong := newClients(c.standin, c.server, "sk_test_wrong")
	err = wrong.users.RevokeSession(ctx, usermanagement.RevokeSessionOpts{SessionID: sid})
	requireHTTPError(t, err, http.StatusUnauthorized, "unauthorized")
}

func countEvents(c clients, name string) int {
	count := 0
	for _, event := range c.standin.Events() {
		if event.Event == name {
			count++
		}
	}
	return count
}

func TestLogoutEndsSessionAndRedirects(t *testing.T) {
	c := startStandinWith(t, workosstandin.Config{})
	ctx := context.Background()
	auth := signIn(t, c, "ana@contoso.example", "Contoso", "admin")
	sid := tokenClaims(t, auth.AccessToken)["sid"].(string)
	browser := noRedirectClient(c)

	foreign, err := c.users.GetLogoutURL(usermanagement.GetLogoutURLOpts{SessionID: sid, ReturnTo: "http://attacker.example/"})
	if err != nil {
		t.Fatalf("GetLogoutURL: %v", err)
	}
	resp, err := browser.Get(foreign.String())
	if err != nil {
		t.Fatalf("GET logout: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
		t.Errorf("foreign return_to status = %d Location = %q, want 400 without redirect", resp.StatusCode, resp.Header.Get("Location"))
	}

	logout, err := c.users.GetLogoutURL(usermanagement.GetLogoutURLOpts{SessionID: sid, ReturnTo: "http://127.0.0.1:9/signed-out"})
	if err != nil {
		t.Fatalf("GetLogoutURL: %v", err)
	}
	resp, err = browser.Get(logout.String())
	if err != nil {
		t.Fatalf("GET logout: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "http://127.0.0.1:9/signed-out" {
		t.Errorf("logout status = %d Location = %q, want 302 to return_to", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, err = c.users.AuthenticateWithRefreshToken(ctx, usermanagement.AuthenticateWithRefreshTokenOpts{ClientID: testClientID, RefreshToken: auth.RefreshToken})
	requireHTTPError(t, err, http.StatusBadRequest, "invalid_grant")

	unknown, _ := c.users.GetLogoutURL(usermanagement.GetLogoutURLOpts{SessionID: "session_missing"})
	resp, err = browser.Get(unknown.String())
	if err != nil {
		t.Fatalf("GET logout: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown session status = %d, want 404", resp.StatusCode)
	}
}

func TestRotatedKeySignsRefreshedTokens(t *testing.T) {
	c := startStandinWith(t, workosstandin.Config{})
	ctx := context.Background()
	validator := newValidator(t, c)
	auth := signIn(t, c, "ana@contoso.example", "Contoso", "admin")
	oldKID := tokenHeader(t, auth.AccessToken)["kid"]

	newKID, err := c.standin.RotateKeys()
	if err != nil {
		t.Fatalf("RotateKeys: %v", err)
	}
	refreshed, err := c.users.AuthenticateWithRefreshToken(ctx, usermanagement.AuthenticateWithRefreshTokenOpts{ClientID: testClientID, RefreshToken: auth.RefreshToken})
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if kid := tokenHeader(t, refreshed.AccessToken)["kid"]; kid != newKID || kid == oldKID {
		t.Errorf("kid = %v, want the new key %s", kid, newKID)
	}
	// The validator fetched the JWKS before the rotation, so this also checks
	// that an unknown kid makes it fetch the new key.
	if _, err := validator.Validate(ctx, refreshed.AccessToken); err != nil {
		t.Errorf("validate token signed with the new key: %v", err)
	}
	if _, err := validator.Validate(ctx, auth.AccessToken); err != nil {
		t.Errorf("validate token signed with the retired key: %v", err)
	}
}

func TestSessionsPersistAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	first := startStandinWith(t, workosstandin.Config{StateDir: dir})
	auth := signIn(t, first, "ana@contoso.example", "Contoso", "admin")
	first.server.Close()

	second := startStandinWith(t, workosstandin.Config{StateDir: dir})
	refreshed, err := second.users.AuthenticateWithRefreshToken(context.Background(), usermanagement.AuthenticateWithRefreshTokenOpts{ClientID: testClientID, RefreshToken: auth.RefreshToken})
	if err != nil {
		t.Fatalf("refresh after restart: %v", err)
	}
	if tokenClaims(t, refreshed.AccessToken)["org_id"] != auth.OrganizationID {
		t.Error("refreshed token lost the organization")
	}
	if got := len(second.standin.Events()); got < 4 {
		t.Errorf("events after restart = %d, want the 4 from before", got)
	}
}

func TestAuthenticateChecksRedirectURIWhenSent(t *testing.T) {
	c := startStandinWith(t, workosstandin.Config{})
	verifier, challenge := pkcePair("ana")
	login := map[string]string{"email": "ana@contoso.example", "organization": "Contoso"}
	authenticate := func(code, redirectURI string) (int, string) {
		body, _ := json.Marshal(map[string]string{
			"client_id": testClientID, "client_secret": testAPIKey, "grant_type": "authorization_code",
			"code": code, "code_verifier": verifier, "redirect_uri": redirectURI,
		})
		resp := postJSON(t, c.server, "/user_management/authenticate", "", string(body))
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw)
	}

	code, _ := signInThroughPage(t, c, challenge, "s", login)
	status, body := authenticate(code, "http://127.0.0.1:9/other")
	if status != http.StatusBadRequest || !strings.Contains(body, `"error":"invalid_grant"`) {
		t.Errorf("other redirect_uri: status = %d body = %s, want 400 invalid_grant", status, body)
	}

	code, _ = signInThroughPage(t, c, challenge, "s", login)
	status, body = authenticate(code, testRedirectURI)
	if status != http.StatusOK || !strings.Contains(body, `"access_token"`) {
		t.Errorf("matching redirect_uri: status = %d body = %s, want 200 with tokens", status, body)
	}
}

func TestMembershipChangesThroughSDKEmitEvents(t *testing.T) {
	c := startStandinWith(t, workosstandin.Config{})
	ctx := context.Background()
	user, err := c.users.CreateUser(ctx, usermanagement.CreateUserOpts{Email: "ana@contoso.example"})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	org, err := c.orgs.CreateOrganization(ctx, organizations.CreateOrganizationOpts{
		Name:       "Contoso",
		DomainData: []organizations.OrganizationDomainData{{Domain: "contoso.example", State: organizations.Verified}},
	})
	if err != nil {
		t.Fatalf("CreateOrganization: %v", err)
	}
	membership, err := c.users.CreateOrganizationMembership(ctx, usermanagement.CreateOrganizationMembershipOpts{UserID: user.ID, OrganizationID: org.ID})
	if err != nil {
		t.Fatalf("CreateOrganizationMembership: %v", err)
	}
	if _, err := c.users.UpdateOrganizationMembership(ctx, membership.ID, usermanagement.UpdateOrganizationMembershipOpts{RoleSlug: workosstandin.RoleAdmin}); err != nil {
		t.Fatalf("UpdateOrganizationMembership: %v", err)
	}
	if err := c.users.DeleteOrganizationMembership(ctx, usermanagement.DeleteOrganizationMembershipOpts{OrganizationMembership: membership.ID}); err != nil {
		t.Fatalf("DeleteOrganizationMembership: %v", err)
	}
	err = c.users.DeleteOrganizationMembership(ctx, usermanagement.DeleteOrganizationMembershipOpts{OrganizationMembership: membership.ID})
	requireHTTPError(t, err, http.StatusNotFound, "entity_not_found")

	want := []string{
		"user.created", "organization.created", "organization_domain.created", "organization_domain.verified",
		"organization_membership.created", "organization_membership.updated", "organization_membership.deleted",
	}
	if got := eventNames(c); !slices.Equal(got, want) {
		t.Errorf("events = %v\nwant %v", got, want)
	}
	updated := c.standin.Events()[5]
	var payload usermanagement.OrganizationMembership
	if err := json.Unmarshal(updated.Data, &payload); err != nil {
		t.Fatalf("decode membership payload: %v", err)
	}
	if payload.ID != membership.ID || payload.Role.Slug != workosstandin.RoleAdmin {
		t.Errorf("organization_membership.updated payload = %+v, want the admin role", payload)
	}
}

// BenchmarkRefresh measures one refresh-token grant through workos-go: a
// store update, an RS256 signature and the loopback round trip.
func BenchmarkRefresh(b *testing.B) {
	c := startStandinWith(b, workosstandin.Config{})
	auth := signIn(b, c, "ana@contoso.example", "Contoso", "admin")
	refresh := auth.RefreshToken
	ctx := context.Background()

	b.ResetTimer()
	for b.Loop() {
		resp, err := c.users.AuthenticateWithRefreshToken(ctx, usermanagement.AuthenticateWithRefreshTokenOpts{ClientID: testClientID, RefreshToken: refresh})
		if err != nil {
			b.Fatalf("refresh: %v", err)
		}
		refresh = resp.RefreshToken
	}
}
