// Command fakehandler is a stand-in custom handler for the funchost tests.
// It records every request it receives as one JSON line in the file named
// by FAKE_HANDLER_RECORD and behaves as the test settings ask:
//
//   - FAKE_HANDLER_START_DELAY: a Go duration to wait before listening.
//   - FAKE_HANDLER_FAIL: comma-separated function names that fail with status 500.
//   - FAKE_HANDLER_OUTPUTS_<Function>: JSON object returned as Outputs.
//   - FAKE_HANDLER_STREAM_RELEASE: a file whose creation lets /stream finish.
//   - FAKE_HANDLER_INVOKE_DELAY: a Go duration each invocation takes.
//   - FAKE_HANDLER_CRASH: when "true", exit with status 1 right after start.
//
// Each invocation record carries in_flight, the number of invocations
// running when it started, itself included.
//
// Forwarded HTTP requests are echoed as JSON, except .../redirect (302),
// .../stream (two flushed chunks), .../exit (responds, then exits with
// status 3) and .../status/<code>.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

var (
	recordMu sync.Mutex
	inFlight atomic.Int64
)

// record appends one JSON line to the record file.
func record(entry map[string]any) {
	path := os.Getenv("FAKE_HANDLER_RECORD")
	if path == "" {
		return
	}
	entry["pid"] = os.Getpid()
	line, err := json.Marshal(entry)
	if err != nil {
		fmt.Fprintln(os.Stderr, "encode record:", err)
		return
	}
	recordMu.Lock()
	defer recordMu.Unlock()
	file, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, "open record file:", err)
		return
	}
	defer file.Close()
	file.Write(append(line, '\n'))
}

func main() {
	if delay, err := time.ParseDuration(os.Getenv("FAKE_HANDLER_START_DELAY")); err == nil {
		time.Sleep(delay)
	}

	environment := map[string]string{}
	for _, name := range []string{"FUNCTIONS_CUSTOMHANDLER_PORT", "FUNCTIONS_CUSTOMHANDLER_WORKER_ID", "FUNCTIONS_APP_ROOT_PATH", "FAKE_SETTING"} {
		environment[name] = os.Getenv(name)
	}
	record(map[string]any{"event": "start", "env": environment})
	if os.Getenv("FAKE_HANDLER_CRASH") == "true" {
		fmt.Fprintln(os.Stderr, "fake handler crashes on purpose")
		os.Exit(1)
	}

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM)
	go func() {
		<-signals
		record(map[string]any{"event": "sigterm"})
		os.Exit(0)
	}()

	fmt.Println("fake handler listening")
	fmt.Fprintln(os.Stderr, "warning: fake handler writes to stderr")

	address := "127.0.0.1:" + os.Getenv("FUNCTIONS_CUSTOMHANDLER_PORT")
	if err := http.ListenAndServe(address, http.HandlerFunc(serve)); err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		os.Exit(1)
	}
}

func serve(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == "/" {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	function := strings.TrimPrefix(r.URL.Path, "/")
	isInvocation := r.Method == http.MethodPost && !strings.Contains(function, "/") && r.Header.Get("Content-Type") == "application/json"
	if isInvocation {
		defer inFlight.Add(-1)
	}
	entry := map[string]any{
		"in_flight": inFlight.Add(boolToInt(isInvocation)),
		"event":     "request",
		"method":    r.Method,
		"path":      r.URL.Path,
		"query":     r.URL.RawQuery,
		"headers":   r.Header,
		"body":      string(body),
	}
	record(entry)

	// Non-HTTP invocations are JSON POSTs to /<FunctionName>; anything
	// else is a forwarded HTTP request.
	if isInvocation {
		if delay, err := time.ParseDuration(os.Getenv("FAKE_HANDLER_INVOKE_DELAY")); err == nil {
			time.Sleep(delay)
		}
		serveInvocation(w, function)
		return
	}
	serveHTTPFunction(w, r, entry)
}

func serveHTTPFunction(w http.ResponseWriter, r *http.Request, entry map[string]any) {
	path := strings.ToLower(r.URL.Path)
	switch {
	case strings.HasSuffix(path, "/redirect"):
		w.Header().Set("Location", "/api/elsewhere")
		w.WriteHeader(http.StatusFound)
	case strings.HasSuffix(path, "/stream"):
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprintln(w, "first")
		http.NewResponseController(w).Flush()
		release := os.Getenv("FAKE_HANDLER_STREAM_RELEASE")
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			if _, err := os.Stat(release); err == nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		fmt.Fprintln(w, "second")
	case strings.HasSuffix(path, "/exit"):
		w.WriteHeader(http.StatusAccepted)
		http.NewResponseController(w).Flush()
		go func() {
			time.Sleep(50 * time.Millisecond)
			os.Exit(3)
		}()
	case strings.Contains(path, "/status/"):
		code, _ := strconv.Atoi(path[strings.LastIndex(path, "/")+1:])
		w.WriteHeader(code)
	default:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Fake-Handler", "yes")
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(entry)
	}
}

func serveInvocation(w http.ResponseWriter, function string) {
	if slices.Contains(strings.Split(os.Getenv("FAKE_HANDLER_FAIL"), ","), function) {
		http.Error(w, "function "+function+" fails on purpose", http.StatusInternalServerError)
		return
	}
	outputs := json.RawMessage(`{}`)
	if configured := os.Getenv("FAKE_HANDLER_OUTPUTS_" + function); configured != "" {
		outputs = json.RawMessage(configured)
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"Outputs":     outputs,
		"Logs":        []string{"handled " + function},
		"ReturnValue": nil,
	})
}

func boolToInt(value bool) int64 {
	if value {
		return 1
	}
	return 0
}
