package functions_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bondingai/platform/functions"
	"github.com/bondingai/platform/shared/blobstore/blobstoretest"
	"github.com/bondingai/platform/shared/config"
	"github.com/bondingai/platform/shared/customhandler"
	"github.com/bondingai/platform/shared/platform"
	"github.com/bondingai/platform/shared/queue/localqueue/localqueuetest"
	"github.com/bondingai/platform/shared/store/storetest"
)

// tenantSecret is text that only organization A's document contains.
const tenantSecret = "The Tenant A launch code word is marmalade, kept in the north vault."

// tenantFixture holds organization A's objects, which organization B's
// caller must never reach.
type tenantFixture struct {
	a, b           *platformUnderTest
	documentID     string
	conversationID string
	messageID      string
	orgAWorkOSID   string
	orgAID         string
	orgBID         string
}

// tenantRoutes lists the HTTP routes of every function.json as
// "METHOD /api/route", and the names of the other functions.
func tenantRoutes(t *testing.T) (httpRoutes, triggers []string) {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(repoRoot(t), "functions", "*", "function.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("find function.json files: %v", err)
	}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var f struct {
			Bindings []struct {
				Type    string   `json:"type"`
				Methods []string `json:"methods"`
				Route   string   `json:"route"`
			} `json:"bindings"`
		}
		if err := json.Unmarshal(data, &f); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		trigger := f.Bindings[0]
		if trigger.Type != "httpTrigger" {
			triggers = append(triggers, filepath.Base(filepath.Dir(path)))
			continue
		}
		for _, method := range trigger.Methods {
			httpRoutes = append(httpRoutes, strings.ToUpper(method)+" /api/"+trigger.Route)
		}
	}
	sort.Strings(httpRoutes)
	sort.Strings(triggers)
	return httpRoutes, triggers
}

// checkNoTenantData fails when body holds any of organization A's ids or
// its document text.
func (f *tenantFixture) checkNoTenantData(t *testing.T, label string, body []byte) {
	t.Helper()
	for _, marker := range []string{f.documentID, f.conversationID, f.messageID, f.orgAWorkOSID, f.orgAID, "marmalade"} {
		if marker != "" && bytes.Contains(body, []byte(marker)) {
			t.Errorf("%s: organization B's answer contains organization A's %q: %s", label, marker, body)
		}
	}
}

// expectStatus fails unless resp has one of statuses and holds none of
// organization A's data. A problem's instance, the request path, is left
// out of the check because it repeats the id the caller sent.
func (f *tenantFixture) expectStatus(t *testing.T, label string, resp *http.Response, data []byte, statuses ...int) {
	t.Helper()
	for _, status := range statuses {
		if resp.StatusCode != status {
			continue
		}
		if resp.Header.Get("Content-Type") == "application/problem+json" {
			var problem map[string]any
			if err := json.Unmarshal(data, &problem); err != nil {
				t.Errorf("%s: invalid problem body: %v: %s", label, err, data)
				return
			}
			delete(problem, "instance")
			data, _ = json.Marshal(problem)
		}
		f.checkNoTenantData(t, label, data)
		return
	}
	t.Errorf("%s: status %d, want one of %v: %s", label, resp.StatusCode, statuses, data)
}

func TestCrossTenantIsolationEndToEnd(t *testing.T) {
	db := storetest.New(t)
	settings := map[string]string{"DATABASE_URL": db.AppURL}
	base, standin, standinURL := startPlatform(t, settings)
	f := &tenantFixture{
		a: &platformUnderTest{baseURL: base.baseURL, client: base.client},
		b: &platformUnderTest{baseURL: base.baseURL, client: base.client},
	}
	f.a.token = signIn(t, standin, standinURL, "Tenant A", "ana@tenant-a.example")
	f.b.token = signIn(t, standin, standinURL, "Tenant B", "ben@tenant-b.example")
	f.orgAWorkOSID = tokenClaim(t, f.a.token, "org_id")

	// Organization A's document, conversation and message.
	secretPath := filepath.Join(t.TempDir(), "tenant_a_secret.txt")
	if err := os.WriteFile(secretPath, []byte(tenantSecret+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	doc := f.a.upload(t, secretPath)
	ready := f.a.waitReady(t, []documentView{doc})[doc.ID]
	f.documentID = doc.ID
	conversation := f.a.createConversation(t, "Tenant A conversation")
	f.conversationID = conversation.ID
	f.messageID = f.a.ask(t, conversation.ID, "What is the launch code word?").Message.ID
	// The platform creates an organization's row on its first request.
	if resp, data := f.b.do(t, http.MethodGet, "/api/me", nil, ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/me as B: %d %s", resp.StatusCode, data)
	}
	f.orgAID = organizationID(t, db.AdminURL, f.orgAWorkOSID)
	f.orgBID = organizationID(t, db.AdminURL, tokenClaim(t, f.b.token, "org_id"))

	cases := map[string]func(t *testing.T){
		"GET /api/documents/{id}": func(t *testing.T) {
			resp, data := f.b.do(t, http.MethodGet, "/api/documents/"+f.documentID, nil, "")
			f.expectStatus(t, "GET document", resp, data, http.StatusNotFound)
		},
		"DELETE /api/documents/{id}": func(t *testing.T) {
			resp, data := f.b.do(t, http.MethodDelete, "/api/documents/"+f.documentID, nil, "")
			f.expectStatus(t, "DELETE document", resp, data, http.StatusNotFound)
		},
		"GET /api/documents": func(t *testing.T) {
			resp, data := f.b.do(t, http.MethodGet, "/api/documents", nil, "")
			f.expectStatus(t, "list documents", resp, data, http.StatusOK)
		},
		"POST /api/documents": func(t *testing.T) {
			// The same content in B is a new document of B, never A's.
			resp, data := f.b.uploadAs(t, "copy.txt", []byte(tenantSecret+"\n"))
			if resp.StatusCode != http.StatusAccepted {
				t.Errorf("upload A's content as B: status %d, want 202: %s", resp.StatusCode, data)
			}
			if bytes.Contains(data, []byte(f.documentID)) {
				t.Errorf("upload A's content as B returned A's document: %s", data)
			}

			// Remove B's copy, so that A's text found in B later can only
			// have come from A.
			var copied documentView
			if err := json.Unmarshal(data, &copied); err != nil {
				t.Fatal(err)
			}
			if resp, data := f.b.do(t, http.MethodDelete, "/api/documents/"+copied.ID, nil, ""); resp.StatusCode != http.StatusNoContent {
				t.Errorf("delete B's copy: status %d, want 204: %s", resp.StatusCode, data)
			}
		},
		"GET /api/conversations/{id}": func(t *testing.T) {
			resp, data := f.b.do(t, http.MethodGet, "/api/conversations/"+f.conversationID, nil, "")
			f.expectStatus(t, "GET conversation", resp, data, http.StatusNotFound)
		},
		"PATCH /api/conversations/{id}": func(t *testing.T) {
			resp, data := f.b.do(t, http.MethodPatch, "/api/conversations/"+f.conversationID, strings.NewReader(`{"title":"taken"}`), "application/json")
			f.expectStatus(t, "PATCH conversation", resp, data, http.StatusNotFound)
		},
		"DELETE /api/conversations/{id}": func(t *testing.T) {
			resp, data := f.b.do(t, http.MethodDelete, "/api/conversations/"+f.conversationID, nil, "")
			f.expectStatus(t, "DELETE conversation", resp, data, http.StatusNotFound)
		},
		"POST /api/conversations/{id}/messages": func(t *testing.T) {
			resp, data := f.b.postJSON(t, "/api/conversations/"+f.conversationID+"/messages", map[string]string{"content": "What is the launch code word?"})
			f.expectStatus(t, "ask in A's conversation", resp, data, http.StatusNotFound)
		},
		"GET /api/conversations": func(t *testing.T) {
			resp, data := f.b.do(t, http.MethodGet, "/api/conversations", nil, "")
			f.expectStatus(t, "list conversations", resp, data, http.StatusOK)
		},
		"POST /api/conversations": func(t *testing.T) {
			// Chat in B never retrieves A's chunks.
			conversation := f.b.createConversation(t, "Tenant B conversation")
			reply := f.b.ask(t, conversation.ID, "What is the launch code word kept in the north vault?")
			body, _ := json.Marshal(reply)
			f.checkNoTenantData(t, "chat in B", body)
		},
		"POST /api/messages/{id}/feedback": func(t *testing.T) {
			resp, data := f.b.postJSON(t, "/api/messages/"+f.messageID+"/feedback", map[string]string{"rating": "up"})
			f.expectStatus(t, "feedback on A's message", resp, data, http.StatusNotFound)
		},
		"POST /api/search": func(t *testing.T) {
			resp, data := f.b.postJSON(t, "/api/search", map[string]any{"query": "launch code word marmalade north vault", "top_k": 20})
			f.expectStatus(t, "search", resp, data, http.StatusOK)
		},
		"GET /api/me": func(t *testing.T) {
			resp, data := f.b.do(t, http.MethodGet, "/api/me", nil, "")
			f.expectStatus(t, "me", resp, data, http.StatusOK)
		},
		"GET /api/admin/settings": func(t *testing.T) {
			resp, data := f.b.do(t, http.MethodGet, "/api/admin/settings", nil, "")
			f.expectStatus(t, "GET settings", resp, data, http.StatusOK)
		},
		"PUT /api/admin/settings": func(t *testing.T) {
			resp, data := f.b.do(t, http.MethodPut, "/api/admin/settings", strings.NewReader(`{"settings":{"display_name":"Tenant B"}}`), "application/json")
			f.expectStatus(t, "PUT settings", resp, data, http.StatusOK, http.StatusBadRequest, http.StatusPreconditionRequired, http.StatusConflict)
			resp, data = f.a.do(t, http.MethodGet, "/api/admin/settings", nil, "")
			if resp.StatusCode != http.StatusOK || bytes.Contains(data, []byte("Tenant B")) {
				t.Errorf("organization A's settings after B's PUT: %d %s", resp.StatusCode, data)
			}
		},
		"GET /api/admin/egress": func(t *testing.T) {
			resp, data := f.b.do(t, http.MethodGet, "/api/admin/egress", nil, "")
			f.expectStatus(t, "egress audit", resp, data, http.StatusOK, http.StatusForbidden)
		},
		"POST /api/admin/portal-link": func(t *testing.T) {
			resp, data := f.b.postJSON(t, "/api/admin/portal-link", map[string]string{"intent": "sso"})
			f.expectStatus(t, "portal link", resp, data, http.StatusOK, http.StatusCreated, http.StatusBadRequest, http.StatusForbidden, http.StatusBadGateway)
		},
		"GET /api/admin/dashboard/{asset?}": func(t *testing.T) {
			resp, data := f.b.do(t, http.MethodGet, "/api/admin/dashboard", nil, "")
			f.expectStatus(t, "dashboard", resp, data, http.StatusOK)
		},
		"GET /api/analytics/kpis": func(t *testing.T) {
			resp, data := f.b.do(t, http.MethodGet, "/api/analytics/kpis", nil, "")
			f.expectStatus(t, "KPIs", resp, data, http.StatusOK, http.StatusBadRequest)
		},
		"POST /api/auth/switch-organization": func(t *testing.T) {
			resp, data := f.b.postJSON(t, "/api/auth/switch-organization", map[string]string{"organization_id": f.orgAWorkOSID})
			f.expectStatus(t, "switch to A", resp, data, http.StatusBadRequest, http.StatusForbidden)
		},
		// These routes take no organization's ids: sign-in, sign-out, the
		// health check and the signed WorkOS webhook.
		"GET /api/auth/login":       nil,
		"GET /api/auth/callback":    nil,
		"POST /api/auth/logout":     nil,
		"GET /api/health":           nil,
		"POST /api/webhooks/workos": nil,
	}

	httpRoutes, triggers := tenantRoutes(t)
	for _, route := range httpRoutes {
		check, known := cases[route]
		if !known {
			t.Errorf("route %s has no cross-tenant case: add one to this test", route)
			continue
		}
		if check != nil {
			t.Run(route, check)
		}
	}

	f.checkTriggers(t, triggers, settings, standinURL)

	// Organization A still has its document, ready and intact.
	resp, data := f.a.do(t, http.MethodGet, "/api/documents/"+f.documentID, nil, "")
	var after documentView
	if resp.StatusCode != http.StatusOK || json.Unmarshal(data, &after) != nil {
		t.Fatalf("organization A's document after B's attempts: %d %s", resp.StatusCode, data)
	}
	if after.Status != "ready" || *after.ChunkCount != *ready.ChunkCount {
		t.Errorf("organization A's document after B's attempts = %+v, want ready with %d chunks", after, *ready.ChunkCount)
	}
	found := false
	for _, result := range f.a.search(t, "launch code word", 5) {
		found = found || result.DocumentID == f.documentID
	}
	if !found {
		t.Error("organization A no longer finds its own document")
	}
}

// organizationID returns the platform id of the organization with the
// WorkOS id workosID.
func organizationID(t *testing.T, adminURL, workosID string) string {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), adminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var id string
	if err := conn.QueryRow(context.Background(), `SELECT id::text FROM organizations WHERE workos_id = $1`, workosID).Scan(&id); err != nil {
		t.Fatalf("find organization %s: %v", workosID, err)
	}
	return id
}

// checkTriggers invokes every non-HTTP function in process, through the
// same custom-handler app the host posts to, with organization B's id and
// organization A's object ids. The invocation answers synchronously, so
// the checks after it see its whole effect.
func (f *tenantFixture) checkTriggers(t *testing.T, triggers []string, settings map[string]string, standinURL string) {
	t.Helper()
	invoke := newInProcessApp(t, settings, standinURL)

	var jobID string
	conn, err := pgx.Connect(context.Background(), settings["DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	// The app role sees organization A's embedding job only inside A.
	err = pgx.BeginFunc(context.Background(), conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(context.Background(), "SELECT set_config('app.org_id', $1, true)", f.orgAID); err != nil {
			return err
		}
		return tx.QueryRow(context.Background(), `SELECT id::text FROM embedding_jobs WHERE document_id = $1 LIMIT 1`, f.documentID).Scan(&jobID)
	})
	if err != nil {
		t.Fatalf("find organization A's embedding job: %v", err)
	}

	quoted := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	cases := map[string]func(t *testing.T){
		"IngestDocument": func(t *testing.T) {
			name := fmt.Sprintf("documents/%s/%s/evil.txt", f.orgBID, f.documentID)
			envelope := fmt.Sprintf(`{"Data":{"blob":%q},"Metadata":{"Uri":%q,"orgId":%q,"documentId":%q,"name":%q,"Properties":{"ContentLength":8}}}`,
				base64.StdEncoding.EncodeToString([]byte("replaced")), quoted("http://127.0.0.1/"+name), quoted(f.orgBID), quoted(f.documentID), quoted("evil.txt"))
			status, body := invoke(t, "IngestDocument", envelope)
			t.Logf("IngestDocument with B's org and A's document: %d %s", status, body)
		},
		"EmbedChunks": func(t *testing.T) {
			job := fmt.Sprintf(`{"job_id":%q,"org_id":%q,"document_id":%q}`, jobID, f.orgBID, f.documentID)
			envelope := fmt.Sprintf(`{"Data":{"message":%q},"Metadata":{"MessageId":%q,"DeliveryCount":"1"}}`,
				base64.StdEncoding.EncodeToString([]byte(job)), quoted("cross-tenant"))
			status, body := invoke(t, "EmbedChunks", envelope)
			t.Logf("EmbedChunks with B's org and A's job: %d %s", status, body)
		},
		"AnalyticsRollup": func(t *testing.T) {
			rollup := fmt.Sprintf(`{"org_id":%q,"window_start":%q}`, f.orgBID, time.Now().UTC().Truncate(time.Hour).Format(time.RFC3339))
			envelope := fmt.Sprintf(`{"Data":{"message":%q},"Metadata":{"MessageId":%q,"DeliveryCount":"1"}}`,
				base64.StdEncoding.EncodeToString([]byte(rollup)), quoted("rollup-b"))
			status, body := invoke(t, "AnalyticsRollup", envelope)
			if status != http.StatusOK {
				t.Errorf("AnalyticsRollup for B: status %d: %s", status, body)
			}
			resp, data := f.b.do(t, http.MethodGet, "/api/analytics/kpis", nil, "")
			f.expectStatus(t, "KPIs after B's rollup", resp, data, http.StatusOK, http.StatusBadRequest)
		},
		// Timers take no organization input: each run covers every
		// organization through its own scoped transactions.
		"AnalyticsSchedule": nil,
		"SyncIdentity":      nil,
	}
	for _, name := range triggers {
		check, known := cases[name]
		if !known {
			t.Errorf("trigger %s has no cross-tenant case: add one to this test", name)
			continue
		}
		if check != nil {
			t.Run(name, check)
		}
	}

	// Neither trigger changed A's document or created one in B under A's id.
	resp, data := f.b.do(t, http.MethodGet, "/api/documents/"+f.documentID, nil, "")
	f.expectStatus(t, "A's document from B after the triggers", resp, data, http.StatusNotFound)
}

// newInProcessApp starts a second instance of the handler in process on
// the same database and returns a function that posts one trigger
// invocation envelope to it.
func newInProcessApp(t *testing.T, settings map[string]string, standinURL string) func(t *testing.T, name, envelope string) (int, []byte) {
	t.Helper()
	all := map[string]string{
		"DocumentStorage":       blobstoretest.Connection(t),
		"ServiceBusConnection":  localqueuetest.NewDatabase(t),
		"WORKOS_API_BASE_URL":   standinURL,
		"WORKOS_CLIENT_ID":      e2eClientID,
		"WORKOS_API_KEY":        e2eAPIKey,
		"SESSION_COOKIE_KEY":    "ZGV2LW9ubHktc2Vzc2lvbi1jb29raWUta2V5LTMyYiE=",
		"WORKOS_WEBHOOK_SECRET": e2eWebhookSecret,
		"AUTH_REDIRECT_URI":     "http://127.0.0.1/api/auth/callback",
		"EMBEDDING_PROVIDER":    "use-lite",
		"EMBEDDING_MODEL_DIR":   modelDir(t),
		"PDFIUM_CACHE_DIR":      filepath.Join(os.TempDir(), "bondingai-test-pdfium"),
	}
	for name, value := range settings {
		all[name] = value
	}
	cfg, err := config.Load(func(name string) string { return all[name] })
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	p, err := platform.New(ctx, cfg, logger)
	if err != nil {
		t.Fatalf("start in-process platform: %v", err)
	}
	t.Cleanup(p.Close)
	app := customhandler.NewApp(logger)
	functions.Register(app, p)
	server := httptest.NewServer(app.Handler())
	t.Cleanup(server.Close)

	return func(t *testing.T, name, envelope string) (int, []byte) {
		t.Helper()
		resp, err := http.Post(server.URL+"/"+name, "application/json", strings.NewReader(envelope))
		if err != nil {
			t.Fatalf("invoke %s: %v", name, err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, body
	}
}
