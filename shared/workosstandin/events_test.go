package workosstandin_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bondingai/platform/shared/workosstandin"
	"github.com/workos/workos-go/v4/pkg/events"
	"github.com/workos/workos-go/v4/pkg/portal"
	"github.com/workos/workos-go/v4/pkg/usermanagement"
	"github.com/workos/workos-go/v4/pkg/webhooks"
)

func eventsClient(c clients) *events.Client {
	return &events.Client{APIKey: testAPIKey, Endpoint: c.server.URL, HTTPClient: c.server.Client()}
}

var allTestEvents = []string{
	"user.created", "organization.created", "organization_membership.created", "session.created",
	"session.revoked", "dsync.activated", "dsync.user.created", "dsync.user.updated",
}

func TestEventsListPaginatesOldestFirstThroughSDK(t *testing.T) {
	c := startStandinWith(t, workosstandin.Config{})
	ctx := context.Background()
	ana := signIn(t, c, "ana@contoso.example", "Contoso", "admin")
	signIn(t, c, "ben@fabrikam.example", "Fabrikam", "admin")

	var pages [][]events.Event
	after := ""
	for range 10 {
		page, err := eventsClient(c).ListEvents(ctx, events.ListEventsOpts{Events: allTestEvents, Limit: 3, After: after})
		if err != nil {
			t.Fatalf("ListEvents after %q: %v", after, err)
		}
		if len(page.Data) == 0 {
			if page.ListMetadata.After != after {
				t.Errorf("empty page cursor = %q, want the request's %q", page.ListMetadata.After, after)
			}
			break
		}
		pages = append(pages, page.Data)
		after = page.ListMetadata.After
		if after != page.Data[len(page.Data)-1].ID {
			t.Errorf("cursor = %q, want the last event of the page", after)
		}
	}

	var listed []events.Event
	for _, page := range pages {
		listed = append(listed, page...)
	}
	all := c.standin.Events()
	if len(listed) != len(all) || len(listed) != 8 {
		t.Fatalf("listed %d events, stand-in has %d, want 8", len(listed), len(all))
	}
	for i, event := range listed {
		if event.ID != all[i].ID || event.Event != all[i].Event {
			t.Errorf("event %d = %s %s, want %s %s", i, event.ID, event.Event, all[i].ID, all[i].Event)
		}
		if event.CreatedAt.IsZero() {
			t.Errorf("event %d has no created_at", i)
		}
		if i > 0 && event.ID <= listed[i-1].ID {
			t.Errorf("event %d is not after event %d", i, i-1)
		}
	}

	var user usermanagement.User
	if err := json.Unmarshal(listed[0].Data, &user); err != nil || user.ID != ana.User.ID || user.Email != "ana@contoso.example" {
		t.Errorf("user.created data = %+v, %v; want Ana", user, err)
	}

	filtered, err := eventsClient(c).ListEvents(ctx, events.ListEventsOpts{Events: []string{"session.created"}, Limit: 100})
	if err != nil || len(filtered.Data) != 2 {
		t.Errorf("session.created events = %d, %v; want 2", len(filtered.Data), err)
	}
	byOrg, err := eventsClient(c).ListEvents(ctx, events.ListEventsOpts{Events: allTestEvents, Limit: 100, OrganizationId: ana.OrganizationID})
	if err != nil {
		t.Fatalf("ListEvents by organization: %v", err)
	}
	var orgNames []string
	for _, event := range byOrg.Data {
		orgNames = append(orgNames, event.Event)
	}
	if want := []string{"organization.created", "organization_membership.created", "session.created"}; !slices.Equal(orgNames, want) {
		t.Errorf("events of Contoso = %v, want %v", orgNames, want)
	}

	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	none, err := eventsClient(c).ListEvents(ctx, events.ListEventsOpts{Events: allTestEvents, RangeStart: future})
	if err != nil || len(none.Data) != 0 {
		t.Errorf("events after range_start in the future = %d, %v; want none", len(none.Data), err)
	}
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	some, err := eventsClient(c).ListEvents(ctx, events.ListEventsOpts{Events: allTestEvents, RangeStart: past, RangeEnd: future, Limit: 100})
	if err != nil || len(some.Data) != 8 {
		t.Errorf("events in the last hour = %d, %v; want 8", len(some.Data), err)
	}
}

func TestEventsListRejectsInvalidQueries(t *testing.T) {
	c := startStandinWith(t, workosstandin.Config{})
	ctx := context.Background()
	cases := map[string]events.ListEventsOpts{
		"no event names":        {},
		"limit over 100":        {Events: allTestEvents, Limit: 101},
		"after and range_start": {Events: allTestEvents, After: "event_x", RangeStart: "2026-01-01T00:00:00Z"},
		"invalid range_end":     {Events: allTestEvents, RangeEnd: "yesterday"},
	}
	for name, opts := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := eventsClient(c).ListEvents(ctx, opts)
			requireHTTPError(t, err, http.StatusUnprocessableEntity, "invalid_request_parameters")
		})
	}

	wrong := &events.Client{APIKey: "sk_test_wrong", Endpoint: c.server.URL, HTTPClient: c.server.Client()}
	_, err := wrong.ListEvents(ctx, events.ListEventsOpts{Events: allTestEvents})
	requireHTTPError(t, err, http.StatusUnauthorized, "unauthorized")
}

// webhookReceiver is a loopback endpoint that records deliveries and fails
// the first failFirst attempts of each event.
type webhookReceiver struct {
	server    *httptest.Server
	failFirst int

	mu         sync.Mutex
	attempts   map[string]int
	deliveries []webhookDelivery
	arrived    chan struct{}
}

type webhookDelivery struct {
	signature string
	body      string
	eventID   string
}

func newWebhookReceiver(t *testing.T, failFirst int) *webhookReceiver {
	t.Helper()
	r := &webhookReceiver{failFirst: failFirst, attempts: map[string]int{}, arrived: make(chan struct{}, 1000)}
	r.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var event struct{ ID string }
		_ = json.Unmarshal(body, &event)

		r.mu.Lock()
		r.attempts[event.ID]++
		fail := r.attempts[event.ID] <= r.failFirst
		if !fail {
			r.deliveries = append(r.deliveries, webhookDelivery{signature: req.Header.Get("WorkOS-Signature"), body: string(body), eventID: event.ID})
		}
		r.mu.Unlock()

		if fail {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
		r.arrived <- struct{}{}
	}))
	t.Cleanup(r.server.Close)
	return r
}

// waitForDeliveries polls until n deliveries succeeded or the deadline
// passes.
func (r *webhookReceiver) waitForDeliveries(t *testing.T, n int) []webhookDelivery {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		r.mu.Lock()
		got := slices.Clone(r.deliveries)
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-r.arrived:
		case <-deadline:
			t.Fatalf("received %d webhook deliveries before the deadline, want %d", len(got), n)
		}
	}
}

var signatureFormat = regexp.MustCompile(`^t=\d{13}, v1=[0-9a-f]{64}$`)

func TestWebhooksSignedAndRetried(t *testing.T) {
	receiver := newWebhookReceiver(t, 2)
	const secret = "whsec_test"
	c := startStandinWith(t, workosstandin.Config{
		WebhookEndpoints:  []workosstandin.WebhookEndpoint{{URL: receiver.server.URL + "/api/webhooks/workos", Secret: secret}},
		WebhookRetryDelay: 5 * time.Millisecond,
	})
	signIn(t, c, "ana@contoso.example", "Contoso", "admin")

	deliveries := receiver.waitForDeliveries(t, 4)
	verifier := webhooks.NewClient(secret)
	wantIDs := map[string]bool{}
	for _, event := range c.standin.Events() {
		wantIDs[event.ID] = true
	}
	for _, delivery := range deliveries {
		if !signatureFormat.MatchString(delivery.signature) {
			t.Errorf("signature header = %q, want t=<ms>, v1=<hex>", delivery.signature)
		}
		if _, err := verifier.ValidatePayload(delivery.signature, delivery.body); err != nil {
			t.Errorf("workos-go rejects delivery of %s: %v", delivery.eventID, err)
		}
		if _, err := webhooks.NewClient("whsec_other").ValidatePayload(delivery.signature, delivery.body); err == nil {
			t.Error("delivery validates with another secret")
		}
		if !wantIDs[delivery.eventID] {
			t.Errorf("delivered event %s is not in the Events API", delivery.eventID)
		}
		receiver.mu.Lock()
		attempts := receiver.attempts[delivery.eventID]
		receiver.mu.Unlock()
		if attempts != 3 {
			t.Errorf("event %s took %d attempts, want 3 (two failures, then success)", delivery.eventID, attempts)
		}
	}
}

func TestWebhookEndpointRegistration(t *testing.T) {
	receiver := newWebhookReceiver(t, 0)
	c := startStandinWith(t, workosstandin.Config{})

	cases := map[string]map[string]string{
		"non-loopback URL": {"url": "http://hooks.example/workos", "secret": "s"},
		"missing secret":   {"url": receiver.server.URL},
		"relative URL":     {"url": "/hooks", "secret": "s"},
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			if status := devRequest(t, c, http.MethodPost, "/_standin/webhook-endpoints", body, nil); status != http.StatusUnprocessableEntity {
				t.Errorf("status = %d, want 422", status)
			}
		})
	}

	body := map[string]string{"url": receiver.server.URL, "secret": "whsec_registered"}
	if status := devRequest(t, c, http.MethodPost, "/_standin/webhook-endpoints", body, nil); status != http.StatusCreated {
		t.Fatalf("register status = %d, want 201", status)
	}
	signIn(t, c, "ana@contoso.example", "Contoso", "admin")
	for _, delivery := range receiver.waitForDeliveries(t, 4) {
		if _, err := webhooks.NewClient("whsec_registered").ValidatePayload(delivery.signature, delivery.body); err != nil {
			t.Errorf("delivery of %s: %v", delivery.eventID, err)
		}
	}

	_, _, err := workosstandin.NewHTTPTestServer(workosstandin.Config{
		ClientID: testClientID, APIKey: testAPIKey,
		WebhookEndpoints: []workosstandin.WebhookEndpoint{{URL: "https://hooks.example/", Secret: "s"}},
	})
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("New with a non-loopback webhook = %v, want a loopback error", err)
	}
}

func TestSignWebhookMatchesWorkOSFormat(t *testing.T) {
	at := time.UnixMilli(1767225600123)
	header := workosstandin.SignWebhook("secret", at, []byte(`{"id":"event_1"}`))
	if !strings.HasPrefix(header, "t=1767225600123, v1=") {
		t.Errorf("header = %q, want the millisecond timestamp and a comma-space separator", header)
	}
	verifier := webhooks.NewClient("secret")
	verifier.SetNow(func() time.Time { return at.Add(time.Minute) })
	if _, err := verifier.ValidatePayload(header, `{"id":"event_1"}`); err != nil {
		t.Errorf("ValidatePayload: %v", err)
	}
	if _, err := verifier.ValidatePayload(header, `{"id":"event_2"}`); err == nil {
		t.Error("a changed body validates")
	}
}

func TestPortalLinkThroughSDK(t *testing.T) {
	clock := newTestClock()
	c := startStandinWith(t, workosstandin.Config{Now: clock.Now})
	ctx := context.Background()
	ana := signIn(t, c, "ana@contoso.example", "Contoso", "admin")
	client := &portal.Client{APIKey: testAPIKey, Endpoint: c.server.URL, HTTPClient: c.server.Client()}

	link, err := client.GenerateLink(ctx, portal.GenerateLinkOpts{
		Intent: portal.DSync, Organization: ana.OrganizationID, ReturnURL: "http://127.0.0.1:9/admin",
	})
	if err != nil {
		t.Fatalf("GenerateLink: %v", err)
	}
	if !strings.HasPrefix(link, c.server.URL+"/portal/") {
		t.Fatalf("link = %q, want a stand-in portal page", link)
	}
	resp, err := c.server.Client().Get(link)
	if err != nil {
		t.Fatalf("GET portal link: %v", err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("portal page status = %d, want 200", resp.StatusCode)
	}
	for _, want := range []string{"Directory Sync", "dsync", "Contoso", ana.OrganizationID, "http://127.0.0.1:9/admin"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("portal page does not show %q", want)
		}
	}

	for _, intent := range []portal.GenerateLinkIntent{portal.SSO, portal.DomainVerification, portal.AuditLogs, portal.LogStreams} {
		if _, err := client.GenerateLink(ctx, portal.GenerateLinkOpts{Intent: intent, Organization: ana.OrganizationID}); err != nil {
			t.Errorf("GenerateLink %s: %v", intent, err)
		}
	}
	_, err = client.GenerateLink(ctx, portal.GenerateLinkOpts{Intent: "bring_your_own_key", Organization: ana.OrganizationID})
	requireHTTPError(t, err, http.StatusUnprocessableEntity, "invalid_request_parameters")
	_, err = client.GenerateLink(ctx, portal.GenerateLinkOpts{Intent: portal.SSO, Organization: "org_missing"})
	requireHTTPError(t, err, http.StatusNotFound, "entity_not_found")

	clock.Advance(5 * time.Minute)
	resp, err = c.server.Client().Get(link)
	if err != nil {
		t.Fatalf("GET expired portal link: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("expired link status = %d, want 404", resp.StatusCode)
	}
}

func TestWebhookEndpointPersistsAcrossRestart(t *testing.T) {
	receiver := newWebhookReceiver(t, 0)
	dir := t.TempDir()
	first := startStandinWith(t, workosstandin.Config{StateDir: dir})
	body := map[string]string{"url": receiver.server.URL, "secret": "whsec_registered"}
	if status := devRequest(t, first, http.MethodPost, "/_standin/webhook-endpoints", body, nil); status != http.StatusCreated {
		t.Fatalf("register status = %d, want 201", status)
	}
	first.server.Close()
	first.standin.Close()

	second := startStandinWith(t, workosstandin.Config{StateDir: dir})
	signIn(t, second, "ana@contoso.example", "Contoso", "admin")
	for _, delivery := range receiver.waitForDeliveries(t, 4) {
		if _, err := webhooks.NewClient("whsec_registered").ValidatePayload(delivery.signature, delivery.body); err != nil {
			t.Errorf("delivery of %s after restart: %v", delivery.eventID, err)
		}
	}
}

func TestEventsExpireAfterThirtyDays(t *testing.T) {
	clock := newTestClock()
	c := startStandinWith(t, workosstandin.Config{Now: clock.Now})
	signIn(t, c, "ana@contoso.example", "Contoso", "admin")
	old := c.standin.Events()

	clock.Advance(30*24*time.Hour + time.Second)
	signIn(t, c, "ben@contoso.example", "Contoso", "member")
	for _, event := range c.standin.Events() {
		if slices.ContainsFunc(old, func(e workosstandin.Event) bool { return e.ID == event.ID }) {
			t.Errorf("event %s %s from 30 days ago is still listed", event.ID, event.Event)
		}
	}
	if got := len(c.standin.Events()); got != 3 {
		t.Errorf("events = %d, want the 3 of Ben's sign-in", got)
	}
}
