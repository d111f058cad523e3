package session_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/workos/workos-go/v4/pkg/organizations"
	"github.com/workos/workos-go/v4/pkg/usermanagement"

	"github.com/bondingai/platform/shared/customhandler"
	"github.com/bondingai/platform/shared/identity"
	"github.com/bondingai/platform/shared/session"
	"github.com/bondingai/platform/shared/store/storetest"
	"github.com/bondingai/platform/shared/workosstandin"
)

const (
	testClientID = "client_session_test"
	testAPIKey   = "sk_test_session"
)

// clock is real time plus an offset that a test advances, shared by the
// stand-in, the validator and the manager, so a test can move past an
// access token's refresh margin without waiting.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// fixture is a session manager on a real loopback server, signing in with a
// WorkOS stand-in that counts refresh grants and can hold or fail them.
type fixture struct {
	clock       *clock
	standin     *workosstandin.Server
	standinURL  string
	app         *httptest.Server
	adminURL    string
	refreshes   atomic.Int64
	failRefresh atomic.Bool
	// holdRefresh, when set, receives a value when a refresh grant arrives
	// and the grant waits until the channel is closed.
	holdRefresh chan struct{}
	entered     chan struct{}
	client      *http.Client
	manager     *session.Manager
	config      session.Config
	standinHTTP *http.Client
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{clock: &clock{}}
	store, db := storetest.Open(t)
	f.adminURL = db.AdminURL

	standinServer := httptest.NewUnstartedServer(nil)
	f.standinURL = "http://" + standinServer.Listener.Addr().String()
	app := httptest.NewUnstartedServer(nil)
	appURL := "http://" + app.Listener.Addr().String()
	standin, err := workosstandin.New(workosstandin.Config{
		ClientID: testClientID, APIKey: testAPIKey, BaseURL: f.standinURL,
		RedirectURIs: []string{appURL + "/api/auth/callback"},
		Now:          f.clock.Now,
		Logger:       slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	f.standin = standin
	standinServer.Config.Handler = http.HandlerFunc(f.serveStandin)
	standinServer.Start()
	t.Cleanup(standinServer.Close)
	f.standinHTTP = standinServer.Client()

	validator, err := identity.NewValidator(identity.ValidatorConfig{
		JWKSURL: standin.JWKSURL(), Issuers: []string{standin.IssuerURL()},
		Leeway: time.Millisecond, Now: f.clock.Now, HTTPClient: standinServer.Client(), Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(validator.Close)
	sealer, err := session.NewSealer([]byte(strings.Repeat("k", session.KeySize)), nil)
	if err != nil {
		t.Fatal(err)
	}
	users := usermanagement.NewClient(testAPIKey)
	users.Endpoint = f.standinURL
	f.config = session.Config{
		ClientID: testClientID, RedirectURI: appURL + "/api/auth/callback", PublicBaseURL: appURL,
		Users: users, Organizations: &organizations.Client{APIKey: testAPIKey, Endpoint: f.standinURL, HTTPClient: http.DefaultClient},
		Validator: validator, Sealer: sealer, Store: store, Now: f.clock.Now,
	}
	manager, err := session.New(f.config)
	if err != nil {
		t.Fatal(err)
	}

	f.manager = manager
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/auth/login", manager.Login)
	mux.HandleFunc("GET /api/auth/callback", manager.Callback)
	mux.Handle("GET /api/whoami", manager.Authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := identity.ClaimsFromContext(r.Context())
		json.NewEncoder(w).Encode(map[string]string{"user_id": claims.UserID, "org_id": claims.OrganizationID, "sid": claims.SessionID})
	})))
	mux.Handle("POST /api/auth/logout", manager.Authenticate(http.HandlerFunc(manager.Logout)))
	// Handlers log through the request's logger, slog.Default without one.
	app.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r.WithContext(customhandler.WithLogger(r.Context(), slog.New(slog.DiscardHandler))))
	})
	app.Start()
	t.Cleanup(app.Close)
	f.app = app
	f.client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return f
}

// serveStandin counts refresh grants, holds or fails them on request, and
// passes everything to the stand-in.
func (f *fixture) serveStandin(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && r.URL.Path == "/user_management/authenticate" {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		var grant struct {
			GrantType string `json:"grant_type"`
		}
		json.Unmarshal(body, &grant)
		if grant.GrantType == "refresh_token" {
			f.refreshes.Add(1)
			if f.failRefresh.Load() {
				http.Error(w, `{"message":"unavailable"}`, http.StatusServiceUnavailable)
				return
			}
			if f.holdRefresh != nil {
				f.entered <- struct{}{}
				<-f.holdRefresh
			}
		}
	}
	f.standin.ServeHTTP(w, r)
}

func (f *fixture) get(t testing.TB, rawURL string, cookie *http.Cookie) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, rawURL, nil)
	if cookie != nil {
		req.AddCookie(&http.Cookie{Name: cookie.Name, Value: cookie.Value})
	}
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func findCookie(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// signIn walks login, the stand-in's form and the callback for a new user
// who is a member of a new organization, and returns the session cookie.
func (f *fixture) signIn(t testing.TB) *http.Cookie {
	t.Helper()
	resp, body := f.get(t, f.app.URL+"/api/auth/login", nil)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("login: %d %s", resp.StatusCode, body)
	}
	loginCookie := findCookie(resp, session.LoginCookieName)
	authorize, _ := url.Parse(resp.Header.Get("Location"))
	form := url.Values{}
	for name, values := range authorize.Query() {
		form[name] = values
	}
	form.Set("email", "grace@contoso.example")
	form.Set("organization", "Contoso")
	form.Set("role", "admin")
	submit, err := f.client.PostForm(f.standinURL+"/user_management/authorize", form)
	if err != nil {
		t.Fatal(err)
	}
	submit.Body.Close()
	if submit.StatusCode != http.StatusFound {
		t.Fatalf("stand-in login form: status %d", submit.StatusCode)
	}
	resp, body = f.get(t, submit.Header.Get("Location"), loginCookie)
	cookie := findCookie(resp, session.SessionCookieName)
	if resp.StatusCode != http.StatusFound || cookie == nil {
		t.Fatalf("callback: status %d, cookie %v: %s", resp.StatusCode, cookie != nil, body)
	}
	return cookie
}

// waitForLockWaiter polls pg_locks until a session waits for an advisory
// lock, which is the second refresher queuing behind the first.
func (f *fixture) waitForLockWaiter(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, f.adminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted").Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no request waited for the refresh lock within 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAuthenticateSkipsRefreshWhileTokenIsFresh(t *testing.T) {
	f := newFixture(t)
	cookie := f.signIn(t)
	resp, body := f.get(t, f.app.URL+"/api/whoami", cookie)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"org_id":"org_`) {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if findCookie(resp, session.SessionCookieName) != nil || f.refreshes.Load() != 0 {
		t.Errorf("a fresh token was refreshed (%d grants)", f.refreshes.Load())
	}
}

func TestConcurrentRefreshSpendsTokenOnce(t *testing.T) {
	f := newFixture(t)
	cookie := f.signIn(t)
	// The stand-in's tokens live 5 minutes, so they refresh 30 s early.
	f.clock.Advance(4*time.Minute + 40*time.Second)
	f.holdRefresh = make(chan struct{})
	f.entered = make(chan struct{}, 1)

	type outcome struct {
		status int
		cookie *http.Cookie
	}
	outcomes := make(chan outcome, 2)
	request := func() {
		resp, _ := f.get(t, f.app.URL+"/api/whoami", cookie)
		outcomes <- outcome{resp.StatusCode, findCookie(resp, session.SessionCookieName)}
	}
	go request()
	<-f.entered // the first request is inside the refresh grant
	go request()
	f.waitForLockWaiter(t)
	close(f.holdRefresh)

	for range 2 {
		o := <-outcomes
		if o.status != http.StatusOK {
			t.Errorf("status %d, want 200", o.status)
		}
		if o.cookie == nil || o.cookie.Value == cookie.Value {
			t.Error("response set no new session cookie")
		}
	}
	if got := f.refreshes.Load(); got != 1 {
		t.Errorf("the stand-in received %d refresh grants, want 1", got)
	}
}

func TestRefreshFailureKeepsValidSession(t *testing.T) {
	f := newFixture(t)
	cookie := f.signIn(t)
	f.failRefresh.Store(true)

	f.clock.Advance(4*time.Minute + 40*time.Second)
	resp, body := f.get(t, f.app.URL+"/api/whoami", cookie)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh failed with a valid token: status %d, want 200: %s", resp.StatusCode, body)
	}
	if c := findCookie(resp, session.SessionCookieName); c != nil {
		t.Errorf("a failed refresh changed the cookie: %+v", c)
	}

	f.clock.Advance(time.Minute)
	resp, _ = f.get(t, f.app.URL+"/api/whoami", cookie)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("refresh failed with an expired token: status %d, Retry-After %q, want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if c := findCookie(resp, session.SessionCookieName); c != nil {
		t.Error("a transient failure cleared the cookie")
	}

	f.failRefresh.Store(false)
	resp, _ = f.get(t, f.app.URL+"/api/whoami", cookie)
	if resp.StatusCode != http.StatusOK || findCookie(resp, session.SessionCookieName) == nil {
		t.Errorf("after WorkOS recovered: status %d, want 200 with a new cookie", resp.StatusCode)
	}
}

func TestInvalidGrantEndsSession(t *testing.T) {
	f := newFixture(t)
	cookie := f.signIn(t)
	resp, body := f.get(t, f.app.URL+"/api/whoami", cookie)
	var who map[string]string
	if err := json.Unmarshal([]byte(body), &who); err != nil || who["sid"] == "" {
		t.Fatalf("whoami: %s", body)
	}
	if err := f.standin.RevokeSession(who["sid"]); err != nil {
		t.Fatal(err)
	}

	f.clock.Advance(4*time.Minute + 40*time.Second)
	resp, _ = f.get(t, f.app.URL+"/api/whoami", cookie)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("status %d, want 401", resp.StatusCode)
	}
	if c := findCookie(resp, session.SessionCookieName); c == nil || c.MaxAge >= 0 {
		t.Errorf("invalid_grant did not clear the cookie: %+v", c)
	}
}

func TestCallbackRejectsBadState(t *testing.T) {
	f := newFixture(t)
	resp, _ := f.get(t, f.app.URL+"/api/auth/login", nil)
	loginCookie := findCookie(resp, session.LoginCookieName)

	cases := map[string]struct {
		query  string
		cookie *http.Cookie
		want   int
	}{
		"mismatched state": {"code=abc&state=wrong", loginCookie, http.StatusBadRequest},
		"missing state":    {"code=abc", loginCookie, http.StatusBadRequest},
		"missing cookie":   {"code=abc&state=x", nil, http.StatusBadRequest},
		"provider error":   {"error=access_denied&error_description=no", loginCookie, http.StatusUnauthorized},
		"foreign cookie":   {"code=abc&state=x", &http.Cookie{Name: session.LoginCookieName, Value: "AQ" + strings.Repeat("A", 80)}, http.StatusBadRequest},
		"unknown code":     {"code=secret-code-value&state=" + url.QueryEscape(stateOf(t, resp)), loginCookie, http.StatusUnauthorized},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			got, body := f.get(t, f.app.URL+"/api/auth/callback?"+c.query, c.cookie)
			if got.StatusCode != c.want {
				t.Errorf("status %d, want %d: %s", got.StatusCode, c.want, body)
			}
			if got.Header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("Content-Type %q, want application/problem+json", got.Header.Get("Content-Type"))
			}
			if strings.Contains(body, "secret-code-value") || findCookie(got, session.SessionCookieName) != nil {
				t.Error("callback echoed the code or set a session")
			}
		})
	}
}

func stateOf(t *testing.T, loginResponse *http.Response) string {
	t.Helper()
	location, err := url.Parse(loginResponse.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return location.Query().Get("state")
}

func TestLoginRejectsInvalidParameters(t *testing.T) {
	f := newFixture(t)
	for _, query := range []string{
		"return_to=%2F%2Fevil.com",
		"return_to=https%3A%2F%2Fevil.com",
		"organization_id=org_123",
		"connection_id=conn_x",
		"organization_id=org_01ARZ3NDEKTSV4RRFFQ69G5FAV&connection_id=conn_01ARZ3NDEKTSV4RRFFQ69G5FAV",
		"login_hint=a%20b%40c.d",
	} {
		resp, _ := f.get(t, f.app.URL+"/api/auth/login?"+query, nil)
		if resp.StatusCode != http.StatusBadRequest || findCookie(resp, session.LoginCookieName) != nil {
			t.Errorf("login?%s: status %d, want 400 without a login cookie", query, resp.StatusCode)
		}
	}
	resp, _ := f.get(t, f.app.URL+"/api/auth/login?organization_id=org_01ARZ3NDEKTSV4RRFFQ69G5FAV&login_hint=ada%40contoso.example", nil)
	location, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || location.Query().Get("organization_id") != "org_01ARZ3NDEKTSV4RRFFQ69G5FAV" ||
		location.Query().Get("provider") != "" || location.Query().Get("login_hint") != "ada@contoso.example" {
		t.Errorf("login with organization_id: status %d, Location %s", resp.StatusCode, location)
	}
}

func TestRefreshReplacesTokenOfDroppedKey(t *testing.T) {
	f := newFixture(t)
	cookie := f.signIn(t)
	if _, err := f.standin.RotateKeys(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.standin.DropRetiredKeys(); err != nil {
		t.Fatal(err)
	}
	// A new instance fetches the JWKS without the dropped key; the
	// fixture's validator still has it cached.
	validator, err := identity.NewValidator(identity.ValidatorConfig{
		JWKSURL: f.standin.JWKSURL(), Issuers: []string{f.standin.IssuerURL()},
		Leeway: time.Millisecond, Now: f.clock.Now, HTTPClient: f.standinHTTP, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(validator.Close)
	config := f.config
	config.Validator = validator
	manager, err := session.New(config)
	if err != nil {
		t.Fatal(err)
	}
	handler := manager.Authenticate(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))

	req := httptest.NewRequest(http.MethodGet, "/api/whoami", nil)
	req.AddCookie(cookie)
	recorder := httptest.NewRecorder()
	handler.ServeHTTP(recorder, req)
	resp := recorder.Result()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200 after a refresh: %s", resp.StatusCode, recorder.Body)
	}
	if c := findCookie(resp, session.SessionCookieName); c == nil || c.MaxAge <= 0 {
		t.Errorf("no refreshed cookie for a token of a dropped key: %+v", c)
	}
	if got := f.refreshes.Load(); got != 1 {
		t.Errorf("refresh grants = %d, want 1", got)
	}
}
