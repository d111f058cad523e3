package functions_test

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/workos/workos-go/v4/pkg/organizations"
	"github.com/workos/workos-go/v4/pkg/usermanagement"

	"github.com/bondingai/platform/shared/blobstore/blobstoretest"
	"github.com/bondingai/platform/shared/funchost"
	"github.com/bondingai/platform/shared/queue/localqueue/localqueuetest"
	"github.com/bondingai/platform/shared/store/storetest"
	"github.com/bondingai/platform/shared/workosstandin"
)

// The end-to-end test runs the real handler binary under the local
// Functions host, against PostgreSQL, Azurite, the local queue and the
// WorkOS stand-in: upload, blob trigger, extraction, Service Bus embedding
// jobs, pgvector, and search.

const (
	e2eClientID = "client_e2e"
	e2eAPIKey   = "sk_test_e2e"
	// e2eWebhookSecret signs the stand-in's webhook deliveries.
	e2eWebhookSecret = "whsec_e2e"
	// readyTimeout bounds ingestion of the test documents on a loaded
	// two-core machine.
	readyTimeout = 2 * time.Minute
)

type platformUnderTest struct {
	baseURL string
	client  *http.Client
	token   string
}

func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

func modelDir(t *testing.T) string {
	if dir := os.Getenv("BONDINGAI_MODEL_DIR"); dir != "" {
		return dir
	}
	return filepath.Join(repoRoot(t), ".local", "models", "use-lite")
}

// assembleApp copies host.json and every function.json into a folder laid
// out as the Functions host expects, and builds the handler into it.
func assembleApp(t *testing.T) string {
	t.Helper()
	root := repoRoot(t)
	appDir := t.TempDir()
	copyFile(t, filepath.Join(root, "host.json"), filepath.Join(appDir, "host.json"))
	paths, err := filepath.Glob(filepath.Join(root, "functions", "*", "function.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("find function.json files: %v", err)
	}
	for _, path := range paths {
		name := filepath.Base(filepath.Dir(path))
		if err := os.MkdirAll(filepath.Join(appDir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		copyFile(t, path, filepath.Join(appDir, name, "function.json"))
	}
	build := exec.Command("go", "build", "-o", filepath.Join(appDir, "handler"), "./cmd/handler")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build handler: %v\n%s", err, out)
	}
	return appDir
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// signIn creates the organization, user and membership in the stand-in
// through workos-go, as an administrator would in WorkOS, and mints the
// access token AuthKit would issue at sign-in.
func signIn(t *testing.T, standin *workosstandin.Server, baseURL, orgName, email string) string {
	t.Helper()
	ctx := context.Background()
	orgs := &organizations.Client{APIKey: e2eAPIKey, Endpoint: baseURL, HTTPClient: http.DefaultClient}
	org, err := orgs.CreateOrganization(ctx, organizations.CreateOrganizationOpts{Name: orgName})
	if err != nil {
		t.Fatalf("create organization: %v", err)
	}
	users := usermanagement.NewClient(e2eAPIKey)
	users.Endpoint = baseURL
	user, err := users.CreateUser(ctx, usermanagement.CreateUserOpts{Email: email, EmailVerified: true})
	if err != nil {
		t.Fatalf("create user: %v", err)
	}
	_, err = users.CreateOrganizationMembership(ctx, usermanagement.CreateOrganizationMembershipOpts{
		UserID: user.ID, OrganizationID: org.ID, RoleSlug: "admin",
	})
	if err != nil {
		t.Fatalf("create membership: %v", err)
	}
	token, err := standin.MintAccessToken(workosstandin.AccessTokenRequest{UserID: user.ID, OrganizationID: org.ID, TTLSeconds: 3600})
	if err != nil {
		t.Fatalf("mint access token: %v", err)
	}
	return token.AccessToken
}

// startPlatform runs the handler under the local host; extraSettings add
// to or override the app settings.
func startPlatform(t *testing.T, extraSettings ...map[string]string) (*platformUnderTest, *workosstandin.Server, string) {
	t.Helper()
	return launchPlatform(t, platformOptions{extraSettings: extraSettings})
}

// platformOptions adjusts launchPlatform.
type platformOptions struct {
	// extraSettings add to or override the app settings.
	extraSettings []map[string]string
	// settingsFor, when set, returns more settings once the stand-in's URL
	// is known, such as a WorkOS base URL that routes through a proxy.
	settingsFor func(standinURL string, standin *workosstandin.Server) map[string]string
	// addr is the host's listen address; "" picks a free port.
	addr string
	// standin adjusts the WorkOS stand-in's configuration.
	standin func(*workosstandin.Config)
}

// launchPlatform runs the handler under the local host with opts.
func launchPlatform(t *testing.T, opts platformOptions) (*platformUnderTest, *workosstandin.Server, string) {
	t.Helper()
	db := storetest.New(t)
	queueURL := localqueuetest.NewDatabase(t)
	storage := blobstoretest.Connection(t)
	blobstoretest.New(t) // fails early with a clear message when Azurite is down

	standinConfig := workosstandin.Config{
		ClientID: e2eClientID, APIKey: e2eAPIKey, StateDir: t.TempDir(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if opts.standin != nil {
		opts.standin(&standinConfig)
	}
	standin, standinServer, err := workosstandin.NewHTTPTestServer(standinConfig)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(standinServer.Close)

	appDir := assembleApp(t)
	// Start from the example settings, so a setting that becomes required
	// reaches every test, then point the connections at the test stack.
	settings := exampleSettings(t)
	maps.Copy(settings, map[string]string{
		"FUNCTIONS_WORKER_RUNTIME": "custom",
		"AzureWebJobsStorage":      storage,
		"DATABASE_URL":             db.AppURL,
		"DocumentStorage":          storage,
		"ServiceBusConnection":     queueURL,
		"WORKOS_API_BASE_URL":      standinServer.URL,
		"WORKOS_CLIENT_ID":         e2eClientID,
		"WORKOS_API_KEY":           e2eAPIKey,
		"SESSION_COOKIE_KEY":       "ZGV2LW9ubHktc2Vzc2lvbi1jb29raWUta2V5LTMyYiE=",
		"WORKOS_WEBHOOK_SECRET":    e2eWebhookSecret,
		"AUTH_REDIRECT_URI":        "http://127.0.0.1/api/auth/callback",
		"EMBEDDING_PROVIDER":       "use-lite",
		"EMBEDDING_MODEL_DIR":      modelDir(t),
		"PDFIUM_CACHE_DIR":         filepath.Join(os.TempDir(), "bondingai-test-pdfium"),
	})

	for _, extra := range opts.extraSettings {
		maps.Copy(settings, extra)
	}
	if opts.settingsFor != nil {
		maps.Copy(settings, opts.settingsFor(standinServer.URL, standin))
	}

	logFile, err := os.Create(filepath.Join(t.TempDir(), "host.log"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	stopped := make(chan error, 1)
	go func() {
		stopped <- funchost.Run(ctx, funchost.Config{
			AppDir: appDir, Settings: settings, Addr: cmp.Or(opts.addr, "127.0.0.1:0"),
			Logger:           slog.New(slog.NewJSONHandler(logFile, nil)),
			OnReady:          func(addr string) { ready <- addr },
			BlobPollInterval: 200 * time.Millisecond,
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-stopped; err != nil {
			t.Errorf("local host stopped with %v", err)
		}
		if t.Failed() {
			dumpLog(t, logFile.Name())
		}
		logFile.Close()
	})

	select {
	case addr := <-ready:
		return &platformUnderTest{baseURL: "http://" + addr, client: &http.Client{Timeout: time.Minute}}, standin, standinServer.URL
	case err := <-stopped:
		dumpLog(t, logFile.Name())
		t.Fatalf("local host stopped before it was ready: %v", err)
	case <-time.After(2 * time.Minute):
		dumpLog(t, logFile.Name())
		t.Fatal("local host not ready after 2 minutes")
	}
	return nil, nil, ""
}

// dumpLog prints the last lines of the host log, which holds the handler's
// output, to explain a failure.
func dumpLog(t *testing.T, path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		return
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	t.Logf("last lines of the host log:\n%s", strings.Join(lines[max(0, len(lines)-60):], "\n"))
}

func (p *platformUnderTest) do(t *testing.T, method, path string, body io.Reader, contentType string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, p.baseURL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if p.token != "" {
		req.Header.Set("Authorization", "Bearer "+p.token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, data
}

type documentView struct {
	ID         string  `json:"id"`
	Filename   string  `json:"filename"`
	Status     string  `json:"status"`
	Error      *string `json:"error"`
	PageCount  *int    `json:"page_count"`
	ChunkCount *int    `json:"chunk_count"`
}

func (p *platformUnderTest) upload(t *testing.T, path string) documentView {
	t.Helper()
	content, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	form := multipart.NewWriter(&body)
	part, err := form.CreateFormFile("file", filepath.Base(path))
	if err != nil {
		t.Fatal(err)
	}
	part.Write(content)
	form.Close()

	resp, data := p.do(t, http.MethodPost, "/api/documents", &body, form.FormDataContentType())
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("upload %s: status %d: %s", path, resp.StatusCode, data)
	}
	var doc documentView
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Status != "pending" || doc.ID == "" {
		t.Fatalf("upload %s answered %+v, want a pending document", path, doc)
	}
	return doc
}

// waitReady polls each document until it is ready, failing on failed.
func (p *platformUnderTest) waitReady(t *testing.T, docs []documentView) map[string]documentView {
	t.Helper()
	deadline := time.Now().Add(readyTimeout)
	ready := map[string]documentView{}
	for len(ready) < len(docs) {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d documents ready after %s", len(ready), len(docs), readyTimeout)
		}
		for _, d := range docs {
			if _, done := ready[d.ID]; done {
				continue
			}
			resp, data := p.do(t, http.MethodGet, "/api/documents/"+d.ID, nil, "")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET document %s: %d %s", d.ID, resp.StatusCode, data)
			}
			var current documentView
			if err := json.Unmarshal(data, &current); err != nil {
				t.Fatal(err)
			}
			switch current.Status {
			case "ready":
				ready[d.ID] = current
			case "failed":
				t.Fatalf("document %s failed: %v", d.Filename, *current.Error)
			}
		}
		time.Sleep(250 * time.Millisecond) // poll interval of the readiness loop
	}
	return ready
}

type searchResult struct {
	DocumentID string  `json:"document_id"`
	Filename   string  `json:"filename"`
	Page       *int    `json:"page"`
	Text       string  `json:"text"`
	Score      float64 `json:"score"`
}

func (p *platformUnderTest) search(t *testing.T, query string, topK int) []searchResult {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "top_k": topK})
	resp, data := p.do(t, http.MethodPost, "/api/search", bytes.NewReader(body), "application/json")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("search %q: %d %s", query, resp.StatusCode, data)
	}
	var out struct {
		Results []searchResult `json:"results"`
	}
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out.Results
}

type question struct {
	Question       string `json:"question"`
	File           string `json:"file"`
	Page           *int   `json:"page"`
	AnswerContains string `json:"answer_contains"`
}

func readQuestions(t *testing.T, path string) []question {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open questions (%s): %v", path, err)
	}
	defer f.Close()
	var questions []question
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		if strings.TrimSpace(scanner.Text()) == "" {
			continue
		}
		var q question
		if err := json.Unmarshal(scanner.Bytes(), &q); err != nil {
			t.Fatal(err)
		}
		questions = append(questions, q)
	}
	return questions
}

// sharedDataDir holds the real test documents and questions that come with
// the workspace; BONDINGAI_TEST_DATA_DIR overrides it.
func sharedDataDir(t *testing.T) string {
	if dir := os.Getenv("BONDINGAI_TEST_DATA_DIR"); dir != "" {
		return dir
	}
	return filepath.Join(repoRoot(t), "testdata", "documents")
}

func TestEndToEndUploadIngestSearch(t *testing.T) {
	if testing.Short() {
		t.Skip("the end-to-end test runs the whole platform")
	}
	p, standin, standinURL := startPlatform(t)
	dataDir := sharedDataDir(t)

	// Health needs no token.
	resp, data := p.do(t, http.MethodGet, "/api/health", nil, "")
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(data), `"status":"ok"`) {
		t.Fatalf("health: %d %s", resp.StatusCode, data)
	}
	// Every other route needs one.
	resp, data = p.do(t, http.MethodGet, "/api/documents", nil, "")
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("documents without a token: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), data)
	}

	p.token = signIn(t, standin, standinURL, "Contoso", "ada@contoso.com")
	files := []string{filepath.Join(dataDir, "contoso_employee_handbook.pdf"), filepath.Join(dataDir, "expenses_policy.docx")}

	var uploaded []documentView
	for _, f := range files {
		uploaded = append(uploaded, p.upload(t, f))
	}
	started := time.Now()
	ready := p.waitReady(t, uploaded)
	t.Logf("%d documents ready in %s", len(ready), time.Since(started).Round(time.Millisecond))
	handbook := ready[uploaded[0].ID]
	if handbook.PageCount == nil || *handbook.PageCount != 3 || handbook.ChunkCount == nil || *handbook.ChunkCount == 0 {
		t.Errorf("handbook page_count %v chunk_count %v, want 3 pages and some chunks", handbook.PageCount, handbook.ChunkCount)
	}

	// A re-upload of identical content returns the same document.
	content, _ := os.ReadFile(files[0])
	var body bytes.Buffer
	form := multipart.NewWriter(&body)
	part, _ := form.CreateFormFile("file", "copy-of-handbook.pdf")
	part.Write(content)
	form.Close()
	resp, data = p.do(t, http.MethodPost, "/api/documents", &body, form.FormDataContentType())
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(data), uploaded[0].ID) {
		t.Errorf("re-upload: %d %s, want 200 with the existing document", resp.StatusCode, data)
	}

	// Every question finds its file and page among the top three results.
	for _, q := range readQuestions(t, filepath.Join(dataDir, "questions.jsonl")) {
		results := p.search(t, q.Question, 5)
		rank := 0
		for i, r := range results[:min(3, len(results))] {
			pageMatches := (q.Page == nil && r.Page == nil) || (q.Page != nil && r.Page != nil && *q.Page == *r.Page)
			if r.Filename == q.File && pageMatches {
				rank = i + 1
				break
			}
		}
		if rank == 0 {
			var got []string
			for _, r := range results {
				got = append(got, fmt.Sprintf("%s p%v", r.Filename, pageString(r.Page)))
			}
			t.Errorf("%q: %s page %s not in the top 3: %v", q.Question, q.File, pageString(q.Page), got)
			continue
		}
		t.Logf("%q: found at rank %d", q.Question, rank)
	}

	// Another organization finds none of it.
	other := *p
	other.token = signIn(t, standin, standinURL, "Fabrikam", "bo@fabrikam.com")
	if results := other.search(t, "paid vacation days", 5); len(results) != 0 {
		t.Errorf("another organization found %d results", len(results))
	}
	resp, _ = other.do(t, http.MethodGet, "/api/documents/"+uploaded[0].ID, nil, "")
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("another organization read a document: status %d", resp.StatusCode)
	}

	// Deleting a document removes it from search.
	resp, data = p.do(t, http.MethodDelete, "/api/documents/"+uploaded[1].ID, nil, "")
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d %s", resp.StatusCode, data)
	}
	for _, r := range p.search(t, "What is the maximum I can claim for a hotel night?", 10) {
		if r.DocumentID == uploaded[1].ID {
			t.Error("search still returns a deleted document")
		}
	}
}

func pageString(page *int) string {
	if page == nil {
		return "none"
	}
	return fmt.Sprint(*page)
}
