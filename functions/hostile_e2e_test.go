package functions_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// hostileCase is one entry of testdata/hostile/manifest.json.
type hostileCase struct {
	File           string `json:"file"`
	UploadName     string `json:"upload_name"`
	What           string `json:"what"`
	UploadStatus   int    `json:"upload_status"`
	UploadDetail   string `json:"upload_detail"`
	Status         string `json:"status"`
	Reason         string `json:"reason"`
	StoredFilename string `json:"stored_filename"`
}

func readHostileManifest(t *testing.T) []hostileCase {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "testdata", "hostile", "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var manifest struct {
		Cases []hostileCase `json:"cases"`
	}
	if err := json.Unmarshal(data, &manifest); err != nil {
		t.Fatalf("decode hostile manifest: %v", err)
	}
	if len(manifest.Cases) == 0 {
		t.Fatal("hostile manifest lists no cases")
	}
	return manifest.Cases
}

// uploadAs posts content as multipart field "file" with name sent as an
// RFC 2231 filename* parameter, which can carry any character.
func (p *platformUnderTest) uploadAs(t *testing.T, name string, content []byte) (*http.Response, []byte) {
	t.Helper()
	var body bytes.Buffer
	form := multipart.NewWriter(&body)
	header := textproto.MIMEHeader{}
	header.Set("Content-Disposition", `form-data; name="file"; filename*=UTF-8''`+url.PathEscape(name))
	header.Set("Content-Type", "application/octet-stream")
	part, err := form.CreatePart(header)
	if err != nil {
		t.Fatal(err)
	}
	part.Write(content)
	form.Close()
	return p.do(t, http.MethodPost, "/api/documents", &body, form.FormDataContentType())
}

type problemView struct {
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
}

// checkProblem fails unless resp is a problem+json answer with status.
func checkProblem(t *testing.T, label string, resp *http.Response, data []byte, status int) problemView {
	t.Helper()
	if resp.StatusCode != status {
		t.Errorf("%s: status %d, want %d: %s", label, resp.StatusCode, status, data)
	}
	if got := resp.Header.Get("Content-Type"); got != "application/problem+json" {
		t.Errorf("%s: Content-Type %q, want application/problem+json", label, got)
	}
	var problem problemView
	if err := json.Unmarshal(data, &problem); err != nil {
		t.Errorf("%s: body is not a problem: %v: %s", label, err, data)
	}
	if problem.Status != status {
		t.Errorf("%s: problem status %d, want %d", label, problem.Status, status)
	}
	return problem
}

// waitSettled polls a document until it leaves pending and processing.
func (p *platformUnderTest) waitSettled(t *testing.T, id string) documentView {
	t.Helper()
	deadline := time.Now().Add(readyTimeout)
	for {
		resp, data := p.do(t, http.MethodGet, "/api/documents/"+id, nil, "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET document %s: %d %s", id, resp.StatusCode, data)
		}
		var doc documentView
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		if doc.Status == "ready" || doc.Status == "failed" {
			return doc
		}
		if time.Now().After(deadline) {
			t.Fatalf("document %s still %s after %s", id, doc.Status, readyTimeout)
		}
		time.Sleep(250 * time.Millisecond) // poll interval
	}
}

// leakMarkers must never appear in an error response: internal paths,
// connection strings, API keys and tokens.
func leakMarkers(token string) []string {
	markers := []string{"/work/", "/root/", "/tmp/", "/home/", "postgres://", "postgresql://", "sk_", "AccountKey=", "goroutine ", ".go:"}
	if token != "" {
		markers = append(markers, token)
	}
	return markers
}

func checkNoLeak(t *testing.T, label string, data []byte, token string) {
	t.Helper()
	for _, marker := range leakMarkers(token) {
		if bytes.Contains(data, []byte(marker)) {
			t.Errorf("%s: error response contains %q: %s", label, marker, data)
		}
	}
}

func TestHostileUploadsEndToEnd(t *testing.T) {
	p, standin, standinURL := startPlatform(t)
	p.token = signIn(t, standin, standinURL, "Hostile Uploads", "hostile@contoso.example")
	dir := filepath.Join(repoRoot(t), "testdata", "hostile")

	type accepted struct {
		c  hostileCase
		id string
	}
	var pending []accepted
	for _, c := range readHostileManifest(t) {
		content, err := os.ReadFile(filepath.Join(dir, c.File))
		if err != nil {
			t.Fatal(err)
		}
		label := fmt.Sprintf("%s (%s)", c.What, c.File)
		resp, data := p.uploadAs(t, c.UploadName, content)
		if c.UploadStatus != http.StatusAccepted {
			problem := checkProblem(t, label, resp, data, c.UploadStatus)
			if problem.Detail != c.UploadDetail {
				t.Errorf("%s: detail %q, want %q", label, problem.Detail, c.UploadDetail)
			}
			checkNoLeak(t, label, data, p.token)
			t.Logf("hostile input %s: upload %d %q", label, resp.StatusCode, problem.Detail)
			continue
		}
		if resp.StatusCode != http.StatusAccepted {
			t.Errorf("%s: upload status %d, want 202: %s", label, resp.StatusCode, data)
			continue
		}
		var doc documentView
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		if c.StoredFilename != "" && doc.Filename != c.StoredFilename {
			t.Errorf("%s: stored file name %q, want %q", label, doc.Filename, c.StoredFilename)
		}
		pending = append(pending, accepted{c: c, id: doc.ID})
	}

	for _, a := range pending {
		label := fmt.Sprintf("%s (%s)", a.c.What, a.c.File)
		doc := p.waitSettled(t, a.id)
		if doc.Status != a.c.Status {
			t.Errorf("%s: status %q, want %q (error %v)", label, doc.Status, a.c.Status, doc.Error)
			continue
		}
		reason := ""
		if doc.Error != nil {
			reason = *doc.Error
		}
		if reason != a.c.Reason {
			t.Errorf("%s: reason %q, want %q", label, reason, a.c.Reason)
		}
		checkNoLeak(t, label, []byte(reason), p.token)
		t.Logf("hostile input %s: upload 202, document %s %q", label, doc.Status, reason)
	}

	// The function is still up, and a normal document uploaded after all
	// of them is ingested and found.
	resp, data := p.do(t, http.MethodGet, "/api/health", nil, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("health after hostile uploads: %d %s", resp.StatusCode, data)
	}
	after := p.upload(t, filepath.Join(dir, "after_hostile.txt"))
	p.waitReady(t, []documentView{after})
	found := false
	for _, result := range p.search(t, "visitor badge at reception", 5) {
		found = found || result.DocumentID == after.ID
	}
	if !found {
		t.Error("search does not find the document uploaded after the hostile inputs")
	}

	sweepErrorResponses(t, p)

	// Documents that were ready stay ready: a later failure lost nothing.
	for _, a := range pending {
		if a.c.Status != "ready" {
			continue
		}
		if doc := p.waitSettled(t, a.id); doc.Status != "ready" {
			t.Errorf("%s: status %q after later uploads, want ready", a.c.File, doc.Status)
		}
	}
}

func TestRequestLimitsEndToEnd(t *testing.T) {
	p, standin, standinURL := startPlatform(t, map[string]string{
		"RATE_LIMIT_SEARCH_PER_USER":     "2",
		"RATE_LIMIT_WINDOW":              "1h",
		"MAX_DOCUMENTS_PER_ORGANIZATION": "1",
		"MAX_REQUEST_BODY_BYTES":         "2048",
		"CORS_ALLOWED_ORIGINS":           "https://app.contoso.example",
	})
	p.token = signIn(t, standin, standinURL, "Limits", "limits@contoso.example")
	dir := filepath.Join(repoRoot(t), "testdata", "hostile")

	// Search: two requests pass, the third gets 429 with Retry-After.
	for i := range 2 {
		resp, data := p.postJSON(t, "/api/search", map[string]any{"query": "badge", "top_k": 3})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("search %d: status %d: %s", i+1, resp.StatusCode, data)
		}
	}
	resp, data := p.postJSON(t, "/api/search", map[string]any{"query": "badge", "top_k": 3})
	checkProblem(t, "third search", resp, data, http.StatusTooManyRequests)
	if retryAfter := resp.Header.Get("Retry-After"); retryAfter == "" || retryAfter == "0" {
		t.Errorf("third search: Retry-After %q, want a positive number of seconds", retryAfter)
	}

	// Upload: the second document is over the organization's limit of 1.
	first, err := os.ReadFile(filepath.Join(dir, "long_name.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if resp, data := p.uploadAs(t, "first.txt", first); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("first upload: status %d: %s", resp.StatusCode, data)
	}
	second, err := os.ReadFile(filepath.Join(dir, "after_hostile.txt"))
	if err != nil {
		t.Fatal(err)
	}
	resp, data = p.uploadAs(t, "second.txt", second)
	problem := checkProblem(t, "upload over the document limit", resp, data, http.StatusForbidden)
	if !strings.Contains(problem.Detail, "limit of 1 documents") {
		t.Errorf("upload over the document limit: detail %q does not state the limit", problem.Detail)
	}

	// A JSON body over MAX_REQUEST_BODY_BYTES gets 413 before any handler.
	large := strings.NewReader(`{"title": "` + strings.Repeat("x", 4096) + `"}`)
	resp, data = p.do(t, http.MethodPost, "/api/conversations", large, "application/json")
	checkProblem(t, "large JSON body", resp, data, http.StatusRequestEntityTooLarge)

	// Security headers on an answer, CORS for the configured origin only.
	req, err := http.NewRequest(http.MethodGet, p.baseURL+"/api/health", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", "https://app.contoso.example")
	resp, err = p.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for name, want := range map[string]string{
		"X-Content-Type-Options":      "nosniff",
		"X-Frame-Options":             "DENY",
		"Referrer-Policy":             "no-referrer",
		"Access-Control-Allow-Origin": "https://app.contoso.example",
	} {
		if got := resp.Header.Get(name); got != want {
			t.Errorf("health: %s = %q, want %q", name, got, want)
		}
	}
	req.Header.Set("Origin", "https://evil.example")
	resp, err = p.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("health from another origin: Access-Control-Allow-Origin = %q, want none", got)
	}
}

// sweepErrorResponses sends hostile variants of a request to every HTTP
// route of function.json: no token, a forged token, malformed ids and
// malformed JSON. Every error answer must be problem+json and must not
// contain an internal path, a connection string, a key or the token.
func sweepErrorResponses(t *testing.T, p *platformUnderTest) {
	t.Helper()
	routes, _ := tenantRoutes(t)
	forged := "eyJhbGciOiJSUzI1NiIsImtpZCI6InNrX2xpdmVfeCJ9.eyJzdWIiOiJ1c2VyXzEifQ.c2tfbGl2ZV9zZWNyZXQ"
	ids := []string{"not-a-uuid", "00000000-0000-0000-0000-000000000000", "..%2F..%2Fetc%2Fpasswd", "%00"}

	errorCount := 0
	for _, route := range routes {
		method, path, _ := strings.Cut(route, " ")
		if path == "/api/auth/login" || path == "/api/auth/callback" {
			// Sign-in redirects to WorkOS rather than answering with JSON.
			continue
		}
		for _, id := range ids {
			target := strings.NewReplacer("{id}", id, "{asset?}", id).Replace(path)
			for _, token := range []string{"", forged, p.token} {
				if token == p.token && path == "/api/auth/logout" {
					// A signed-in logout would end the session the rest of
					// the test uses.
					continue
				}
				req, err := http.NewRequest(method, p.baseURL+target, strings.NewReader(`{"bad json`))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/json")
				if token != "" {
					req.Header.Set("Authorization", "Bearer "+token)
				}
				resp, err := p.client.Do(req)
				if err != nil {
					t.Fatalf("%s %s: %v", method, target, err)
				}
				data, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					t.Fatal(err)
				}
				if resp.StatusCode < 400 {
					continue
				}
				errorCount++
				label := fmt.Sprintf("%s %s (token %t)", method, target, token != "")
				checkNoLeak(t, label, data, p.token)
				checkNoLeak(t, label, data, forged)
				if string(data) == "404 page not found\n" {
					// The Functions host answers a path that matches no
					// route, such as an id with an encoded slash, itself:
					// the request never reaches the handler.
					continue
				}
				if got := resp.Header.Get("Content-Type"); got != "application/problem+json" {
					t.Errorf("%s: status %d with Content-Type %q, want application/problem+json", label, resp.StatusCode, got)
				}
			}
		}
	}
	if errorCount == 0 {
		t.Error("the sweep produced no error responses to check")
	}
	t.Logf("checked %d error responses from %d routes", errorCount, len(routes))
}
