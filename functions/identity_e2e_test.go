package functions_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/workos/workos-go/v4/pkg/organizations"
	"github.com/workos/workos-go/v4/pkg/usermanagement"

	"github.com/bondingai/platform/shared/workosstandin"
)

// The identity end-to-end tests run the handler under the local host, with
// the WorkOS stand-in as the identity provider. A directory user is
// deactivated there, and the same unexpired access token stops working
// after one SyncIdentity run, or after a signed webhook alone.

// deprovisionTimeout bounds how long a sync run may take to deny a user;
// one run over a handful of events takes well under a second.
const deprovisionTimeout = 30 * time.Second

// identityFixture is an organization in the stand-in with a directory, and
// helpers to call the stand-in's API and development endpoints.
type identityFixture struct {
	standin    *workosstandin.Server
	standinURL string
	orgID      string
	directory  string
}

func (f *identityFixture) call(t *testing.T, method, path string, body any) []byte {
	t.Helper()
	var reader io.Reader
	if body != nil {
		encoded, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		reader = bytes.NewReader(encoded)
	}
	req, err := http.NewRequest(method, f.standinURL+path, reader)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e2eAPIKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s on the stand-in: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s on the stand-in: status %d: %s", method, path, resp.StatusCode, data)
	}
	return data
}

func newIdentityFixture(t *testing.T, standin *workosstandin.Server, standinURL string) *identityFixture {
	t.Helper()
	orgs := &organizations.Client{APIKey: e2eAPIKey, Endpoint: standinURL, HTTPClient: http.DefaultClient}
	org, err := orgs.CreateOrganization(context.Background(), organizations.CreateOrganizationOpts{Name: "Contoso"})
	if err != nil {
		t.Fatalf("create organization: %v", err)
	}
	f := &identityFixture{standin: standin, standinURL: standinURL, orgID: org.ID}
	var directory struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(f.call(t, http.MethodPost, "/_standin/directories", map[string]string{"organization_id": org.ID, "name": "Contoso Entra ID"}), &directory); err != nil {
		t.Fatal(err)
	}
	f.directory = directory.ID
	return f
}

// member creates a user with a membership of role and a directory user
// with the same email, and returns an access token valid for an hour and
// the directory user's id.
func (f *identityFixture) member(t *testing.T, email, role string) (string, string) {
	t.Helper()
	ctx := context.Background()
	users := usermanagement.NewClient(e2eAPIKey)
	users.Endpoint = f.standinURL
	user, err := users.CreateUser(ctx, usermanagement.CreateUserOpts{Email: email, EmailVerified: true})
	if err != nil {
		t.Fatalf("create user: %v", err)
	}
	_, err = users.CreateOrganizationMembership(ctx, usermanagement.CreateOrganizationMembershipOpts{
		UserID: user.ID, OrganizationID: f.orgID, RoleSlug: role,
	})
	if err != nil {
		t.Fatalf("create membership: %v", err)
	}
	var directoryUser struct {
		ID string `json:"id"`
	}
	body := map[string]string{"directory_id": f.directory, "email": email, "first_name": "Test", "last_name": "User"}
	if err := json.Unmarshal(f.call(t, http.MethodPost, "/_standin/directory-users", body), &directoryUser); err != nil {
		t.Fatal(err)
	}
	token, err := f.standin.MintAccessToken(workosstandin.AccessTokenRequest{UserID: user.ID, OrganizationID: f.orgID, TTLSeconds: 3600})
	if err != nil {
		t.Fatalf("mint access token: %v", err)
	}
	return token.AccessToken, directoryUser.ID
}

// sessionRevoked reports whether the stand-in emitted session.revoked for
// any session of the organization.
func (f *identityFixture) sessionRevoked() bool {
	for _, event := range f.standin.Events() {
		if event.Event == workosstandin.EventSessionRevoked && strings.Contains(string(event.Data), f.orgID) {
			return true
		}
	}
	return false
}

// runFunction requests one run of a non-HTTP function from the local host.
func (p *platformUnderTest) runFunction(t *testing.T, name string) {
	t.Helper()
	resp, err := p.client.Post(p.baseURL+"/admin/functions/"+name, "application/json", strings.NewReader(`{"input":""}`))
	if err != nil {
		t.Fatalf("invoke %s: %v", name, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("invoke %s: status %d, want 202", name, resp.StatusCode)
	}
}

// waitForStatus polls GET path until it returns want, failing after
// deprovisionTimeout, and returns the last response.
func (p *platformUnderTest) waitForStatus(t *testing.T, path string, want int) (*http.Response, []byte) {
	t.Helper()
	deadline := time.Now().Add(deprovisionTimeout)
	for {
		resp, data := p.do(t, http.MethodGet, path, nil, "")
		if resp.StatusCode == want {
			return resp, data
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s still returns %d after %s, want %d: %s", path, resp.StatusCode, deprovisionTimeout, want, data)
		}
		time.Sleep(100 * time.Millisecond) // poll interval
	}
}

func TestEndToEndDeactivatedDirectoryUserDenied(t *testing.T) {
	if testing.Short() {
		t.Skip("the end-to-end test runs the whole platform")
	}
	p, standin, standinURL := startPlatform(t)
	f := newIdentityFixture(t, standin, standinURL)
	var directoryUser string
	p.token, directoryUser = f.member(t, "grace@contoso.com", "member")

	// The user works, and a sync run with the active directory user keeps
	// it that way.
	if resp, data := p.do(t, http.MethodGet, "/api/documents", nil, ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/documents before deactivation: %d %s", resp.StatusCode, data)
	}
	p.runFunction(t, "SyncIdentity")

	// The identity provider deactivates the user; the access token stays
	// valid for another hour.
	f.call(t, http.MethodPost, "/_standin/directory-users/"+directoryUser+"/deactivate", nil)
	p.runFunction(t, "SyncIdentity")

	resp, data := p.waitForStatus(t, "/api/documents", http.StatusForbidden)
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type = %q, want application/problem+json: %s", ct, data)
	}
	if resp, _ := p.do(t, http.MethodGet, "/api/me", nil, ""); resp.StatusCode != http.StatusForbidden {
		t.Errorf("GET /api/me after deactivation: %d, want 403", resp.StatusCode)
	}

	// The sync revokes the token's session in WorkOS, so it cannot refresh.
	deadline := time.Now().Add(deprovisionTimeout)
	for !f.sessionRevoked() {
		if time.Now().After(deadline) {
			t.Fatal("the stand-in emitted no session.revoked for the deactivated user")
		}
		time.Sleep(100 * time.Millisecond) // poll interval
	}
}

func TestEndToEndWebhookTriggersSync(t *testing.T) {
	if testing.Short() {
		t.Skip("the end-to-end test runs the whole platform")
	}
	// With the timer disabled, only the webhook can start a sync run.
	p, standin, standinURL := startPlatform(t, map[string]string{"AzureWebJobs.SyncIdentity.Disabled": "true"})
	err := standin.RegisterWebhookEndpoint(workosstandin.WebhookEndpoint{URL: p.baseURL + "/api/webhooks/workos", Secret: e2eWebhookSecret})
	if err != nil {
		t.Fatal(err)
	}
	f := newIdentityFixture(t, standin, standinURL)
	var directoryUser string
	p.token, directoryUser = f.member(t, "linus@contoso.com", "member")
	if resp, data := p.do(t, http.MethodGet, "/api/documents", nil, ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/documents before deletion: %d %s", resp.StatusCode, data)
	}

	// No SyncIdentity invocation: the signed webhook alone starts the run.
	f.call(t, http.MethodDelete, "/_standin/directory-users/"+directoryUser, nil)
	p.waitForStatus(t, "/api/documents", http.StatusForbidden)

	// A forged delivery is rejected.
	forged, err := http.NewRequest(http.MethodPost, p.baseURL+"/api/webhooks/workos", strings.NewReader(`{"id":"event_forged","event":"dsync.user.deleted","data":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	forged.Header.Set("WorkOS-Signature", "t=1767225600000, v1="+strings.Repeat("0", 64))
	resp, err := p.client.Do(forged)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("forged webhook: status %d, want 401", resp.StatusCode)
	}
}

func TestEndToEndAdministration(t *testing.T) {
	if testing.Short() {
		t.Skip("the end-to-end test runs the whole platform")
	}
	p, standin, standinURL := startPlatform(t)
	f := newIdentityFixture(t, standin, standinURL)
	adminToken, _ := f.member(t, "ada@contoso.com", "admin")
	memberToken, _ := f.member(t, "grace@contoso.com", "member")

	request := func(token, method, path, body string, header map[string]string) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest(method, p.baseURL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		for name, value := range header {
			req.Header.Set(name, value)
		}
		resp, err := p.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp, data
	}

	// A member may use the platform but not administer it.
	for _, route := range [][2]string{{http.MethodGet, "/api/admin/settings"}, {http.MethodPut, "/api/admin/settings"}, {http.MethodPost, "/api/admin/portal-link"}} {
		resp, data := request(memberToken, route[0], route[1], `{"intent":"sso"}`, map[string]string{"If-Match": `"v0"`})
		if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("member %s %s: %d %s, want 403 problem", route[0], route[1], resp.StatusCode, data)
		}
	}

	// Settings: defaults at version 0, then optimistic concurrency.
	resp, data := request(adminToken, http.MethodGet, "/api/admin/settings", "", nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") != `"v0"` {
		t.Fatalf("GET settings: %d ETag %s: %s", resp.StatusCode, resp.Header.Get("ETag"), data)
	}
	update := `{"display_name":"Contoso Ltd.","allowed_email_domains":["Contoso.com"],"retention_days":90,"custom":{"theme":"dark"}}`
	if resp, _ := request(adminToken, http.MethodPut, "/api/admin/settings", update, nil); resp.StatusCode != http.StatusPreconditionRequired {
		t.Errorf("PUT without If-Match: %d, want 428", resp.StatusCode)
	}
	resp, data = request(adminToken, http.MethodPut, "/api/admin/settings", update, map[string]string{"If-Match": `"v0"`})
	if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") != `"v1"` {
		t.Fatalf("PUT settings: %d ETag %s: %s", resp.StatusCode, resp.Header.Get("ETag"), data)
	}
	var stored struct {
		Settings struct {
			DisplayName         string   `json:"display_name"`
			AllowedEmailDomains []string `json:"allowed_email_domains"`
		} `json:"settings"`
		Version   int64   `json:"version"`
		UpdatedBy *string `json:"updated_by"`
	}
	if err := json.Unmarshal(data, &stored); err != nil {
		t.Fatal(err)
	}
	if stored.Settings.DisplayName != "Contoso Ltd." || len(stored.Settings.AllowedEmailDomains) != 1 || stored.Settings.AllowedEmailDomains[0] != "contoso.com" || stored.UpdatedBy == nil {
		t.Errorf("stored settings = %s", data)
	}
	if resp, _ := request(adminToken, http.MethodPut, "/api/admin/settings", update, map[string]string{"If-Match": `"v0"`}); resp.StatusCode != http.StatusPreconditionFailed {
		t.Errorf("PUT with a stale If-Match: %d, want 412", resp.StatusCode)
	}
	resp, data = request(adminToken, http.MethodPut, "/api/admin/settings", `{"retention_days":0,"custom":[1]}`, map[string]string{"If-Match": `"v1"`})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(data), `"field":"retention_days"`) || !strings.Contains(string(data), `"field":"custom"`) {
		t.Errorf("PUT invalid settings: %d %s, want 422 naming retention_days and custom", resp.StatusCode, data)
	}

	// Portal links.
	resp, data = request(adminToken, http.MethodPost, "/api/admin/portal-link", `{"intent":"dsync","return_url":"https://app.contoso.example/admin"}`, nil)
	var link struct {
		Link string `json:"link"`
	}
	if err := json.Unmarshal(data, &link); resp.StatusCode != http.StatusOK || err != nil || !strings.HasPrefix(link.Link, standinURL) {
		t.Errorf("portal link: %d %s, want a stand-in link", resp.StatusCode, data)
	}
	resp, data = request(adminToken, http.MethodPost, "/api/admin/portal-link", `{"intent":"billing"}`, nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(data), "domain_verification") {
		t.Errorf("invalid intent: %d %s, want 400 listing the intents", resp.StatusCode, data)
	}
}
