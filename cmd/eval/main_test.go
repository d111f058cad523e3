package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeAPI serves the three routes eval calls. Answers cite page 1 of
// handbook.pdf and contain "20 days"; search ranks the handbook's page 2
// first and page 1 second.
func fakeAPI(t *testing.T, token string) *httptest.Server {
	t.Helper()
	page1, page2 := 1, 2
	answer := map[string]any{
		"message":   map[string]any{"id": "m1", "content": "You get 20 days [1]."},
		"citations": []map[string]any{{"filename": "handbook.pdf", "page": page1}},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/search", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"results": []map[string]any{
			{"filename": "handbook.pdf", "page": page2}, {"filename": "handbook.pdf", "page": page1},
		}})
	})
	mux.HandleFunc("POST /api/conversations", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"id":"c1"}`)
	})
	mux.HandleFunc("POST /api/conversations/c1/messages", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept") == "text/event-stream" {
			w.Header().Set("Content-Type", "text/event-stream")
			data, _ := json.Marshal(answer)
			fmt.Fprintf(w, "event: context\ndata: {}\n\nevent: delta\ndata: {\"text\":\"x\"}\n\nevent: done\ndata: %s\n\n", data)
			return
		}
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(answer)
	})
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, `{"detail":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(server.Close)
	return server
}

func writeQuestions(t *testing.T, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "questions.jsonl")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestEvaluateReportsMetrics(t *testing.T) {
	server := fakeAPI(t, "tok")
	path := writeQuestions(t,
		`{"question": "How many days?", "file": "handbook.pdf", "page": 1, "answer_contains": "20 days"}`,
		``,
		`{"question": "Hotel limit?", "file": "expenses.docx", "page": null, "answer_contains": "$200"}`)
	questions, err := readQuestions(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, stream := range []bool{false, true} {
		client := &apiClient{baseURL: server.URL, token: "tok", http: server.Client()}
		results, err := evaluate(context.Background(), client, questions, stream)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		printReport(&out, questions, results, options{file: path, baseURL: server.URL, stream: stream}, client.rateLimitWaits)
		report := out.String()
		for _, want := range []string{
			"| retrieval hit rate at 1 | 0/2 (0%) |",
			"| retrieval hit rate at 3 | 1/2 (50%) |",
			"| answers citing the expected file and page | 1/2 (50%) |",
			"| answers containing answer_contains | 1/2 (50%) |",
			"| answer latency p95 |",
		} {
			if !strings.Contains(report, want) {
				t.Errorf("stream %v: report lacks %q:\n%s", stream, want, report)
			}
		}
	}
}

func TestAskWaitsOutRateLimit(t *testing.T) {
	calls := 0
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls <= 2 {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"message":{"id":"m1","content":"ok"},"citations":[]}`)
	}))
	t.Cleanup(server.Close)
	var waits []time.Duration
	client := &apiClient{baseURL: server.URL, token: "tok", http: server.Client(),
		sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }}

	answer, _, err := client.ask(context.Background(), "c1", "q", false)
	if err != nil {
		t.Fatal(err)
	}
	if answer.Message.Content != "ok" {
		t.Errorf("content = %q", answer.Message.Content)
	}
	if len(waits) != 2 || waits[0] != 7*time.Second || client.rateLimitWaits != 2 {
		t.Errorf("waits = %v (%d counted), want two of 7s", waits, client.rateLimitWaits)
	}
}

func TestAskGivesUpAfterRetries(t *testing.T) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, `{"detail":"slow down"}`)
	}))
	t.Cleanup(server.Close)
	client := &apiClient{baseURL: server.URL, token: "tok", http: server.Client(),
		sleep: func(context.Context, time.Duration) error { return nil }}
	_, _, err := client.ask(context.Background(), "c1", "q", false)
	if err == nil || !strings.Contains(err.Error(), "429") {
		t.Errorf("err = %v, want the 429 status", err)
	}
	if client.rateLimitWaits != rateLimitRetriesMax {
		t.Errorf("waited %d times, want %d", client.rateLimitWaits, rateLimitRetriesMax)
	}
}

func TestEvaluateRejectedToken(t *testing.T) {
	server := fakeAPI(t, "tok")
	client := &apiClient{baseURL: server.URL, token: "wrong", http: server.Client()}
	_, err := evaluate(context.Background(), client, []question{{Question: "q", File: "f"}}, false)
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("err = %v, want the 401 status", err)
	}
}

func TestReadQuestionsRejectsBadLines(t *testing.T) {
	for name, line := range map[string]string{"invalid JSON": `{"question":`, "missing file": `{"question": "q"}`} {
		if _, err := readQuestions(writeQuestions(t, line)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := readQuestions(writeQuestions(t, "")); err == nil {
		t.Error("empty file: no error")
	}
}

func TestParseOptionsFileBeforeFlags(t *testing.T) {
	opts, err := parseOptions([]string{"q.jsonl", "--base-url", "http://127.0.0.1:1", "--token", "t", "--stream"})
	if err != nil {
		t.Fatal(err)
	}
	if opts.file != "q.jsonl" || opts.baseURL != "http://127.0.0.1:1" || opts.token != "t" || !opts.stream {
		t.Errorf("options = %+v", opts)
	}
	if _, err := parseOptions([]string{"--token", "t"}); err == nil {
		t.Error("no file: no error")
	}
}

func TestPercentileNearestRank(t *testing.T) {
	values := []time.Duration{5, 1, 4, 2, 3, 6, 7, 8, 9, 10}
	if got := percentile(values, 50); got != 5 {
		t.Errorf("p50 = %d, want 5", got)
	}
	if got := percentile(values, 95); got != 10 {
		t.Errorf("p95 = %d, want 10", got)
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("p50 of nothing = %d", got)
	}
}
