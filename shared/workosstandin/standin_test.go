package workosstandin_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bondingai/platform/shared/identity"
	"github.com/bondingai/platform/shared/workosstandin"
	"github.com/golang-jwt/jwt/v5"
	"github.com/workos/workos-go/v4/pkg/organizations"
	"github.com/workos/workos-go/v4/pkg/usermanagement"
	"github.com/workos/workos-go/v4/pkg/workos_errors"
)

const (
	testClientID = "client_standin_test"
	testAPIKey   = "sk_test_standin"
)

type clients struct {
	standin *workosstandin.Server
	server  *httptest.Server
	orgs    *organizations.Client
	users   *usermanagement.Client
}

func startStandin(t *testing.T, stateDir string) clients {
	t.Helper()
	standin, server, err := workosstandin.NewHTTPTestServer(workosstandin.Config{
		ClientID: testClientID,
		APIKey:   testAPIKey,
		StateDir: stateDir,
		Logger:   slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatalf("start stand-in: %v", err)
	}
	t.Cleanup(server.Close)
	return newClients(standin, server, testAPIKey)
}

// newClients builds the real workos-go v4 clients pointed at the stand-in,
// the way the platform builds them for production with another Endpoint.
func newClients(standin *workosstandin.Server, server *httptest.Server, apiKey string) clients {
	users := usermanagement.NewClient(apiKey)
	users.Endpoint = server.URL
	users.HTTPClient = server.Client()
	return clients{
		standin: standin,
		server:  server,
		orgs:    &organizations.Client{APIKey: apiKey, Endpoint: server.URL, HTTPClient: server.Client()},
		users:   users,
	}
}

func requireHTTPError(t *testing.T, err error, status int, code string) workos_errors.HTTPError {
	t.Helper()
	var httpErr workos_errors.HTTPError
	if !errors.As(err, &httpErr) {
		t.Fatalf("error = %v (%T), want workos_errors.HTTPError %d", err, err, status)
	}
	if httpErr.Code != status {
		t.Errorf("status = %d, want %d (%s)", httpErr.Code, status, httpErr.Message)
	}
	if code != "" && httpErr.ErrorCode != code {
		t.Errorf("error code = %q, want %q", httpErr.ErrorCode, code)
	}
	if httpErr.RequestID == "" {
		t.Error("error has no request ID")
	}
	return httpErr
}

func TestOrganizationsCreateGetThroughSDK(t *testing.T) {
	c := startStandin(t, "")
	ctx := context.Background()

	created, err := c.orgs.CreateOrganization(ctx, organizations.CreateOrganizationOpts{
		Name:       "Contoso",
		DomainData: []organizations.OrganizationDomainData{{Domain: "Contoso.example", State: organizations.Verified}},
		ExternalID: "tenant-1",
		Metadata:   map[string]string{"plan": "enterprise"},
	})
	if err != nil {
		t.Fatalf("CreateOrganization: %v", err)
	}
	if !strings.HasPrefix(created.ID, "org_") || len(created.ID) != len("org_")+26 {
		t.Errorf("ID = %q, want org_ and 26 characters", created.ID)
	}
	if created.Name != "Contoso" {
		t.Errorf("Name = %q, want Contoso", created.Name)
	}
	if len(created.Domains) != 1 || created.Domains[0].Domain != "contoso.example" || created.Domains[0].State != "verified" {
		t.Errorf("Domains = %+v, want contoso.example verified", created.Domains)
	}
	if created.ExternalID != "tenant-1" || created.Metadata["plan"] != "enterprise" {
		t.Errorf("ExternalID, Metadata = %q, %v; want tenant-1, plan=enterprise", created.ExternalID, created.Metadata)
	}
	if _, err := time.Parse(time.RFC3339, created.CreatedAt); err != nil {
		t.Errorf("CreatedAt %q is not RFC 3339: %v", created.CreatedAt, err)
	}

	got, err := c.orgs.GetOrganization(ctx, organizations.GetOrganizationOpts{Organization: created.ID})
	if err != nil {
		t.Fatalf("GetOrganization: %v", err)
	}
	if got.ID != created.ID || got.Name != created.Name {
		t.Errorf("GetOrganization = %+v, want %+v", got, created)
	}

	byExternalID, err := c.orgs.GetOrganizationByExternalID(ctx, organizations.GetOrganizationByExternalIDOpts{ExternalID: "tenant-1"})
	if err != nil {
		t.Fatalf("GetOrganizationByExternalID: %v", err)
	}
	if byExternalID.ID != created.ID {
		t.Errorf("GetOrganizationByExternalID ID = %q, want %q", byExternalID.ID, created.ID)
	}
}

func TestOrganizationsErrorsThroughSDK(t *testing.T) {
	c := startStandin(t, "")
	ctx := context.Background()

	_, err := c.orgs.GetOrganization(ctx, organizations.GetOrganizationOpts{Organization: "org_missing"})
	requireHTTPError(t, err, http.StatusNotFound, "entity_not_found")

	_, err = c.orgs.CreateOrganization(ctx, organizations.CreateOrganizationOpts{Name: "  "})
	httpErr := requireHTTPError(t, err, http.StatusUnprocessableEntity, "invalid_request_parameters")
	if len(httpErr.FieldErrors) != 1 || httpErr.FieldErrors[0].Field != "name" {
		t.Errorf("FieldErrors = %+v, want one for name", httpErr.FieldErrors)
	}

	_, err = c.orgs.ListOrganizations(ctx, organizations.ListOrganizationsOpts{Limit: 101})
	requireHTTPError(t, err, http.StatusUnprocessableEntity, "invalid_request_parameters")
}

func TestOrganizationsIdempotencyKeyReturnsSameOrganization(t *testing.T) {
	c := startStandin(t, "")
	ctx := context.Background()
	opts := organizations.CreateOrganizationOpts{Name: "Contoso", IdempotencyKey: "create-contoso"}

	first, err := c.orgs.CreateOrganization(ctx, opts)
	if err != nil {
		t.Fatalf("first CreateOrganization: %v", err)
	}
	second, err := c.orgs.CreateOrganization(ctx, opts)
	if err != nil {
		t.Fatalf("second CreateOrganization: %v", err)
	}

	if second.ID != first.ID {
		t.Errorf("second create returned %s, want the first organization %s", second.ID, first.ID)
	}
	list, err := c.orgs.ListOrganizations(ctx, organizations.ListOrganizationsOpts{})
	if err != nil {
		t.Fatalf("ListOrganizations: %v", err)
	}
	if len(list.Data) != 1 {
		t.Errorf("organizations = %d, want 1", len(list.Data))
	}
}

func TestOrganizationsListPaginatesThroughSDK(t *testing.T) {
	c := startStandin(t, "")
	ctx := context.Background()
	var created []string
	for i := range 25 {
		org, err := c.orgs.CreateOrganization(ctx, organizations.CreateOrganizationOpts{Name: fmt.Sprintf("Org %02d", i)})
		if err != nil {
			t.Fatalf("CreateOrganization %d: %v", i, err)
		}
		created = append(created, org.ID)
	}

	// Default order is newest first; follow the after cursor to the end.
	var seen []string
	after := ""
	for page := 0; ; page++ {
		if page > 5 {
			t.Fatal("pagination did not end after 5 pages")
		}
		list, err := c.orgs.ListOrganizations(ctx, organizations.ListOrganizationsOpts{After: after})
		if err != nil {
			t.Fatalf("ListOrganizations page %d: %v", page, err)
		}
		for _, org := range list.Data {
			seen = append(seen, org.ID)
		}
		if list.ListMetadata.After == "" {
			break
		}
		after = list.ListMetadata.After
	}
	want := slices.Clone(created)
	slices.Reverse(want)
	if !slices.Equal(seen, want) {
		t.Errorf("paged IDs = %v, want all 25 newest first %v", seen, want)
	}

	ascending, err := c.orgs.ListOrganizations(ctx, organizations.ListOrganizationsOpts{Order: organizations.Asc, Limit: 5, After: created[9]})
	if err != nil {
		t.Fatalf("ListOrganizations asc: %v", err)
	}
	if got := ids(ascending.Data); !slices.Equal(got, created[10:15]) {
		t.Errorf("asc after the 10th = %v, want %v", got, created[10:15])
	}
	if ascending.ListMetadata.Before != created[10] || ascending.ListMetadata.After != created[14] {
		t.Errorf("list_metadata = %+v, want before %s after %s", ascending.ListMetadata, created[10], created[14])
	}

	before, err := c.orgs.ListOrganizations(ctx, organizations.ListOrganizationsOpts{Order: organizations.Asc, Limit: 3, Before: created[5]})
	if err != nil {
		t.Fatalf("ListOrganizations before: %v", err)
	}
	if got := ids(before.Data); !slices.Equal(got, created[2:5]) {
		t.Errorf("asc before the 6th = %v, want %v", got, created[2:5])
	}
}

func ids(orgs []organizations.Organization) []string {
	var out []string
	for _, org := range orgs {
		out = append(out, org.ID)
	}
	return out
}

func TestOrganizationsListFiltersByDomain(t *testing.T) {
	c := startStandin(t, "")
	ctx := context.Background()
	contoso, err := c.orgs.CreateOrganization(ctx, organizations.CreateOrganizationOpts{
		Name: "Contoso", DomainData: []organizations.OrganizationDomainData{{Domain: "contoso.example", State: organizations.Pending}},
	})
	if err != nil {
		t.Fatalf("CreateOrganization: %v", err)
	}
	if _, err := c.orgs.CreateOrganization(ctx, organizations.CreateOrganizationOpts{Name: "Fabrikam"}); err != nil {
		t.Fatalf("CreateOrganization: %v", err)
	}

	list, err := c.orgs.ListOrganizations(ctx, organizations.ListOrganizationsOpts{Domains: []string{"contoso.example"}})
	if err != nil {
		t.Fatalf("ListOrganizations: %v", err)
	}

	if got := ids(list.Data); !slices.Equal(got, []string{contoso.ID}) {
		t.Errorf("organizations with contoso.example = %v, want [%s]", got, contoso.ID)
	}
}

func TestUsersCreateGetListThroughSDK(t *testing.T) {
	c := startStandin(t, "")
	ctx := context.Background()

	created, err := c.users.CreateUser(ctx, usermanagement.CreateUserOpts{
		Email: "Ana@Contoso.example", FirstName: "Ana", LastName: "Silva", EmailVerified: true,
	})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if !strings.HasPrefix(created.ID, "user_") {
		t.Errorf("ID = %q, want user_ prefix", created.ID)
	}
	if created.Email != "ana@contoso.example" || created.FirstName != "Ana" || !created.EmailVerified {
		t.Errorf("CreateUser = %+v, want lower-cased email, first name, verified", created)
	}

	got, err := c.users.GetUser(ctx, usermanagement.GetUserOpts{User: created.ID})
	if err != nil {
		t.Fatalf("GetUser: %v", err)
	}
	if got.ID != created.ID {
		t.Errorf("GetUser ID = %q, want %q", got.ID, created.ID)
	}

	list, err := c.users.ListUsers(ctx, usermanagement.ListUsersOpts{Email: "ANA@contoso.example"})
	if err != nil {
		t.Fatalf("ListUsers: %v", err)
	}
	if len(list.Data) != 1 || list.Data[0].ID != created.ID {
		t.Errorf("ListUsers by email = %+v, want only %s", list.Data, created.ID)
	}

	none, err := c.users.ListUsers(ctx, usermanagement.ListUsersOpts{Email: "nobody@contoso.example"})
	if err != nil {
		t.Fatalf("ListUsers: %v", err)
	}
	if len(none.Data) != 0 {
		t.Errorf("ListUsers for an unknown email = %+v, want none", none.Data)
	}
}

func TestUsersRejectDuplicateAndInvalidEmail(t *testing.T) {
	c := startStandin(t, "")
	ctx := context.Background()
	if _, err := c.users.CreateUser(ctx, usermanagement.CreateUserOpts{Email: "ana@contoso.example"}); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}

	_, err := c.users.CreateUser(ctx, usermanagement.CreateUserOpts{Email: "ANA@contoso.example"})
	httpErr := requireHTTPError(t, err, http.StatusUnprocessableEntity, "user_creation_error")
	if len(httpErr.FieldErrors) != 1 || httpErr.FieldErrors[0].Code != "email_not_available" {
		t.Errorf("FieldErrors = %+v, want email_not_available", httpErr.FieldErrors)
	}

	for _, email := range []string{"", "not-an-email", "Ana <ana@contoso.example>"} {
		_, err := c.users.CreateUser(ctx, usermanagement.CreateUserOpts{Email: email})
		requireHTTPError(t, err, http.StatusUnprocessableEntity, "invalid_request_parameters")
	}

	_, err = c.users.GetUser(ctx, usermanagement.GetUserOpts{User: "user_missing"})
	requireHTTPError(t, err, http.StatusNotFound, "entity_not_found")
}

func TestMembershipsThroughSDK(t *testing.T) {
	c := startStandin(t, "")
	ctx := context.Background()
	org, err := c.orgs.CreateOrganization(ctx, organizations.CreateOrganizationOpts{Name: "Contoso"})
	if err != nil {
		t.Fatalf("CreateOrganization: %v", err)
	}
	user, err := c.users.CreateUser(ctx, usermanagement.CreateUserOpts{Email: "ana@contoso.example"})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}

	created, err := c.users.CreateOrganizationMembership(ctx, usermanagement.CreateOrganizationMembershipOpts{
		UserID: user.ID, OrganizationID: org.ID, RoleSlug: workosstandin.RoleAdmin,
	})
	if err != nil {
		t.Fatalf("CreateOrganizationMembership: %v", err)
	}
	if !strings.HasPrefix(created.ID, "om_") || created.Role.Slug != "admin" || created.Status != usermanagement.Active {
		t.Errorf("membership = %+v, want om_ ID, role admin, active", created)
	}

	got, err := c.users.GetOrganizationMembership(ctx, usermanagement.GetOrganizationMembershipOpts{OrganizationMembership: created.ID})
	if err != nil {
		t.Fatalf("GetOrganizationMembership: %v", err)
	}
	if got.UserID != user.ID || got.OrganizationID != org.ID {
		t.Errorf("GetOrganizationMembership = %+v, want user %s in %s", got, user.ID, org.ID)
	}

	list, err := c.users.ListOrganizationMemberships(ctx, usermanagement.ListOrganizationMembershipsOpts{UserID: user.ID, OrganizationID: org.ID})
	if err != nil {
		t.Fatalf("ListOrganizationMemberships: %v", err)
	}
	if len(list.Data) != 1 || list.Data[0].ID != created.ID {
		t.Errorf("ListOrganizationMemberships = %+v, want only %s", list.Data, created.ID)
	}
	inactive, err := c.users.ListOrganizationMemberships(ctx, usermanagement.ListOrganizationMembershipsOpts{
		UserID: user.ID, Statuses: []usermanagement.OrganizationMembershipStatus{usermanagement.Inactive},
	})
	if err != nil {
		t.Fatalf("ListOrganizationMemberships inactive: %v", err)
	}
	if len(inactive.Data) != 0 {
		t.Errorf("inactive memberships = %+v, want none", inactive.Data)
	}

	members, err := c.users.ListUsers(ctx, usermanagement.ListUsersOpts{OrganizationID: org.ID})
	if err != nil {
		t.Fatalf("ListUsers by organization: %v", err)
	}
	if len(members.Data) != 1 || members.Data[0].ID != user.ID {
		t.Errorf("ListUsers by organization = %+v, want only %s", members.Data, user.ID)
	}
}

func TestMembershipsRejectInvalidRequests(t *testing.T) {
	c := startStandin(t, "")
	ctx := context.Background()
	org, err := c.orgs.CreateOrganization(ctx, organizations.CreateOrganizationOpts{Name: "Contoso"})
	if err != nil {
		t.Fatalf("CreateOrganization: %v", err)
	}
	user, err := c.users.CreateUser(ctx, usermanagement.CreateUserOpts{Email: "ana@contoso.example"})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	member, err := c.users.CreateOrganizationMembership(ctx, usermanagement.CreateOrganizationMembershipOpts{UserID: user.ID, OrganizationID: org.ID})
	if err != nil {
		t.Fatalf("CreateOrganizationMembership: %v", err)
	}
	if member.Role.Slug != workosstandin.RoleDefault {
		t.Errorf("default role = %q, want %q", member.Role.Slug, workosstandin.RoleDefault)
	}

	_, err = c.users.CreateOrganizationMembership(ctx, usermanagement.CreateOrganizationMembershipOpts{UserID: user.ID, OrganizationID: org.ID})
	requireHTTPError(t, err, http.StatusUnprocessableEntity, "organization_membership_already_exists")

	_, err = c.users.CreateOrganizationMembership(ctx, usermanagement.CreateOrganizationMembershipOpts{UserID: "user_missing", OrganizationID: org.ID})
	requireHTTPError(t, err, http.StatusNotFound, "entity_not_found")

	_, err = c.users.CreateOrganizationMembership(ctx, usermanagement.CreateOrganizationMembershipOpts{UserID: user.ID, OrganizationID: org.ID, RoleSlug: "owner"})
	requireHTTPError(t, err, http.StatusUnprocessableEntity, "invalid_request_parameters")

	_, err = c.users.ListOrganizationMemberships(ctx, usermanagement.ListOrganizationMembershipsOpts{})
	requireHTTPError(t, err, http.StatusUnprocessableEntity, "invalid_request_parameters")
}

func TestAPIRequiresAPIKey(t *testing.T) {
	c := startStandin(t, "")
	wrong := newClients(c.standin, c.server, "sk_test_wrong")
	ctx := context.Background()

	_, err := wrong.orgs.ListOrganizations(ctx, organizations.ListOrganizationsOpts{})
	requireHTTPError(t, err, http.StatusUnauthorized, "unauthorized")

	_, err = wrong.users.CreateUser(ctx, usermanagement.CreateUserOpts{Email: "ana@contoso.example"})
	requireHTTPError(t, err, http.StatusUnauthorized, "unauthorized")

	resp := postJSON(t, c.server, "/_standin/access-tokens", "", `{"user_id":"user_x"}`)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("access token without API key: status = %d, want 401", resp.StatusCode)
	}
}

func TestRequestsFromOtherHostsRejected(t *testing.T) {
	c := startStandin(t, "")
	req := httptest.NewRequest(http.MethodGet, "/sso/jwks/"+testClientID, nil)
	req.RemoteAddr = "203.0.113.7:40000"
	recorder := httptest.NewRecorder()

	c.standin.ServeHTTP(recorder, req)

	if recorder.Code != http.StatusForbidden {
		t.Errorf("status = %d, want 403 for a non-loopback client", recorder.Code)
	}
}

type jwksBody struct {
	Keys []struct {
		KTY string `json:"kty"`
		KID string `json:"kid"`
		USE string `json:"use"`
		ALG string `json:"alg"`
		N   string `json:"n"`
		E   string `json:"e"`
		D   string `json:"d"`
	} `json:"keys"`
}

func getJWKS(t *testing.T, c clients, clientID string) (int, jwksBody) {
	t.Helper()
	jwksURL, err := c.users.GetJWKSURL(clientID)
	if err != nil {
		t.Fatalf("GetJWKSURL: %v", err)
	}
	resp, err := c.server.Client().Get(jwksURL.String())
	if err != nil {
		t.Fatalf("GET JWKS: %v", err)
	}
	defer resp.Body.Close()
	var body jwksBody
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatalf("decode JWKS: %v", err)
		}
	}
	return resp.StatusCode, body
}

func TestJWKSPublishesPublicRS256Keys(t *testing.T) {
	c := startStandin(t, "")

	status, jwks := getJWKS(t, c, testClientID)

	if status != http.StatusOK {
		t.Fatalf("status = %d, want 200", status)
	}
	if len(jwks.Keys) != 1 {
		t.Fatalf("keys = %d, want 1", len(jwks.Keys))
	}
	key := jwks.Keys[0]
	if key.KTY != "RSA" || key.USE != "sig" || key.ALG != "RS256" {
		t.Errorf("key kty/use/alg = %s/%s/%s, want RSA/sig/RS256", key.KTY, key.USE, key.ALG)
	}
	if !strings.HasPrefix(key.KID, "sso_oidc_key_pair_") {
		t.Errorf("kid = %q, want sso_oidc_key_pair_ prefix", key.KID)
	}
	if key.N == "" || key.E == "" {
		t.Error("key has no modulus or exponent")
	}
	if key.D != "" {
		t.Error("JWKS publishes the private exponent d")
	}

	if status, _ := getJWKS(t, c, "client_other"); status != http.StatusNotFound {
		t.Errorf("JWKS of another client: status = %d, want 404", status)
	}
}

func postJSON(t *testing.T, server *httptest.Server, path, apiKey, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, server.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatalf("build request: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+apiKey)
	}
	resp, err := server.Client().Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestRotateAndDropKeysThroughHTTP(t *testing.T) {
	c := startStandin(t, "")
	_, before := getJWKS(t, c, testClientID)

	resp := postJSON(t, c.server, "/_standin/rotate-keys", testAPIKey, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("rotate: status = %d, want 200", resp.StatusCode)
	}
	var rotated struct {
		KID string `json:"kid"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&rotated); err != nil {
		t.Fatalf("decode rotate response: %v", err)
	}

	_, during := getJWKS(t, c, testClientID)
	if len(during.Keys) != 2 {
		t.Fatalf("keys after rotation = %d, want 2 (old one still published)", len(during.Keys))
	}
	token := mintThroughHTTP(t, c, "", 0)
	if kid := tokenHeader(t, token)["kid"]; kid != rotated.KID {
		t.Errorf("new token kid = %v, want the rotated key %s", kid, rotated.KID)
	}

	resp = postJSON(t, c.server, "/_standin/drop-retired-keys", testAPIKey, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("drop: status = %d, want 200", resp.StatusCode)
	}
	_, after := getJWKS(t, c, testClientID)
	if len(after.Keys) != 1 || after.Keys[0].KID != rotated.KID {
		t.Errorf("keys after drop = %+v, want only %s", after.Keys, rotated.KID)
	}
	if after.Keys[0].KID == before.Keys[0].KID {
		t.Error("the dropped key is still the published one")
	}
}

// seedMember creates an organization, a user and a membership with role.
func seedMember(t *testing.T, c clients, role string) (userID, orgID string) {
	t.Helper()
	ctx := context.Background()
	org, err := c.orgs.CreateOrganization(ctx, organizations.CreateOrganizationOpts{Name: "Contoso"})
	if err != nil {
		t.Fatalf("CreateOrganization: %v", err)
	}
	user, err := c.users.CreateUser(ctx, usermanagement.CreateUserOpts{Email: fmt.Sprintf("%s@contoso.example", role)})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if _, err := c.users.CreateOrganizationMembership(ctx, usermanagement.CreateOrganizationMembershipOpts{
		UserID: user.ID, OrganizationID: org.ID, RoleSlug: role,
	}); err != nil {
		t.Fatalf("CreateOrganizationMembership: %v", err)
	}
	return user.ID, org.ID
}

// mintThroughHTTP seeds a member when userID is empty and returns a token.
func mintThroughHTTP(t *testing.T, c clients, userID string, ttlSeconds int) string {
	t.Helper()
	orgID := ""
	if userID == "" {
		userID, orgID = seedMember(t, c, workosstandin.RoleAdmin)
	}
	body := fmt.Sprintf(`{"user_id":%q,"organization_id":%q,"ttl_seconds":%d}`, userID, orgID, ttlSeconds)
	resp := postJSON(t, c.server, "/_standin/access-tokens", testAPIKey, body)
	if resp.StatusCode != http.StatusCreated {
		raw, _ := io.ReadAll(resp.Body)
		t.Fatalf("mint: status = %d, want 201; body %s", resp.StatusCode, raw)
	}
	var token workosstandin.AccessToken
	if err := json.NewDecoder(resp.Body).Decode(&token); err != nil {
		t.Fatalf("decode token response: %v", err)
	}
	return token.AccessToken
}

func tokenHeader(t *testing.T, token string) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	if err != nil {
		t.Fatalf("decode token header: %v", err)
	}
	var header map[string]any
	if err := json.Unmarshal(raw, &header); err != nil {
		t.Fatalf("parse token header: %v", err)
	}
	return header
}

func tokenClaims(t *testing.T, token string) map[string]any {
	t.Helper()
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(token, claims); err != nil {
		t.Fatalf("parse token: %v", err)
	}
	return claims
}

func TestAccessTokenHasAuthKitClaims(t *testing.T) {
	c := startStandin(t, "")
	userID, orgID := seedMember(t, c, workosstandin.RoleAdmin)
	body := fmt.Sprintf(`{"user_id":%q,"organization_id":%q,"ttl_seconds":600}`, userID, orgID)

	resp := postJSON(t, c.server, "/_standin/access-tokens", testAPIKey, body)

	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("status = %d, want 201", resp.StatusCode)
	}
	var token workosstandin.AccessToken
	if err := json.NewDecoder(resp.Body).Decode(&token); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if token.ExpiresIn != 600 {
		t.Errorf("expires_in = %d, want 600", token.ExpiresIn)
	}
	header := tokenHeader(t, token.AccessToken)
	if header["alg"] != "RS256" || header["kid"] == nil {
		t.Errorf("header = %v, want alg RS256 and a kid", header)
	}
	claims := tokenClaims(t, token.AccessToken)
	wantStrings := map[string]string{
		"iss": c.server.URL + "/user_management/" + testClientID,
		"sub": userID, "org_id": orgID, "role": "admin",
	}
	for name, want := range wantStrings {
		if claims[name] != want {
			t.Errorf("claim %s = %v, want %q", name, claims[name], want)
		}
	}
	for name, prefix := range map[string]string{"sid": "session_", "jti": "jti_"} {
		if value, _ := claims[name].(string); !strings.HasPrefix(value, prefix) {
			t.Errorf("claim %s = %v, want prefix %s", name, claims[name], prefix)
		}
	}
	if roles, _ := claims["roles"].([]any); len(roles) != 1 || roles[0] != "admin" {
		t.Errorf("claim roles = %v, want [admin]", claims["roles"])
	}
	permissions, _ := claims["permissions"].([]any)
	if !slices.Contains(permissions, any(identity.PermissionAdminSettingsWrite)) {
		t.Errorf("claim permissions = %v, want %s among them", permissions, identity.PermissionAdminSettingsWrite)
	}
	iat, _ := claims["iat"].(float64)
	exp, _ := claims["exp"].(float64)
	if exp-iat != 600 {
		t.Errorf("exp - iat = %v, want 600", exp-iat)
	}
}

func TestAccessTokenRejectsInvalidRequests(t *testing.T) {
	c := startStandin(t, "")
	userID, orgID := seedMember(t, c, workosstandin.RoleMember)
	other, err := c.orgs.CreateOrganization(context.Background(), organizations.CreateOrganizationOpts{Name: "Other"})
	if err != nil {
		t.Fatalf("CreateOrganization: %v", err)
	}

	cases := []struct {
		name   string
		body   string
		status int
	}{
		{"malformed JSON", `{"user_id":`, http.StatusBadRequest},
		{"missing user", `{}`, http.StatusUnprocessableEntity},
		{"unknown user", `{"user_id":"user_missing"}`, http.StatusNotFound},
		{"unknown organization", fmt.Sprintf(`{"user_id":%q,"organization_id":"org_missing"}`, userID), http.StatusNotFound},
		{"not a member", fmt.Sprintf(`{"user_id":%q,"organization_id":%q}`, userID, other.ID), http.StatusUnprocessableEntity},
		{"negative ttl", fmt.Sprintf(`{"user_id":%q,"organization_id":%q,"ttl_seconds":-1}`, userID, orgID), http.StatusUnprocessableEntity},
		{"ttl above max", fmt.Sprintf(`{"user_id":%q,"organization_id":%q,"ttl_seconds":86401}`, userID, orgID), http.StatusUnprocessableEntity},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := postJSON(t, c.server, "/_standin/access-tokens", testAPIKey, tc.body)
			if resp.StatusCode != tc.status {
				t.Errorf("status = %d, want %d", resp.StatusCode, tc.status)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
		})
	}
}

func TestStatePersistsAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	first := startStandin(t, dir)
	userID, orgID := seedMember(t, first, workosstandin.RoleAdmin)
	token, err := first.standin.MintAccessToken(workosstandin.AccessTokenRequest{UserID: userID, OrganizationID: orgID})
	if err != nil {
		t.Fatalf("mint: %v", err)
	}
	first.server.Close()

	info, err := os.Stat(filepath.Join(dir, workosstandin.StateFileName))
	if err != nil {
		t.Fatalf("stat state file: %v", err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("state file mode = %o, want 600 because it holds private keys", mode)
	}

	second := startStandin(t, dir)
	org, err := second.orgs.GetOrganization(context.Background(), organizations.GetOrganizationOpts{Organization: orgID})
	if err != nil {
		t.Fatalf("GetOrganization after restart: %v", err)
	}
	if org.Name != "Contoso" {
		t.Errorf("organization name after restart = %q, want Contoso", org.Name)
	}

	// The token minted before the restart validates against the JWKS served
	// after it. The issuer changed with the new port, so allow both.
	v, err := identity.NewValidator(identity.ValidatorConfig{
		JWKSURL:    second.standin.JWKSURL(),
		Issuers:    []string{first.standin.IssuerURL(), second.standin.IssuerURL()},
		HTTPClient: second.server.Client(),
		Logger:     slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatalf("NewValidator: %v", err)
	}
	defer v.Close()
	if _, err := v.Validate(context.Background(), token.AccessToken); err != nil {
		t.Errorf("token from before the restart: %v", err)
	}
}

func TestNewRejectsInvalidConfigAndState(t *testing.T) {
	cases := map[string]workosstandin.Config{
		"missing client ID": {APIKey: "k", BaseURL: "http://127.0.0.1:7072"},
		"missing API key":   {ClientID: "c", BaseURL: "http://127.0.0.1:7072"},
		"relative base URL": {ClientID: "c", APIKey: "k", BaseURL: "127.0.0.1:7072"},
	}
	for name, cfg := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := workosstandin.New(cfg); err == nil {
				t.Error("New error = nil, want a configuration error")
			}
		})
	}

	t.Run("corrupt state file", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, workosstandin.StateFileName), []byte("{not json"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := workosstandin.New(workosstandin.Config{ClientID: "c", APIKey: "k", BaseURL: "http://127.0.0.1:7072", StateDir: dir})
		if err == nil || !strings.Contains(err.Error(), "decode state file") {
			t.Errorf("New error = %v, want a decode state file error", err)
		}
	})
}

func TestUnknownRouteReturnsJSONNotFound(t *testing.T) {
	c := startStandin(t, "")
	resp, err := c.server.Client().Get(c.server.URL + "/audit_logs/events")
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)

	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("status = %d, want 404", resp.StatusCode)
	}
	if !bytes.Contains(body, []byte(`"code":"not_found"`)) {
		t.Errorf("body = %s, want a WorkOS-style error", body)
	}
}

func TestMembershipRoleUpdateThroughSDK(t *testing.T) {
	c := startStandin(t, "")
	ctx := context.Background()
	userID, orgID := seedMember(t, c, workosstandin.RoleMember)
	list, err := c.users.ListOrganizationMemberships(ctx, usermanagement.ListOrganizationMembershipsOpts{UserID: userID, OrganizationID: orgID})
	if err != nil || len(list.Data) != 1 {
		t.Fatalf("ListOrganizationMemberships = %+v, %v; want one membership", list.Data, err)
	}

	updated, err := c.users.UpdateOrganizationMembership(ctx, list.Data[0].ID, usermanagement.UpdateOrganizationMembershipOpts{RoleSlug: workosstandin.RoleAdmin})
	if err != nil {
		t.Fatalf("UpdateOrganizationMembership: %v", err)
	}
	if updated.Role.Slug != workosstandin.RoleAdmin {
		t.Errorf("role after update = %q, want admin", updated.Role.Slug)
	}
	token, err := c.standin.MintAccessToken(workosstandin.AccessTokenRequest{UserID: userID, OrganizationID: orgID})
	if err != nil {
		t.Fatalf("mint: %v", err)
	}
	if role := tokenClaims(t, token.AccessToken)["role"]; role != workosstandin.RoleAdmin {
		t.Errorf("token role after update = %v, want admin", role)
	}

	_, err = c.users.UpdateOrganizationMembership(ctx, list.Data[0].ID, usermanagement.UpdateOrganizationMembershipOpts{RoleSlug: "owner"})
	requireHTTPError(t, err, http.StatusUnprocessableEntity, "invalid_request_parameters")
	_, err = c.users.UpdateOrganizationMembership(ctx, "om_missing", usermanagement.UpdateOrganizationMembershipOpts{RoleSlug: workosstandin.RoleAdmin})
	requireHTTPError(t, err, http.StatusNotFound, "entity_not_found")
}
