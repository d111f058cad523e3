package identity_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bondingai/platform/shared/identity"
	"github.com/bondingai/platform/shared/workosstandin"
	"github.com/workos/workos-go/v4/pkg/organizations"
	"github.com/workos/workos-go/v4/pkg/usermanagement"
)

const (
	testClientID = "client_identity_test"
	testAPIKey   = "sk_test_identity"
)

// standinFixture is a WorkOS stand-in on a real loopback HTTP server with a
// switch that makes its JWKS endpoint fail and a counter of JWKS fetches.
type standinFixture struct {
	standin     *workosstandin.Server
	server      *httptest.Server
	jwksDown    atomic.Bool
	jwksFetches atomic.Int64

	userID         string
	organizationID string
}

func newStandinFixture(t testing.TB, clientID string) *standinFixture {
	t.Helper()
	f := &standinFixture{}
	f.server = httptest.NewUnstartedServer(nil)
	standin, err := workosstandin.New(workosstandin.Config{
		ClientID: clientID,
		APIKey:   testAPIKey,
		BaseURL:  "http://" + f.server.Listener.Addr().String(),
		Logger:   slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatalf("start stand-in: %v", err)
	}
	f.standin = standin
	f.server.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/sso/jwks/") {
			f.jwksFetches.Add(1)
			if f.jwksDown.Load() {
				http.Error(w, "JWKS outage", http.StatusServiceUnavailable)
				return
			}
		}
		standin.ServeHTTP(w, r)
	})
	f.server.Start()
	t.Cleanup(f.server.Close)

	f.userID, f.organizationID = f.createMember(t, "Contoso", "ana@contoso.example", workosstandin.RoleAdmin)
	return f
}

// createMember creates an organization, a user and a membership through the
// real workos-go v4 clients, as dev-token does.
func (f *standinFixture) createMember(t testing.TB, orgName, email, role string) (string, string) {
	t.Helper()
	ctx := context.Background()
	orgs := &organizations.Client{APIKey: testAPIKey, Endpoint: f.server.URL, HTTPClient: f.server.Client()}
	users := usermanagement.NewClient(testAPIKey)
	users.Endpoint = f.server.URL
	users.HTTPClient = f.server.Client()

	org, err := orgs.CreateOrganization(ctx, organizations.CreateOrganizationOpts{Name: orgName})
	if err != nil {
		t.Fatalf("create organization: %v", err)
	}
	user, err := users.CreateUser(ctx, usermanagement.CreateUserOpts{Email: email})
	if err != nil {
		t.Fatalf("create user: %v", err)
	}
	_, err = users.CreateOrganizationMembership(ctx, usermanagement.CreateOrganizationMembershipOpts{
		UserID: user.ID, OrganizationID: org.ID, RoleSlug: role,
	})
	if err != nil {
		t.Fatalf("create membership: %v", err)
	}
	return user.ID, org.ID
}

func (f *standinFixture) mint(t testing.TB) string {
	t.Helper()
	token, err := f.standin.MintAccessToken(workosstandin.AccessTokenRequest{
		UserID: f.userID, OrganizationID: f.organizationID, TTLSeconds: 300,
	})
	if err != nil {
		t.Fatalf("mint access token: %v", err)
	}
	return token.AccessToken
}

// validatorOption adjusts the ValidatorConfig of one test.
type validatorOption func(*identity.ValidatorConfig)

func withNow(now func() time.Time) validatorOption {
	return func(cfg *identity.ValidatorConfig) { cfg.Now = now }
}

func withRefetchInterval(interval time.Duration) validatorOption {
	return func(cfg *identity.ValidatorConfig) { cfg.UnknownKIDRefetchInterval = interval }
}

func withIssuers(issuers ...string) validatorOption {
	return func(cfg *identity.ValidatorConfig) { cfg.Issuers = issuers }
}

func withLogger(logger *slog.Logger) validatorOption {
	return func(cfg *identity.ValidatorConfig) { cfg.Logger = logger }
}

func (f *standinFixture) newValidator(t testing.TB, options ...validatorOption) *identity.Validator {
	t.Helper()
	users := usermanagement.NewClient(testAPIKey)
	users.Endpoint = f.server.URL
	jwksURL, err := users.GetJWKSURL(testClientID)
	if err != nil {
		t.Fatalf("build JWKS URL: %v", err)
	}
	cfg := identity.ValidatorConfig{
		JWKSURL:    jwksURL.String(),
		Issuers:    []string{f.standin.IssuerURL()},
		HTTPClient: f.server.Client(),
		Logger:     slog.New(slog.DiscardHandler),
	}
	for _, option := range options {
		option(&cfg)
	}
	v, err := identity.NewValidator(cfg)
	if err != nil {
		t.Fatalf("new validator: %v", err)
	}
	t.Cleanup(v.Close)
	return v
}

// syncBuffer is a log sink that tests read while handlers write to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
