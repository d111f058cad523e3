package llmtest_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bondingai/platform/shared/llm/llmtest"
)

// post sends a chat completions request with body to path on server.
func post(t *testing.T, server *llmtest.Server, path, body string, header map[string]string) *http.Response {
	t.Helper()
	request, err := http.NewRequest(http.MethodPost, server.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	request.Header.Set("Content-Type", "application/json")
	for name, value := range header {
		request.Header.Set(name, value)
	}
	response, err := server.Client().Do(request)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	t.Cleanup(func() { response.Body.Close() })
	return response
}

const plainBody = `{"model":"m","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"How many days?"}]}`

const streamBody = `{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"How many days?"}]}`

// readEvents returns the data of every event in a stream.
func readEvents(t *testing.T, body io.Reader) []string {
	t.Helper()
	var events []string
	scanner := bufio.NewScanner(body)
	for scanner.Scan() {
		if data, ok := strings.CutPrefix(scanner.Text(), "data: "); ok {
			events = append(events, data)
		}
	}
	if err := scanner.Err(); err != nil {
		t.Fatalf("read stream: %v", err)
	}
	return events
}

type chunk struct {
	Choices []struct {
		Delta struct {
			Content string `json:"content"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
}

func TestServerPlainCompletion(t *testing.T) {
	server := llmtest.NewServer(t, llmtest.WithAnswer("Twenty-five days."))

	response := post(t, server, "/v1/chat/completions", plainBody, nil)
	if response.StatusCode != http.StatusOK {
		t.Fatalf("status = %d", response.StatusCode)
	}
	var body struct {
		Object  string `json:"object"`
		Model   string `json:"model"`
		Choices []struct {
			Message struct {
				Role    string `json:"role"`
				Content string `json:"content"`
			} `json:"message"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
		Usage struct {
			PromptTokens     int `json:"prompt_tokens"`
			CompletionTokens int `json:"completion_tokens"`
			TotalTokens      int `json:"total_tokens"`
		} `json:"usage"`
	}
	if err := json.NewDecoder(response.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}

	if body.Object != "chat.completion" || body.Model != "m" {
		t.Errorf("object, model = %q, %q", body.Object, body.Model)
	}
	if len(body.Choices) != 1 || body.Choices[0].Message.Content != "Twenty-five days." || body.Choices[0].Message.Role != "assistant" {
		t.Fatalf("choices = %+v", body.Choices)
	}
	if body.Choices[0].FinishReason != "stop" {
		t.Errorf("finish_reason = %q", body.Choices[0].FinishReason)
	}
	// Five words in the messages, two deltas in the completion.
	if body.Usage.PromptTokens != 5 || body.Usage.CompletionTokens != 2 || body.Usage.TotalTokens != 7 {
		t.Errorf("usage = %+v", body.Usage)
	}

	recorded := server.LastRequest()
	if recorded.Path != "/v1/chat/completions" || recorded.Body.Model != "m" || len(recorded.Body.Messages) != 2 {
		t.Errorf("recorded = %+v", recorded)
	}
	if got := recorded.LastUserMessage(); got != "How many days?" {
		t.Errorf("LastUserMessage = %q", got)
	}
}

func TestServerStreamedCompletion(t *testing.T) {
	server := llmtest.NewServer(t)
	server.Enqueue(llmtest.Reply{Deltas: []string{"Twenty", "-five", " days."}, Usage: &llmtest.Usage{PromptTokens: 40, CompletionTokens: 3}})

	response := post(t, server, "/openai/deployments/chat/chat/completions?api-version=2024-10-21", streamBody, nil)
	if got := response.Header.Get("Content-Type"); got != "text/event-stream" {
		t.Errorf("Content-Type = %q", got)
	}
	events := readEvents(t, response.Body)

	// Role chunk, three deltas, finish chunk, usage chunk, [DONE].
	if len(events) != 7 {
		t.Fatalf("events = %q, want 7", events)
	}
	if events[6] != "[DONE]" {
		t.Errorf("last event = %q, want [DONE]", events[6])
	}
	var text strings.Builder
	for _, event := range events[1:4] {
		var c chunk
		if err := json.Unmarshal([]byte(event), &c); err != nil {
			t.Fatal(err)
		}
		text.WriteString(c.Choices[0].Delta.Content)
	}
	if text.String() != "Twenty-five days." {
		t.Errorf("streamed text = %q", text.String())
	}
	var finish, usage chunk
	json.Unmarshal([]byte(events[4]), &finish)
	json.Unmarshal([]byte(events[5]), &usage)
	if len(finish.Choices) != 1 || finish.Choices[0].FinishReason == nil || *finish.Choices[0].FinishReason != "stop" {
		t.Errorf("finish event = %s", events[4])
	}
	if len(usage.Choices) != 0 || usage.Usage == nil || usage.Usage.PromptTokens != 40 || usage.Usage.CompletionTokens != 3 {
		t.Errorf("usage event = %s", events[5])
	}
	if got := server.LastRequest().Query.Get("api-version"); got != "2024-10-21" {
		t.Errorf("api-version = %q", got)
	}
}

func TestServerStreamWithoutUsageOption(t *testing.T) {
	server := llmtest.NewServer(t, llmtest.WithAnswer("One two"))
	response := post(t, server, "/chat/completions", `{"stream":true,"messages":[{"role":"user","content":"Hi"}]}`, nil)

	events := readEvents(t, response.Body)
	for _, event := range events {
		if strings.Contains(event, `"usage"`) {
			t.Errorf("event %s carries usage without stream_options.include_usage", event)
		}
	}
	if len(events) != 5 {
		t.Errorf("events = %q, want role, 2 deltas, finish, [DONE]", events)
	}
}

func TestServerQueueBeforeResponder(t *testing.T) {
	server := llmtest.NewServer(t, llmtest.WithResponder(func(r llmtest.Request) llmtest.Reply {
		return llmtest.Reply{Content: "You asked: " + r.LastUserMessage()}
	}))
	server.Enqueue(llmtest.RateLimited("7"), llmtest.ServerError())

	first := post(t, server, "/chat/completions", plainBody, nil)
	if first.StatusCode != http.StatusTooManyRequests || first.Header.Get("Retry-After") != "7" {
		t.Errorf("first: status %d, Retry-After %q", first.StatusCode, first.Header.Get("Retry-After"))
	}
	second := post(t, server, "/chat/completions", plainBody, nil)
	if second.StatusCode != http.StatusInternalServerError {
		t.Errorf("second: status %d", second.StatusCode)
	}
	var errorBody struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	json.NewDecoder(second.Body).Decode(&errorBody)
	if errorBody.Error.Code != "server_error" {
		t.Errorf("second: error code %q", errorBody.Error.Code)
	}
	third := post(t, server, "/chat/completions", plainBody, nil)
	raw, _ := io.ReadAll(third.Body)
	if third.StatusCode != http.StatusOK || !strings.Contains(string(raw), "You asked: How many days?") {
		t.Errorf("third: status %d, body %s", third.StatusCode, raw)
	}
	if got := len(server.Requests()); got != 3 {
		t.Errorf("recorded %d requests, want 3", got)
	}
}

func TestServerAPIKey(t *testing.T) {
	server := llmtest.NewServer(t, llmtest.WithAPIKey("secret"))

	tests := []struct {
		name   string
		header map[string]string
		want   int
	}{
		{"none", nil, http.StatusUnauthorized},
		{"wrong bearer", map[string]string{"Authorization": "Bearer nope"}, http.StatusUnauthorized},
		{"api-key header", map[string]string{"api-key": "secret"}, http.StatusOK},
		{"bearer", map[string]string{"Authorization": "Bearer secret"}, http.StatusOK},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			if got := post(t, server, "/chat/completions", plainBody, test.header).StatusCode; got != test.want {
				t.Errorf("status = %d, want %d", got, test.want)
			}
		})
	}
}

func TestServerRejectsBadRequests(t *testing.T) {
	server := llmtest.NewServer(t)

	if got := post(t, server, "/v1/embeddings", plainBody, nil).StatusCode; got != http.StatusNotFound {
		t.Errorf("other path: status %d, want 404", got)
	}
	if got := post(t, server, "/chat/completions", "{", nil).StatusCode; got != http.StatusBadRequest {
		t.Errorf("invalid JSON: status %d, want 400", got)
	}
	if got := post(t, server, "/chat/completions", `{"messages":[]}`, nil).StatusCode; got != http.StatusBadRequest {
		t.Errorf("no messages: status %d, want 400", got)
	}
}

func TestServerCutAfterDeltas(t *testing.T) {
	server := llmtest.NewServer(t)
	server.Enqueue(llmtest.Reply{Deltas: []string{"a", "b", "c"}, CutAfterDeltas: 2})

	response := post(t, server, "/chat/completions", streamBody, nil)
	raw, err := io.ReadAll(response.Body)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("read error = %v, want io.ErrUnexpectedEOF", err)
	}
	if strings.Contains(string(raw), `"c"`) || strings.Contains(string(raw), "[DONE]") {
		t.Errorf("body after the cut: %s", raw)
	}
	if !strings.Contains(string(raw), `"content":"b"`) {
		t.Errorf("body lacks the second delta: %s", raw)
	}
}

func TestServerDelayEndsWithClient(t *testing.T) {
	server := llmtest.NewServer(t)
	server.Enqueue(llmtest.Reply{Content: "late", Delay: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()

	request, _ := http.NewRequestWithContext(ctx, http.MethodPost, server.URL+"/chat/completions", strings.NewReader(plainBody))
	_, err := server.Client().Do(request)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want context.DeadlineExceeded", err)
	}
	// The server must not hold the request for the hour: Close in
	// t.Cleanup blocks until every handler returns, so a stuck handler
	// would hang the test instead of passing it.
}

func TestServerRawBody(t *testing.T) {
	server := llmtest.NewServer(t)
	server.Enqueue(llmtest.Reply{RawBody: "data: {broken\n\n"}, llmtest.Reply{RawBody: "not json"})

	streamed := post(t, server, "/chat/completions", streamBody, nil)
	raw, _ := io.ReadAll(streamed.Body)
	if string(raw) != "data: {broken\n\n" || streamed.Header.Get("Content-Type") != "text/event-stream" {
		t.Errorf("streamed raw body = %q, type %q", raw, streamed.Header.Get("Content-Type"))
	}
	plain := post(t, server, "/chat/completions", plainBody, nil)
	raw, _ = io.ReadAll(plain.Body)
	if string(raw) != "not json" || plain.Header.Get("Content-Type") != "application/json" {
		t.Errorf("plain raw body = %q, type %q", raw, plain.Header.Get("Content-Type"))
	}
}
