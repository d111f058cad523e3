// Command dev-token prints a development access token from the local WorkOS
// stand-in. It finds or creates the organization, the user and the
// membership through the workos-go v4 clients, the calls the platform makes
// against WorkOS. Then it requests a token from the stand-in's development
// endpoint.
//
//	scripts/dev-token --org Contoso --email ana@contoso.example --role admin --ttl 1h
//
// Only the token goes to stdout, so `TOKEN=$(scripts/dev-token ...)` works.
// The stand-in is read from WORKOS_API_BASE_URL, WORKOS_API_KEY and
// WORKOS_CLIENT_ID, with the stand-in's local defaults.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/bondingai/platform/shared/identity"
	"github.com/bondingai/platform/shared/workosstandin"
	"github.com/workos/workos-go/v4/pkg/organizations"
	"github.com/workos/workos-go/v4/pkg/usermanagement"
)

// Local defaults, the same as cmd/workos-standin's.
const (
	baseURLDefault  = "http://127.0.0.1:7072"
	apiKeyDefault   = "sk_test_local"
	clientIDDefault = "client_local"
)

// requestTimeout bounds the whole run, every API call included.
const requestTimeout = 30 * time.Second

// organizationsPageSize is the page size when searching organizations by
// name; the Organizations API has no name filter, so dev-token pages through
// all of them.
const organizationsPageSize = 100

// errUsage marks invalid command-line input (exit status 2).
var errUsage = errors.New("usage")

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()

	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.Is(err, errUsage):
		fmt.Fprintln(os.Stderr, "dev-token:", err)
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "dev-token:", err)
		os.Exit(1)
	}
}

// options are the parsed flags and environment.
type options struct {
	organization string
	email        string
	role         string
	ttl          time.Duration
	baseURL      string
	apiKey       string
	clientID     string
}

func parseOptions(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	flags := flag.NewFlagSet("dev-token", flag.ContinueOnError)
	flags.SetOutput(stderr)
	var opts options
	flags.StringVar(&opts.organization, "org", "", "organization `name`; created when no organization has it (required)")
	flags.StringVar(&opts.email, "email", "", "user email `address`; created when no user has it (required)")
	flags.StringVar(&opts.role, "role", workosstandin.RoleMember, "membership `role`: admin or member; an existing membership is updated to it")
	flags.DurationVar(&opts.ttl, "ttl", time.Hour, "token lifetime, such as 15m or 1h, at most 24h")
	flags.Usage = func() {
		fmt.Fprintln(stderr, "Usage: dev-token --org NAME --email ADDRESS [--role admin|member] [--ttl 1h]")
		fmt.Fprintln(stderr, "Environment: WORKOS_API_BASE_URL, WORKOS_API_KEY, WORKOS_CLIENT_ID (defaults: local stand-in).")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return options{}, err
		}
		return options{}, fmt.Errorf("%w: %w", errUsage, err)
	}
	if flags.NArg() > 0 {
		return options{}, fmt.Errorf("%w: unexpected arguments %q", errUsage, flags.Args())
	}

	var problems []string
	opts.organization = strings.TrimSpace(opts.organization)
	if opts.organization == "" {
		problems = append(problems, "--org is required")
	}
	if strings.TrimSpace(opts.email) == "" {
		problems = append(problems, "--email is required")
	}
	if _, ok := workosstandin.RolePermissions(opts.role); !ok {
		problems = append(problems, fmt.Sprintf("--role %q is invalid: use admin or member", opts.role))
	}
	if opts.ttl < time.Second || opts.ttl > workosstandin.AccessTokenTTLMax {
		problems = append(problems, fmt.Sprintf("--ttl %s is invalid: use 1s to %s", opts.ttl, workosstandin.AccessTokenTTLMax))
	}
	if len(problems) > 0 {
		return options{}, fmt.Errorf("%w: %s", errUsage, strings.Join(problems, "; "))
	}

	opts.baseURL = strings.TrimRight(envOr(getenv, "WORKOS_API_BASE_URL", baseURLDefault), "/")
	opts.apiKey = envOr(getenv, "WORKOS_API_KEY", apiKeyDefault)
	opts.clientID = envOr(getenv, "WORKOS_CLIENT_ID", clientIDDefault)
	return opts, nil
}

func envOr(getenv func(string) string, name, fallback string) string {
	if value := getenv(name); value != "" {
		return value
	}
	return fallback
}

// run does the work of main with its inputs and outputs passed in, so tests
// can drive it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	opts, err := parseOptions(args, getenv, stderr)
	if err != nil {
		return err
	}
	httpClient := &http.Client{Timeout: requestTimeout}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	orgs := &organizations.Client{APIKey: opts.apiKey, Endpoint: opts.baseURL, HTTPClient: httpClient}
	users := usermanagement.NewClient(opts.apiKey)
	users.Endpoint = opts.baseURL
	users.HTTPClient = httpClient

	orgID, err := findOrCreateOrganization(ctx, orgs, opts.organization, stderr)
	if err != nil {
		return err
	}
	userID, err := findOrCreateUser(ctx, users, opts.email)
	if err != nil {
		return err
	}
	if err := ensureMembership(ctx, users, userID, orgID, opts.role); err != nil {
		return err
	}

	token, err := mintAccessToken(ctx, httpClient, opts, userID, orgID)
	if err != nil {
		return err
	}
	if err := checkToken(ctx, httpClient, users, opts, token, logger); err != nil {
		return err
	}

	_, err = fmt.Fprintln(stdout, token)
	return err
}

// findOrCreateOrganization returns the ID of the oldest organization named
// name, creating one when none exists.
func findOrCreateOrganization(ctx context.Context, orgs *organizations.Client, name string, stderr io.Writer) (string, error) {
	var matches []string
	after := ""
	for {
		page, err := orgs.ListOrganizations(ctx, organizations.ListOrganizationsOpts{
			Limit: organizationsPageSize, Order: organizations.Asc, After: after,
		})
		if err != nil {
			return "", fmt.Errorf("list organizations: %w", err)
		}
		for _, org := range page.Data {
			if org.Name == name {
				matches = append(matches, org.ID)
			}
		}
		if page.ListMetadata.After == "" {
			break
		}
		after = page.ListMetadata.After
	}

	if len(matches) > 1 {
		fmt.Fprintf(stderr, "dev-token: %d organizations are named %q; using the oldest, %s\n", len(matches), name, matches[0])
	}
	if len(matches) > 0 {
		return matches[0], nil
	}

	org, err := orgs.CreateOrganization(ctx, organizations.CreateOrganizationOpts{Name: name})
	if err != nil {
		return "", fmt.Errorf("create organization %q: %w", name, err)
	}
	return org.ID, nil
}

func findOrCreateUser(ctx context.Context, users *usermanagement.Client, email string) (string, error) {
	list, err := users.ListUsers(ctx, usermanagement.ListUsersOpts{Email: email})
	if err != nil {
		return "", fmt.Errorf("list users with email %s: %w", email, err)
	}
	if len(list.Data) > 0 {
		return list.Data[0].ID, nil
	}

	user, err := users.CreateUser(ctx, usermanagement.CreateUserOpts{Email: email, EmailVerified: true})
	if err != nil {
		return "", fmt.Errorf("create user %s: %w", email, err)
	}
	return user.ID, nil
}

// ensureMembership makes the user an active member of the organization with
// role, updating the role of an existing membership.
func ensureMembership(ctx context.Context, users *usermanagement.Client, userID, orgID, role string) error {
	list, err := users.ListOrganizationMemberships(ctx, usermanagement.ListOrganizationMembershipsOpts{
		UserID: userID, OrganizationID: orgID,
	})
	if err != nil {
		return fmt.Errorf("list memberships of user %s in organization %s: %w", userID, orgID, err)
	}

	if len(list.Data) == 0 {
		_, err := users.CreateOrganizationMembership(ctx, usermanagement.CreateOrganizationMembershipOpts{
			UserID: userID, OrganizationID: orgID, RoleSlug: role,
		})
		if err != nil {
			return fmt.Errorf("add user %s to organization %s: %w", userID, orgID, err)
		}
		return nil
	}

	membership := list.Data[0]
	if membership.Role.Slug == role {
		return nil
	}
	_, err = users.UpdateOrganizationMembership(ctx, membership.ID, usermanagement.UpdateOrganizationMembershipOpts{RoleSlug: role})
	if err != nil {
		return fmt.Errorf("change role of membership %s to %s: %w", membership.ID, role, err)
	}
	return nil
}

// mintAccessToken calls the stand-in's development endpoint, which has no
// counterpart in WorkOS and so no workos-go client.
func mintAccessToken(ctx context.Context, client *http.Client, opts options, userID, orgID string) (string, error) {
	body, err := json.Marshal(workosstandin.AccessTokenRequest{
		UserID: userID, OrganizationID: orgID, TTLSeconds: int(opts.ttl / time.Second),
	})
	if err != nil {
		return "", fmt.Errorf("encode access token request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, opts.baseURL+"/_standin/access-tokens", bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("build access token request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+opts.apiKey)
	req.Header.Set("Content-Type", "application/json")

	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("request access token from %s: %w", opts.baseURL, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("read access token response: %w", err)
	}
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("request access token for user %s: %s: %s", userID, resp.Status, strings.TrimSpace(string(raw)))
	}

	var token workosstandin.AccessToken
	if err := json.Unmarshal(raw, &token); err != nil || token.AccessToken == "" {
		return "", fmt.Errorf("decode access token response: %w (body has no access_token)", err)
	}
	return token.AccessToken, nil
}

// checkToken validates the token the way the platform will: against the JWKS
// of WORKOS_CLIENT_ID and its issuer. It catches a stand-in started with
// another client ID before the token reaches an API call.
func checkToken(ctx context.Context, client *http.Client, users *usermanagement.Client, opts options, token string, logger *slog.Logger) error {
	jwksURL, err := users.GetJWKSURL(opts.clientID)
	if err != nil {
		return fmt.Errorf("build JWKS URL for client %s: %w", opts.clientID, err)
	}
	validator, err := identity.NewValidator(identity.ValidatorConfig{
		JWKSURL:    jwksURL.String(),
		Issuers:    []string{opts.baseURL + "/user_management/" + opts.clientID},
		HTTPClient: client,
		Logger:     logger,
	})
	if err != nil {
		return err
	}
	defer validator.Close()

	if _, err := validator.Validate(ctx, token); err != nil {
		return fmt.Errorf("the minted token does not validate for client %s (was the stand-in started with another -client-id?): %w", opts.clientID, err)
	}
	return nil
}
