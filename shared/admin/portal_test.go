package admin

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/workos/workos-go/v4/pkg/organizations"
	"github.com/workos/workos-go/v4/pkg/portal"

	"github.com/bondingai/platform/shared/workosstandin"
)

func TestPortalLinkFromStandIn(t *testing.T) {
	ctx := context.Background()
	_, server, err := workosstandin.NewHTTPTestServer(workosstandin.Config{
		ClientID: "client_test", APIKey: "sk_test", StateDir: t.TempDir(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(server.Close)
	orgs := &organizations.Client{APIKey: "sk_test", Endpoint: server.URL, HTTPClient: server.Client()}
	org, err := orgs.CreateOrganization(ctx, organizations.CreateOrganizationOpts{Name: "Contoso"})
	if err != nil {
		t.Fatal(err)
	}
	service := &PortalService{Links: &portal.Client{APIKey: "sk_test", Endpoint: server.URL, HTTPClient: server.Client()}}

	for _, intent := range PortalIntents {
		link, err := service.Link(ctx, org.ID, intent, "https://app.contoso.example/admin")
		if err != nil {
			t.Fatalf("Link(%s): %v", intent, err)
		}
		if !strings.HasPrefix(link, server.URL+"/") {
			t.Errorf("Link(%s) = %q, want a stand-in URL", intent, link)
		}
		resp, err := server.Client().Get(link)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s link: status %d", intent, resp.StatusCode)
		}
	}
}

func TestPortalLinkRejectsBadInput(t *testing.T) {
	service := &PortalService{Links: &portal.Client{APIKey: "sk_test", Endpoint: "http://127.0.0.1:1"}}
	if _, err := service.Link(context.Background(), "org_01", "bring_your_own_key", ""); !errors.Is(err, ErrInvalidIntent) {
		t.Errorf("unknown intent: %v, want ErrInvalidIntent", err)
	}
	if _, err := service.Link(context.Background(), "org_01", "certificate_renewal", ""); !errors.Is(err, ErrInvalidIntent) {
		t.Errorf("intent the platform does not offer: %v, want ErrInvalidIntent", err)
	}
	for _, returnURL := range []string{"/relative", "javascript:alert(1)", "ftp://contoso.com"} {
		if _, err := service.Link(context.Background(), "org_01", "sso", returnURL); !errors.Is(err, ErrInvalidReturnURL) {
			t.Errorf("return URL %q: %v, want ErrInvalidReturnURL", returnURL, err)
		}
	}
}
