package funchost_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bondingai/platform/shared/funchost"
)

// storageConnectionVariable names the environment variable with an Azurite
// connection string for the blob trigger tests.
const storageConnectionVariable = "BONDINGAI_TEST_STORAGE_CONNECTION"

var (
	buildOnce   sync.Once
	handlerPath string
	buildErr    error
)

// fakeHandler builds testdata/funchost/fakehandler once per test run.
func fakeHandler(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "fakehandler")
		if err != nil {
			buildErr = err
			return
		}
		handlerPath = filepath.Join(dir, "fakehandler")
		command := exec.Command("go", "build", "-o", handlerPath, "../../testdata/funchost/fakehandler")
		output, err := command.CombinedOutput()
		if err != nil {
			buildErr = errors.New(err.Error() + ": " + string(output))
		}
	})
	if buildErr != nil {
		t.Fatalf("build fake handler: %v", buildErr)
	}
	return handlerPath
}

// testApp describes a function app folder written for one test.
type testApp struct {
	// Functions maps a function name to its function.json content.
	Functions map[string]string
	// Extensions is the host.json "extensions" object, "{}" when empty.
	Extensions string
	// HostExtra is added to host.json at the top level, e.g. `"functionTimeout":"00:01:00",`.
	HostExtra string
}

func writeApp(t testing.TB, app testApp) string {
	t.Helper()
	dir := t.TempDir()
	extensions := app.Extensions
	if extensions == "" {
		extensions = "{}"
	}
	hostJSON := `{
		"version": "2.0",` + app.HostExtra + `
		"customHandler": {
			"description": {"defaultExecutablePath": "` + fakeHandler(t) + `"},
			"enableForwardingHttpRequest": true
		},
		"extensions": ` + extensions + `
	}`
	if err := os.WriteFile(filepath.Join(dir, "host.json"), []byte(hostJSON), 0o644); err != nil {
		t.Fatalf("write host.json: %v", err)
	}
	for name, functionJSON := range app.Functions {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatalf("create function folder %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, "function.json"), []byte(functionJSON), 0o644); err != nil {
			t.Fatalf("write function.json of %s: %v", name, err)
		}
	}
	return dir
}

// runningHost is a host started by startHost.
type runningHost struct {
	Addr    string
	Record  string
	Logs    *syncBuffer
	stop    context.CancelFunc
	stopped chan error
}

// Stop ends the host and returns Run's error.
func (h *runningHost) Stop() error {
	h.stop()
	select {
	case err := <-h.stopped:
		h.stopped <- err
		return err
	case <-time.After(60 * time.Second):
		return errors.New("host did not stop within 60 s")
	}
}

// startHost runs the host in-process on a free port and waits until it is
// ready. The record file of the fake handler is in the returned host.
func startHost(t testing.TB, appDir string, settings map[string]string, configure func(*funchost.Config)) *runningHost {
	t.Helper()
	record := filepath.Join(t.TempDir(), "record.jsonl")
	allSettings := map[string]string{
		"FUNCTIONS_WORKER_RUNTIME": "custom",
		"FAKE_HANDLER_RECORD":      record,
	}
	for name, value := range settings {
		allSettings[name] = value
	}

	logs := &syncBuffer{}
	ready := make(chan string, 1)
	config := funchost.Config{
		AppDir:            appDir,
		Settings:          allSettings,
		Addr:              "127.0.0.1:0",
		Logger:            slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		OnReady:           func(addr string) { ready <- addr },
		BlobPollInterval:  100 * time.Millisecond,
		QueuePollInterval: 200 * time.Millisecond,
	}
	if configure != nil {
		configure(&config)
	}

	ctx, cancel := context.WithCancel(context.Background())
	host := &runningHost{Record: record, Logs: logs, stop: cancel, stopped: make(chan error, 1)}
	go func() { host.stopped <- funchost.Run(ctx, config) }()
	t.Cleanup(func() {
		if err := host.Stop(); err != nil {
			t.Errorf("host stopped with error: %v", err)
		}
	})

	select {
	case host.Addr = <-ready:
	case err := <-host.stopped:
		host.stopped <- err
		t.Fatalf("host stopped before it was ready: %v\nlog:\n%s", err, logs.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("host not ready within 30 s\nlog:\n%s", logs.String())
	}
	return host
}

// syncBuffer is a bytes.Buffer safe for the host's concurrent log writes.
type syncBuffer struct {
	mu     sync.Mutex
	buffer bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buffer.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buffer.String()
}

// logEntries returns the host's JSON log lines.
func (b *syncBuffer) entries() []map[string]any {
	var entries []map[string]any
	scanner := bufio.NewScanner(strings.NewReader(b.String()))
	scanner.Buffer(make([]byte, 1024*1024), 16*1024*1024)
	for scanner.Scan() {
		var entry map[string]any
		if json.Unmarshal(scanner.Bytes(), &entry) == nil {
			entries = append(entries, entry)
		}
	}
	return entries
}

// record is one request the fake handler saw.
type record struct {
	Event   string              `json:"event"`
	PID     int                 `json:"pid"`
	Method  string              `json:"method"`
	Path    string              `json:"path"`
	Query   string              `json:"query"`
	Headers map[string][]string `json:"headers"`
	Body    string              `json:"body"`
	Env     map[string]string   `json:"env"`
	// InFlight counts the invocations running when this one started.
	InFlight int `json:"in_flight"`
}

// envelope decodes the body of a non-HTTP invocation.
func (r record) envelope(t *testing.T) map[string]map[string]json.RawMessage {
	t.Helper()
	var envelope map[string]map[string]json.RawMessage
	if err := json.Unmarshal([]byte(r.Body), &envelope); err != nil {
		t.Fatalf("decode invocation body %q: %v", r.Body, err)
	}
	return envelope
}

func readRecords(t *testing.T, path string) []record {
	t.Helper()
	content, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatalf("read records: %v", err)
	}
	var records []record
	for _, line := range bytes.Split(content, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var entry record
		if err := json.Unmarshal(line, &entry); err != nil {
			t.Fatalf("decode record %q: %v", line, err)
		}
		records = append(records, entry)
	}
	return records
}

// requestsTo returns the recorded requests to path.
func requestsTo(records []record, path string) []record {
	var matching []record
	for _, entry := range records {
		if entry.Event == "request" && entry.Path == path {
			matching = append(matching, entry)
		}
	}
	return matching
}

// waitFor polls condition every 20 ms until it returns true or timeout
// passes, then fails the test with message.
func waitFor(t *testing.T, timeout time.Duration, message string, condition func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	ticker := time.NewTicker(20 * time.Millisecond)
	defer ticker.Stop()
	for !condition() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s: %s", timeout, message)
		}
		<-ticker.C
	}
}

// waitForRequests waits until the fake handler recorded at least count
// requests to path and returns them.
func waitForRequests(t *testing.T, host *runningHost, path string, count int, timeout time.Duration) []record {
	t.Helper()
	var matching []record
	waitFor(t, timeout, "waiting for requests to "+path, func() bool {
		matching = requestsTo(readRecords(t, host.Record), path)
		return len(matching) >= count
	})
	return matching
}

// decodeString unmarshals a JSON string value.
func decodeString(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var value string
	if err := json.Unmarshal(raw, &value); err != nil {
		t.Fatalf("decode JSON string %s: %v", raw, err)
	}
	return value
}

func storageConnection(t *testing.T) string {
	t.Helper()
	connection := os.Getenv(storageConnectionVariable)
	if connection == "" {
		t.Fatalf("%s is not set: run the tests with scripts/test, which starts PostgreSQL and Azurite", storageConnectionVariable)
	}
	return connection
}
