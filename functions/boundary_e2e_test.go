package functions_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bondingai/platform/shared/egress/boundarytest"
	"github.com/bondingai/platform/shared/session"
	"github.com/bondingai/platform/shared/workosstandin"
)

// The data boundary proof: the whole platform runs with WorkOS behind a
// recording proxy that keeps every byte sent to it at the TCP level. The
// test signs in, uploads and ingests a document, searches, chats, gives
// feedback, changes organization settings, runs a rollup and applies a
// Directory Sync event. A unique canary string is planted in the document,
// its file name, the messages and the settings. The test then checks
// that only WorkOS identity endpoints were called, that no canary reached
// WorkOS, and that the egress audit saw every request the proxy saw, so a
// client without the egress policy would fail the test.
func TestEndToEndDataBoundary(t *testing.T) {
	if testing.Short() {
		t.Skip("the end-to-end test runs the whole platform")
	}
	canary := newCanary(t)
	proxy := boundarytest.NewRecordingProxy(t, "")
	addr := freeLoopbackAddr(t)
	baseURL := "http://" + addr

	p, standin, standinURL := launchPlatform(t, platformOptions{addr: addr,
		settingsFor: func(standinURL string, standin *workosstandin.Server) map[string]string {
			proxy.SetTarget(strings.TrimPrefix(standinURL, "http://"))
			return map[string]string{
				"WORKOS_API_BASE_URL": "http://" + proxy.Addr(),
				"WORKOS_ISSUERS":      standin.IssuerURL(),
				"AUTH_REDIRECT_URI":   baseURL + "/api/auth/callback",
			}
		}})
	fixture := newIdentityFixture(t, standin, standinURL)
	token, directoryUserID := fixture.member(t, "ada+"+canary+"@contoso.com", "admin")
	p.token = token

	// Sign in through the hosted login, as a browser would: the browser
	// talks to WorkOS directly, the platform through the proxy.
	cookie := signInThroughProxy(t, p, standinURL, "ada+"+canary+"@contoso.com", fixture.orgID)
	req, _ := http.NewRequest(http.MethodGet, baseURL+"/api/me", nil)
	req.AddCookie(cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/me with the session cookie: %d", resp.StatusCode)
	}

	// A document with the canary in its name and text.
	var body bytes.Buffer
	form := multipart.NewWriter(&body)
	part, _ := form.CreateFormFile("file", "plan-"+canary+".md")
	fmt.Fprintf(part, "# Project %s\n\nThe %s budget is forty thousand euros for the pilot phase.\n", canary, canary)
	form.Close()
	resp, data := p.do(t, http.MethodPost, "/api/documents", &body, form.FormDataContentType())
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("upload: %d %s", resp.StatusCode, data)
	}
	var doc documentView
	json.Unmarshal(data, &doc)
	p.waitReady(t, []documentView{doc})
	if results := p.search(t, "What is the "+canary+" budget?", 3); len(results) == 0 {
		t.Error("search found nothing")
	}

	// A conversation, a reply and feedback, all with the canary.
	conversation := p.createConversation(t, "Budget "+canary)
	reply := p.ask(t, conversation.ID, "What is the budget of project "+canary+"?")
	resp, data = p.postJSON(t, "/api/messages/"+reply.Message.ID+"/feedback", map[string]string{"rating": "up", "comment": "helpful " + canary})
	if resp.StatusCode >= 300 {
		t.Errorf("feedback: %d %s", resp.StatusCode, data)
	}

	// Organization settings with the canary.
	resp, data = p.do(t, http.MethodGet, "/api/admin/settings", nil, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET settings: %d %s", resp.StatusCode, data)
	}
	settings, _ := json.Marshal(map[string]any{"display_name": "Contoso " + canary})
	req, _ = http.NewRequest(http.MethodPut, p.baseURL+"/api/admin/settings", bytes.NewReader(settings))
	req.Header.Set("Authorization", "Bearer "+p.token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("If-Match", resp.Header.Get("ETag"))
	resp, err = p.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("PUT settings: %d", resp.StatusCode)
	}

	// A rollup, and a Directory Sync event applied by the sync.
	p.runFunction(t, "AnalyticsSchedule")
	fixture.call(t, http.MethodPut, "/_standin/directory-users/"+directoryUserID, map[string]string{"first_name": "Ada " + canary})
	requestsBefore := len(proxy.Requests())
	p.runFunction(t, "SyncIdentity")
	pollUntil(t, time.Minute, "the sync to read the Events API", func() bool {
		for _, r := range proxy.Requests()[requestsBefore:] {
			if r.Path == "/events" {
				return true
			}
		}
		return false
	})

	// Sign out, which revokes the session at WorkOS.
	req, _ = http.NewRequest(http.MethodPost, baseURL+"/api/auth/logout", nil)
	req.AddCookie(cookie)
	req.Header.Set("Origin", baseURL)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("logout: %d", resp.StatusCode)
	}

	// Wait until the audit, written in the background, has caught up.
	var audited int
	pollUntil(t, time.Minute, "the egress audit to record every WorkOS request", func() bool {
		audited = auditedRequests(t, p, "workos")
		return audited >= len(proxy.Requests())
	})

	seen := proxy.Requests()
	for _, violation := range boundarytest.Check(seen, proxy.Sent(), audited, []string{canary}) {
		t.Errorf("data boundary violated: %s", violation)
	}
	paths := map[string]bool{}
	for _, r := range seen {
		paths[r.Path] = true
	}
	for _, want := range []string{"/user_management/authenticate", "/sso/jwks/" + e2eClientID, "/events", "/user_management/sessions/revoke"} {
		if !paths[want] {
			t.Errorf("the platform never called WorkOS %s; the test does not cover it", want)
		}
	}
	t.Logf("%d requests reached WorkOS, %d audited: %v", len(seen), audited, keys(paths))

	// The audit names only allow-listed destinations, and only WorkOS is
	// outside the customer's cloud.
	for _, d := range egressDestinations(t, p) {
		if d.OutsideCustomerCloud && (d.Destination != "workos" || d.Class != "identity") {
			t.Errorf("destination %s (%s) is outside the customer's cloud", d.Destination, d.Class)
		}
	}
}

func newCanary(t *testing.T) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "CANARY" + hex.EncodeToString(b)
}

// signInThroughProxy walks the AuthKit sign-in. The platform's login
// redirect names its configured WorkOS base URL (the proxy), but the
// browser posts the stand-in's login form directly, then follows the
// callback.
func signInThroughProxy(t *testing.T, p *platformUnderTest, standinURL, email, organizationID string) *http.Cookie {
	t.Helper()
	noRedirect := &http.Client{Timeout: time.Minute, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(p.baseURL + "/api/auth/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("login: status %d", resp.StatusCode)
	}
	loginCookie := responseCookie(resp, session.LoginCookieName)
	authorizeURL, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loginCookie == nil {
		t.Fatalf("login redirect %q, cookie %v: %v", resp.Header.Get("Location"), loginCookie, err)
	}
	query := authorizeURL.Query()
	form := url.Values{}
	for _, name := range []string{"client_id", "redirect_uri", "state", "code_challenge", "code_challenge_method", "organization_id"} {
		form.Set(name, query.Get(name))
	}
	form.Set("email", email)
	form.Set("organization", organizationID)
	form.Set("role", "admin")
	resp, err = noRedirect.PostForm(standinURL+"/user_management/authorize", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("stand-in login form: status %d", resp.StatusCode)
	}

	req, _ := http.NewRequest(http.MethodGet, resp.Header.Get("Location"), nil)
	req.AddCookie(loginCookie)
	resp, err = noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	sessionCookie := responseCookie(resp, session.SessionCookieName)
	if resp.StatusCode != http.StatusFound || sessionCookie == nil {
		t.Fatalf("callback: status %d, session cookie %v", resp.StatusCode, sessionCookie)
	}
	return sessionCookie
}

type egressDestination struct {
	Destination          string `json:"destination"`
	Class                string `json:"class"`
	OutsideCustomerCloud bool   `json:"outside_customer_cloud"`
	Requests             int    `json:"requests"`
}

func egressDestinations(t *testing.T, p *platformUnderTest) []egressDestination {
	t.Helper()
	resp, data := p.do(t, http.MethodGet, "/api/admin/egress", nil, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/admin/egress: %d %s", resp.StatusCode, data)
	}
	var summary struct {
		Destinations []egressDestination `json:"destinations"`
	}
	if err := json.Unmarshal(data, &summary); err != nil {
		t.Fatal(err)
	}
	return summary.Destinations
}

func auditedRequests(t *testing.T, p *platformUnderTest, destination string) int {
	total := 0
	for _, d := range egressDestinations(t, p) {
		if d.Destination == destination {
			total += d.Requests
		}
	}
	return total
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
