package session

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/workos/workos-go/v4/pkg/organizations"
	"github.com/workos/workos-go/v4/pkg/usermanagement"

	"github.com/bondingai/platform/shared/analytics"
	"github.com/bondingai/platform/shared/identity"
	"github.com/bondingai/platform/shared/store"
)

// Config is what a Manager needs.
type Config struct {
	// ClientID is the WorkOS client ID.
	ClientID string
	// RedirectURI is the absolute URL of the callback route.
	RedirectURI string
	// PublicBaseURL is the origin browsers load the platform from. The CSRF
	// check compares the Origin header with it, and logout returns there.
	PublicBaseURL string
	// Users calls the WorkOS User Management API; its Endpoint also builds
	// the authorization and logout URLs.
	Users *usermanagement.Client
	// Organizations reads organization names at sign-in.
	Organizations *organizations.Client
	// Validator checks every access token, from a cookie or a header.
	Validator *identity.Validator
	// Sealer encrypts the login and session cookies.
	Sealer *Sealer
	// Store mirrors users and organizations and coordinates refreshes.
	Store *store.Store
	// Logger receives sign-in and refresh events; never tokens.
	Logger *slog.Logger
	// Recorder receives a sign_in usage event per completed sign-in; nil
	// records none.
	Recorder *analytics.Recorder
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Manager runs the AuthKit sign-in flow and authenticates requests by
// session cookie or bearer token.
type Manager struct {
	cfg          Config
	publicOrigin string
}

// New checks cfg and returns a Manager.
func New(cfg Config) (*Manager, error) {
	var problems []error
	if cfg.ClientID == "" {
		problems = append(problems, errors.New("client ID missing"))
	}
	if u, err := url.Parse(cfg.RedirectURI); err != nil || !u.IsAbs() || u.Host == "" {
		problems = append(problems, fmt.Errorf("redirect URI %q is not an absolute URL", cfg.RedirectURI))
	}
	publicBase, err := url.Parse(cfg.PublicBaseURL)
	if err != nil || !publicBase.IsAbs() || publicBase.Host == "" {
		problems = append(problems, fmt.Errorf("public base URL %q is not an absolute URL", cfg.PublicBaseURL))
	}
	if cfg.Users == nil || cfg.Organizations == nil || cfg.Validator == nil || cfg.Sealer == nil || cfg.Store == nil {
		problems = append(problems, errors.New("WorkOS clients, validator, sealer and store are all required"))
	}
	if err := errors.Join(problems...); err != nil {
		return nil, fmt.Errorf("configure sessions: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Manager{cfg: cfg, publicOrigin: publicBase.Scheme + "://" + publicBase.Host}, nil
}
