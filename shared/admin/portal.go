package admin

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"

	"github.com/workos/workos-go/v4/pkg/portal"
)

// PortalIntents are the Admin Portal intents the platform offers, as
// workos-go v4.46.1 names them.
var PortalIntents = []string{
	string(portal.SSO), string(portal.DSync), string(portal.DomainVerification),
	string(portal.AuditLogs), string(portal.LogStreams),
}

// ErrInvalidIntent is returned for an intent outside PortalIntents.
var ErrInvalidIntent = errors.New("invalid Admin Portal intent")

// ErrInvalidReturnURL is returned for a return URL that is not an absolute
// http or https URL.
var ErrInvalidReturnURL = errors.New("invalid return URL")

// LinkGenerator creates Admin Portal links; *portal.Client implements it.
type LinkGenerator interface {
	GenerateLink(ctx context.Context, opts portal.GenerateLinkOpts) (string, error)
}

// PortalService creates Admin Portal links for an organization.
type PortalService struct {
	Links LinkGenerator
}

// Link returns an Admin Portal link for the WorkOS organization. WorkOS
// links expire five minutes after they are created, so callers create one
// per click and never store it.
func (s *PortalService) Link(ctx context.Context, organizationWorkOSID, intent, returnURL string) (string, error) {
	if !slices.Contains(PortalIntents, intent) {
		return "", fmt.Errorf("%w %q", ErrInvalidIntent, intent)
	}
	if returnURL != "" {
		u, err := url.Parse(returnURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return "", fmt.Errorf("%w %q", ErrInvalidReturnURL, returnURL)
		}
	}
	link, err := s.Links.GenerateLink(ctx, portal.GenerateLinkOpts{
		Intent: portal.GenerateLinkIntent(intent), Organization: organizationWorkOSID, ReturnURL: returnURL,
	})
	if err != nil {
		return "", fmt.Errorf("generate %s portal link for organization %s: %w", intent, organizationWorkOSID, err)
	}
	return link, nil
}
