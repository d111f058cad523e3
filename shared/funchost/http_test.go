package funchost_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/bondingai/platform/shared/funchost"
)

const documentsFunction = `{"bindings":[
	{"type":"httpTrigger","direction":"in","name":"req","authLevel":"function","methods":["get","post"],"route":"documents/{id}"},
	{"type":"http","direction":"out","name":"res"}]}`

const anyRouteFunction = `{"bindings":[
	{"type":"httpTrigger","direction":"in","name":"req","authLevel":"anonymous","route":"{*rest}"},
	{"type":"http","direction":"out","name":"res"}]}`

// noRedirects is a client that returns redirects instead of following them.
var noRedirects = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Timeout:       30 * time.Second,
}

func TestHostHTTPForwardsRequest(t *testing.T) {
	appDir := writeApp(t, testApp{Functions: map[string]string{"Documents": documentsFunction}})
	host := startHost(t, appDir, nil, nil)

	request, err := http.NewRequest(http.MethodPost, "http://"+host.Addr+"/api/documents/42?x=1&y=two", strings.NewReader(`{"title":"t"}`))
	if err != nil {
		t.Fatal(err)
	}
	request.Header.Set("X-Test", "value")
	request.Header.Set("Authorization", "Bearer token")
	response, err := noRedirects.Do(request)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer response.Body.Close()

	if response.StatusCode != http.StatusCreated {
		t.Errorf("status = %d, want the handler's 201", response.StatusCode)
	}
	if response.Header.Get("X-Fake-Handler") != "yes" {
		t.Errorf("handler response header not relayed: %v", response.Header)
	}
	var echoed struct {
		Method  string              `json:"method"`
		Path    string              `json:"path"`
		Query   string              `json:"query"`
		Headers map[string][]string `json:"headers"`
		Body    string              `json:"body"`
	}
	if err := json.NewDecoder(response.Body).Decode(&echoed); err != nil {
		t.Fatalf("decode echo: %v", err)
	}
	if echoed.Method != http.MethodPost {
		t.Errorf("method = %s, want POST", echoed.Method)
	}
	if echoed.Path != "/api/documents/42" {
		t.Errorf("path = %s, want /api/documents/42", echoed.Path)
	}
	if echoed.Query != "x=1&y=two" {
		t.Errorf("query = %s, want x=1&y=two", echoed.Query)
	}
	if echoed.Body != `{"title":"t"}` {
		t.Errorf("body = %s", echoed.Body)
	}
	if got := echoed.Headers["X-Test"]; len(got) != 1 || got[0] != "value" {
		t.Errorf("X-Test = %v, want [value]", got)
	}
	if got := echoed.Headers["Authorization"]; len(got) != 1 || got[0] != "Bearer token" {
		t.Errorf("Authorization = %v", got)
	}
	if got := echoed.Headers["X-Azure-Functions-Invocationid"]; len(got) != 1 || uuid.Validate(got[0]) != nil {
		t.Errorf("X-Azure-Functions-InvocationId = %v, want a UUID", got)
	}
	if got := echoed.Headers["X-Azure-Functions-Hostversion"]; len(got) != 1 || got[0] == "" {
		t.Errorf("X-Azure-Functions-HostVersion = %v", got)
	}
	if got := echoed.Headers["User-Agent"]; len(got) != 1 || !strings.HasPrefix(got[0], "Azure-Functions-Host/") {
		t.Errorf("User-Agent = %v, want Azure-Functions-Host/<version>", got)
	}
}

func TestHostHTTPUnknownRouteAndMethod(t *testing.T) {
	appDir := writeApp(t, testApp{Functions: map[string]string{"Documents": documentsFunction}})
	host := startHost(t, appDir, nil, nil)

	cases := []struct {
		method string
		path   string
		want   int
	}{
		{http.MethodGet, "/api/documents/42", http.StatusCreated},
		{http.MethodGet, "/API/Documents/42", http.StatusCreated},
		{http.MethodDelete, "/api/documents/42", http.StatusNotFound},
		{http.MethodGet, "/api/documents", http.StatusNotFound},
		{http.MethodGet, "/api/documents/42/extra", http.StatusNotFound},
		{http.MethodGet, "/documents/42", http.StatusNotFound},
		{http.MethodGet, "/api/unknown", http.StatusNotFound},
	}
	for _, c := range cases {
		request, err := http.NewRequest(c.method, "http://"+host.Addr+c.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		response, err := noRedirects.Do(request)
		if err != nil {
			t.Fatalf("%s %s: %v", c.method, c.path, err)
		}
		response.Body.Close()
		if response.StatusCode != c.want {
			t.Errorf("%s %s: status = %d, want %d", c.method, c.path, response.StatusCode, c.want)
		}
	}
}

func TestHostHTTPRelaysRedirectAndStatus(t *testing.T) {
	appDir := writeApp(t, testApp{
		Functions:  map[string]string{"Any": anyRouteFunction},
		Extensions: `{"http":{"routePrefix":""}}`,
	})
	host := startHost(t, appDir, nil, nil)

	response, err := noRedirects.Get("http://" + host.Addr + "/a/redirect")
	if err != nil {
		t.Fatalf("GET redirect: %v", err)
	}
	response.Body.Close()
	if response.StatusCode != http.StatusFound {
		t.Errorf("redirect status = %d, want 302 relayed", response.StatusCode)
	}
	if response.Header.Get("Location") != "/api/elsewhere" {
		t.Errorf("Location = %q", response.Header.Get("Location"))
	}
	if len(requestsTo(readRecords(t, host.Record), "/api/elsewhere")) != 0 {
		t.Error("host followed the handler's redirect")
	}

	response, err = noRedirects.Get("http://" + host.Addr + "/a/status/503")
	if err != nil {
		t.Fatalf("GET status: %v", err)
	}
	response.Body.Close()
	if response.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("status = %d, want the handler's 503", response.StatusCode)
	}
}

func TestHostHTTPStreamsResponse(t *testing.T) {
	release := filepath.Join(t.TempDir(), "release")
	appDir := writeApp(t, testApp{Functions: map[string]string{"Any": anyRouteFunction}})
	host := startHost(t, appDir, map[string]string{"FAKE_HANDLER_STREAM_RELEASE": release}, nil)

	response, err := noRedirects.Get("http://" + host.Addr + "/api/chat/stream")
	if err != nil {
		t.Fatalf("GET stream: %v", err)
	}
	defer response.Body.Close()
	reader := bufio.NewReader(response.Body)

	// The handler holds the second chunk until the release file exists, so
	// reading the first line proves the host flushed before the end.
	first, err := reader.ReadString('\n')
	if err != nil {
		t.Fatalf("read first chunk: %v", err)
	}
	if first != "first\n" {
		t.Errorf("first chunk = %q", first)
	}
	if err := os.WriteFile(release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(reader)
	if err != nil {
		t.Fatalf("read rest: %v", err)
	}
	if string(rest) != "second\n" {
		t.Errorf("second chunk = %q", rest)
	}
}

func TestHostHTTPBodyLimit(t *testing.T) {
	appDir := writeApp(t, testApp{Functions: map[string]string{"Any": anyRouteFunction}})
	host := startHost(t, appDir, map[string]string{"FUNCTIONS_REQUEST_BODY_SIZE_LIMIT": "16"}, nil)

	response, err := noRedirects.Post("http://"+host.Addr+"/api/upload", "text/plain", strings.NewReader(strings.Repeat("x", 17)))
	if err != nil {
		t.Fatalf("POST with Content-Length: %v", err)
	}
	response.Body.Close()
	if response.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("status with Content-Length over the limit = %d, want 413", response.StatusCode)
	}

	// Without Content-Length the limit applies while the body streams.
	chunked := io.MultiReader(strings.NewReader(strings.Repeat("y", 10)), strings.NewReader(strings.Repeat("z", 10)))
	request, err := http.NewRequest(http.MethodPost, "http://"+host.Addr+"/api/upload", chunked)
	if err != nil {
		t.Fatal(err)
	}
	request.ContentLength = -1
	response, err = noRedirects.Do(request)
	if err != nil {
		t.Fatalf("chunked POST: %v", err)
	}
	response.Body.Close()
	if response.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("status with a chunked body over the limit = %d, want 413", response.StatusCode)
	}

	response, err = noRedirects.Post("http://"+host.Addr+"/api/upload", "text/plain", strings.NewReader(strings.Repeat("x", 16)))
	if err != nil {
		t.Fatalf("POST at the limit: %v", err)
	}
	response.Body.Close()
	if response.StatusCode != http.StatusCreated {
		t.Errorf("status at the limit = %d, want 201", response.StatusCode)
	}
}

func TestHostHandlerEnvironmentAndReadiness(t *testing.T) {
	appDir := writeApp(t, testApp{Functions: map[string]string{"Any": anyRouteFunction}})
	host := startHost(t, appDir, map[string]string{
		"FAKE_SETTING":             "from-settings",
		"FAKE_HANDLER_START_DELAY": "700ms",
	}, nil)

	// Ready means the handler responded, so the first request must succeed
	// without any retry.
	response, err := noRedirects.Get("http://" + host.Addr + "/api/first")
	if err != nil {
		t.Fatalf("first request after ready: %v", err)
	}
	response.Body.Close()
	if response.StatusCode != http.StatusCreated {
		t.Errorf("first request status = %d, want 201", response.StatusCode)
	}

	var start *record
	for _, entry := range readRecords(t, host.Record) {
		if entry.Event == "start" {
			start = &entry
			break
		}
	}
	if start == nil {
		t.Fatal("fake handler recorded no start")
	}
	if start.Env["FUNCTIONS_CUSTOMHANDLER_PORT"] == "" {
		t.Error("FUNCTIONS_CUSTOMHANDLER_PORT not set")
	}
	if uuid.Validate(start.Env["FUNCTIONS_CUSTOMHANDLER_WORKER_ID"]) != nil {
		t.Errorf("FUNCTIONS_CUSTOMHANDLER_WORKER_ID = %q, want a UUID", start.Env["FUNCTIONS_CUSTOMHANDLER_WORKER_ID"])
	}
	if start.Env["FUNCTIONS_APP_ROOT_PATH"] != appDir {
		t.Errorf("FUNCTIONS_APP_ROOT_PATH = %q, want %q", start.Env["FUNCTIONS_APP_ROOT_PATH"], appDir)
	}
	if start.Env["FAKE_SETTING"] != "from-settings" {
		t.Errorf("setting not exported to the handler: FAKE_SETTING = %q", start.Env["FAKE_SETTING"])
	}

	waitFor(t, 5*time.Second, "handler stdout and stderr relayed to the host log", func() bool {
		var stdout, stderr bool
		for _, entry := range host.Logs.entries() {
			if entry["msg"] == "fake handler listening" && entry["level"] == "INFO" && entry["category"] == "Host.Function.Console" {
				stdout = true
			}
			if entry["msg"] == "warning: fake handler writes to stderr" && entry["level"] == "WARN" {
				stderr = true
			}
		}
		return stdout && stderr
	})
}

func TestHostRestartsExitedHandler(t *testing.T) {
	appDir := writeApp(t, testApp{Functions: map[string]string{"Any": anyRouteFunction}})
	host := startHost(t, appDir, nil, nil)

	response, err := noRedirects.Get("http://" + host.Addr + "/api/exit")
	if err != nil {
		t.Fatalf("GET exit: %v", err)
	}
	response.Body.Close()
	firstPID := requestsTo(readRecords(t, host.Record), "/api/exit")[0].PID

	var secondPID int
	waitFor(t, 20*time.Second, "handler restarted and answering", func() bool {
		response, err := noRedirects.Get("http://" + host.Addr + "/api/after")
		if err != nil {
			return false
		}
		response.Body.Close()
		if response.StatusCode != http.StatusCreated {
			return false
		}
		after := requestsTo(readRecords(t, host.Record), "/api/after")
		secondPID = after[len(after)-1].PID
		return secondPID != firstPID
	})
	starts := 0
	for _, entry := range readRecords(t, host.Record) {
		if entry.Event == "start" {
			starts++
		}
	}
	if starts != 2 {
		t.Errorf("handler started %d times, want 2", starts)
	}
}

func TestHostStopSendsSIGTERM(t *testing.T) {
	appDir := writeApp(t, testApp{Functions: map[string]string{"Any": anyRouteFunction}})
	host := startHost(t, appDir, nil, nil)

	if err := host.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	var sigterm bool
	for _, entry := range readRecords(t, host.Record) {
		if entry.Event == "sigterm" {
			sigterm = true
		}
	}
	if !sigterm {
		t.Error("handler did not receive SIGTERM on shutdown")
	}
}

func TestHostStopsAfterRepeatedHandlerFailures(t *testing.T) {
	cases := []struct {
		name             string
		settings         map[string]string
		shortInitTimeout bool
		want             string
	}{
		{"crash at start", map[string]string{"FAKE_HANDLER_CRASH": "true"}, false, "exited before it was ready"},
		{"initialization timeout", map[string]string{"FAKE_HANDLER_START_DELAY": "5s"}, true, "initializationTimeout"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			appDir := writeApp(t, testApp{Functions: map[string]string{"Any": anyRouteFunction}})
			if c.shortInitTimeout {
				overrideInitializationTimeout(t, appDir)
			}
			record := filepath.Join(t.TempDir(), "record.jsonl")
			settings := map[string]string{"FAKE_HANDLER_RECORD": record}
			for name, value := range c.settings {
				settings[name] = value
			}

			logs := &syncBuffer{}
			done := make(chan error, 1)
			go func() {
				done <- funchost.Run(context.Background(), funchost.Config{
					AppDir:   appDir,
					Settings: settings,
					Addr:     "127.0.0.1:0",
					Logger:   slog.New(slog.NewJSONHandler(logs, nil)),
					OnReady:  func(string) { t.Error("host reported ready with a failing handler") },
				})
			}()

			var err error
			select {
			case err = <-done:
			case <-time.After(60 * time.Second):
				t.Fatal("host still running after repeated handler failures")
			}
			if err == nil || !strings.Contains(err.Error(), "3 times") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Run error = %v, want one naming 3 failures and %q", err, c.want)
			}
			starts := 0
			for _, entry := range logs.entries() {
				if entry["msg"] == "custom handler started" {
					starts++
				}
			}
			if starts != 3 {
				t.Errorf("handler started %d times, want 3", starts)
			}
		})
	}
}

// overrideInitializationTimeout sets customHandler.initializationTimeout in
// the host.json of appDir to 300 ms.
func overrideInitializationTimeout(t *testing.T, appDir string) {
	t.Helper()
	path := filepath.Join(appDir, "host.json")
	content, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	updated := strings.Replace(string(content), `"enableForwardingHttpRequest": true`,
		`"enableForwardingHttpRequest": true, "initializationTimeout": "00:00:00.3"`, 1)
	if updated == string(content) {
		t.Fatal("host.json has no enableForwardingHttpRequest to extend")
	}
	if err := os.WriteFile(path, []byte(updated), 0o644); err != nil {
		t.Fatal(err)
	}
}
