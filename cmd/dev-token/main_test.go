package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bondingai/platform/shared/identity"
	"github.com/bondingai/platform/shared/workosstandin"
	"github.com/workos/workos-go/v4/pkg/organizations"
	"github.com/workos/workos-go/v4/pkg/usermanagement"
)

const (
	testClientID = "client_dev_token_test"
	testAPIKey   = "sk_test_dev_token"
)

type standin struct {
	server  *workosstandin.Server
	ts      *httptest.Server
	baseURL string
	env     map[string]string
}

func startStandin(t *testing.T) standin {
	t.Helper()
	server, ts, err := workosstandin.NewHTTPTestServer(workosstandin.Config{
		ClientID: testClientID, APIKey: testAPIKey, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatalf("start stand-in: %v", err)
	}
	t.Cleanup(ts.Close)
	return standin{
		server:  server,
		ts:      ts,
		baseURL: ts.URL,
		env: map[string]string{
			"WORKOS_API_BASE_URL": ts.URL,
			"WORKOS_API_KEY":      testAPIKey,
			"WORKOS_CLIENT_ID":    testClientID,
		},
	}
}

func runDevToken(t *testing.T, env map[string]string, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	err := run(ctx, args, func(name string) string { return env[name] }, &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

func validate(t *testing.T, s standin, token string) *identity.Claims {
	t.Helper()
	v, err := identity.NewValidator(identity.ValidatorConfig{
		JWKSURL:    s.server.JWKSURL(),
		Issuers:    []string{s.server.IssuerURL()},
		HTTPClient: &http.Client{},
		Logger:     slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatalf("NewValidator: %v", err)
	}
	defer v.Close()
	claims, err := v.Validate(context.Background(), token)
	if err != nil {
		t.Fatalf("Validate: %v", err)
	}
	return claims
}

func TestDevTokenCreatesMemberAndPrintsToken(t *testing.T) {
	s := startStandin(t)

	stdout, stderr, err := runDevToken(t, s.env, "--org", "Contoso", "--email", "ana@contoso.example", "--role", "admin", "--ttl", "15m")

	if err != nil {
		t.Fatalf("run: %v; stderr %s", err, stderr)
	}
	if strings.Count(stdout, "\n") != 1 || strings.Count(stdout, ".") != 2 {
		t.Fatalf("stdout = %q, want exactly one JWT line", stdout)
	}
	claims := validate(t, s, strings.TrimSpace(stdout))
	if claims.Role != workosstandin.RoleAdmin {
		t.Errorf("role = %q, want admin", claims.Role)
	}
	if claims.OrganizationID == "" {
		t.Error("token has no org_id")
	}
	if until := time.Until(claims.ExpiresAt); until < 14*time.Minute || until > 15*time.Minute+time.Second {
		t.Errorf("token expires in %s, want about 15m", until)
	}
}

func TestDevTokenReusesOrganizationAndUser(t *testing.T) {
	s := startStandin(t)
	first, stderr, err := runDevToken(t, s.env, "--org", "Contoso", "--email", "ana@contoso.example", "--role", "admin")
	if err != nil {
		t.Fatalf("first run: %v; stderr %s", err, stderr)
	}

	second, stderr, err := runDevToken(t, s.env, "--org", "Contoso", "--email", "ANA@contoso.example", "--role", "member")
	if err != nil {
		t.Fatalf("second run: %v; stderr %s", err, stderr)
	}

	firstClaims := validate(t, s, strings.TrimSpace(first))
	secondClaims := validate(t, s, strings.TrimSpace(second))
	if secondClaims.OrganizationID != firstClaims.OrganizationID || secondClaims.UserID != firstClaims.UserID {
		t.Errorf("second token is for %s in %s, want the first run's %s in %s",
			secondClaims.UserID, secondClaims.OrganizationID, firstClaims.UserID, firstClaims.OrganizationID)
	}
	if secondClaims.Role != workosstandin.RoleMember {
		t.Errorf("second token role = %q, want member after the role change", secondClaims.Role)
	}

	orgs := &organizations.Client{APIKey: testAPIKey, Endpoint: s.baseURL}
	list, err := orgs.ListOrganizations(context.Background(), organizations.ListOrganizationsOpts{})
	if err != nil {
		t.Fatalf("ListOrganizations: %v", err)
	}
	if len(list.Data) != 1 {
		t.Errorf("organizations = %d, want 1", len(list.Data))
	}
	users := usermanagement.NewClient(testAPIKey)
	users.Endpoint = s.baseURL
	memberships, err := users.ListOrganizationMemberships(context.Background(), usermanagement.ListOrganizationMembershipsOpts{UserID: firstClaims.UserID})
	if err != nil {
		t.Fatalf("ListOrganizationMemberships: %v", err)
	}
	if len(memberships.Data) != 1 {
		t.Errorf("memberships = %d, want 1", len(memberships.Data))
	}
}

func TestDevTokenRejectsInvalidArguments(t *testing.T) {
	s := startStandin(t)
	cases := map[string][]string{
		"missing org":    {"--email", "ana@contoso.example"},
		"missing email":  {"--org", "Contoso"},
		"unknown role":   {"--org", "Contoso", "--email", "ana@contoso.example", "--role", "owner"},
		"ttl too long":   {"--org", "Contoso", "--email", "ana@contoso.example", "--ttl", "48h"},
		"ttl not a time": {"--org", "Contoso", "--email", "ana@contoso.example", "--ttl", "soon"},
		"extra argument": {"--org", "Contoso", "--email", "ana@contoso.example", "extra"},
		"unknown flag":   {"--org", "Contoso", "--email", "ana@contoso.example", "--tenant", "x"},
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			stdout, _, err := runDevToken(t, s.env, args...)
			if !errors.Is(err, errUsage) {
				t.Errorf("error = %v, want a usage error", err)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing on error", stdout)
			}
		})
	}
}

func TestDevTokenReportsStandinErrors(t *testing.T) {
	s := startStandin(t)
	args := []string{"--org", "Contoso", "--email", "ana@contoso.example"}

	wrongKey := map[string]string{"WORKOS_API_BASE_URL": s.baseURL, "WORKOS_API_KEY": "sk_test_wrong", "WORKOS_CLIENT_ID": testClientID}
	if _, _, err := runDevToken(t, wrongKey, args...); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("wrong API key: error = %v, want a 401", err)
	}

	wrongClient := map[string]string{"WORKOS_API_BASE_URL": s.baseURL, "WORKOS_API_KEY": testAPIKey, "WORKOS_CLIENT_ID": "client_other"}
	stdout, _, err := runDevToken(t, wrongClient, args...)
	if err == nil || !strings.Contains(err.Error(), "another -client-id") {
		t.Errorf("wrong client ID: error = %v, want a client ID hint", err)
	}
	if stdout != "" {
		t.Errorf("wrong client ID: stdout = %q, want no token", stdout)
	}

	down := startStandin(t)
	downURL := down.baseURL
	// A closed stand-in's loopback port refuses connections.
	down.ts.Close()
	unreachable := map[string]string{"WORKOS_API_BASE_URL": downURL, "WORKOS_API_KEY": testAPIKey, "WORKOS_CLIENT_ID": testClientID}
	if _, _, err := runDevToken(t, unreachable, args...); err == nil || !strings.Contains(err.Error(), "list organizations") {
		t.Errorf("unreachable stand-in: error = %v, want a list organizations failure", err)
	}
}
