package openai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/bondingai/platform/shared/llm"
	"github.com/bondingai/platform/shared/llm/llmtest"
)

// sleepRecorder replaces Client.sleep so retries take no wall time.
type sleepRecorder struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleepRecorder) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleepRecorder) recorded() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func azureConfig(endpoint string) Config {
	return Config{
		Provider:   ProviderAzureOpenAI,
		Endpoint:   endpoint,
		Deployment: "gpt-4o-mini",
		APIKey:     "azure-test-key",
		Logger:     quietLogger(),
	}
}

func compatibleConfig(endpoint string) Config {
	return Config{
		Provider: ProviderOpenAICompatible,
		Endpoint: endpoint,
		Model:    "llama-3.1-8b-instruct",
		APIKey:   "compatible-test-key",
		Logger:   quietLogger(),
	}
}

func newTestClient(t *testing.T, cfg Config) (*Client, *sleepRecorder) {
	t.Helper()
	client, err := New(cfg, &http.Client{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	recorder := &sleepRecorder{}
	client.sleep = recorder.sleep
	return client, recorder
}

func question(text string) llm.Request {
	return llm.Request{Messages: []llm.Message{
		{Role: llm.RoleSystem, Content: "Answer from the sources."},
		{Role: llm.RoleUser, Content: text},
	}}
}

// collect returns an onDelta that appends to deltas.
func collect(deltas *[]string) func(string) error {
	return func(delta string) error {
		*deltas = append(*deltas, delta)
		return nil
	}
}

func TestCompleteAzureRequestShape(t *testing.T) {
	server := llmtest.NewServer(t, llmtest.WithAnswer("Employees get 25 days [1]."), llmtest.WithAPIKey("azure-test-key"))
	client, _ := newTestClient(t, azureConfig(server.URL+"/"))
	temperature := 0.2
	req := question("How many vacation days?")
	req.MaxTokens = 300
	req.Temperature = &temperature

	response, err := client.Complete(context.Background(), req)
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}

	if response.Content != "Employees get 25 days [1]." {
		t.Errorf("Content = %q", response.Content)
	}
	if response.FinishReason != "stop" {
		t.Errorf("FinishReason = %q, want stop", response.FinishReason)
	}
	if response.Model != llmtest.ModelDefault {
		t.Errorf("Model = %q, want %q", response.Model, llmtest.ModelDefault)
	}
	// llmtest counts one prompt token per word of the messages and one
	// completion token per delta.
	if response.UsageEstimated || response.Usage.PromptTokens != 8 || response.Usage.CompletionTokens != 5 {
		t.Errorf("Usage = %+v estimated=%v, want the server's 8 prompt and 5 completion tokens", response.Usage, response.UsageEstimated)
	}
	if got := client.Name(); got != "azure-openai/gpt-4o-mini" {
		t.Errorf("Name = %q", got)
	}

	recorded := server.LastRequest()
	if recorded.Path != "/openai/deployments/gpt-4o-mini/chat/completions" {
		t.Errorf("path = %q", recorded.Path)
	}
	if got := recorded.Query.Get("api-version"); got != APIVersionDefault {
		t.Errorf("api-version = %q, want %q", got, APIVersionDefault)
	}
	if got := recorded.Header.Get("api-key"); got != "azure-test-key" {
		t.Errorf("api-key header = %q", got)
	}
	if got := recorded.Header.Get("Authorization"); got != "" {
		t.Errorf("Authorization header = %q, want none with an API key", got)
	}
	if recorded.Body.Model != "" {
		t.Errorf("body model = %q, want none for Azure", recorded.Body.Model)
	}
	if recorded.Body.Stream || recorded.Body.StreamOptions != nil {
		t.Errorf("stream = %v, stream_options = %+v, want neither", recorded.Body.Stream, recorded.Body.StreamOptions)
	}
	if recorded.Body.MaxTokens == nil || *recorded.Body.MaxTokens != 300 {
		t.Errorf("max_tokens = %v, want 300", recorded.Body.MaxTokens)
	}
	if recorded.Body.Temperature == nil || *recorded.Body.Temperature != 0.2 {
		t.Errorf("temperature = %v, want 0.2", recorded.Body.Temperature)
	}
	wantMessages := []llmtest.Message{{Role: "system", Content: "Answer from the sources."}, {Role: "user", Content: "How many vacation days?"}}
	if len(recorded.Body.Messages) != 2 || recorded.Body.Messages[0] != wantMessages[0] || recorded.Body.Messages[1] != wantMessages[1] {
		t.Errorf("messages = %+v, want %+v", recorded.Body.Messages, wantMessages)
	}
}

func TestCompleteCompatibleRequestShape(t *testing.T) {
	server := llmtest.NewServer(t, llmtest.WithAnswer("Yes."), llmtest.WithAPIKey("compatible-test-key"))

	for _, base := range []string{server.URL, server.URL + "/v1", server.URL + "/v1/"} {
		client, _ := newTestClient(t, compatibleConfig(base))
		response, err := client.Complete(context.Background(), question("Is parking free?"))
		if err != nil {
			t.Fatalf("Complete with base %s: %v", base, err)
		}
		if response.Content != "Yes." {
			t.Errorf("Content = %q", response.Content)
		}

		recorded := server.LastRequest()
		if recorded.Path != "/v1/chat/completions" {
			t.Errorf("base %s: path = %q, want /v1/chat/completions", base, recorded.Path)
		}
		if got := recorded.Header.Get("Authorization"); got != "Bearer compatible-test-key" {
			t.Errorf("Authorization = %q", got)
		}
		if got := recorded.Header.Get("api-key"); got != "" {
			t.Errorf("api-key = %q, want none", got)
		}
		if recorded.Body.Model != "llama-3.1-8b-instruct" {
			t.Errorf("body model = %q", recorded.Body.Model)
		}
		if recorded.Body.MaxTokens != nil || recorded.Body.Temperature != nil {
			t.Errorf("max_tokens = %v, temperature = %v, want both absent when unset", recorded.Body.MaxTokens, recorded.Body.Temperature)
		}
		if response.Model != "llama-3.1-8b-instruct" {
			t.Errorf("Model = %q", response.Model)
		}
	}
	if got := len(server.Requests()); got != 3 {
		t.Errorf("server received %d requests, want 3", got)
	}
}

func TestCompleteCompatibleWithoutKey(t *testing.T) {
	server := llmtest.NewServer(t)
	cfg := compatibleConfig(server.URL)
	cfg.APIKey = ""
	client, _ := newTestClient(t, cfg)

	if _, err := client.Complete(context.Background(), question("Hello?")); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if got := server.LastRequest().Header.Get("Authorization"); got != "" {
		t.Errorf("Authorization = %q, want none without a key", got)
	}
}

// fakeCredential returns a fixed token and records the scopes asked for.
type fakeCredential struct {
	mu     sync.Mutex
	scopes [][]string
	err    error
}

func (f *fakeCredential) GetToken(_ context.Context, options policy.TokenRequestOptions) (azcore.AccessToken, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scopes = append(f.scopes, options.Scopes)
	if f.err != nil {
		return azcore.AccessToken{}, f.err
	}
	return azcore.AccessToken{Token: "entra-token", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func TestCompleteEntraIDToken(t *testing.T) {
	server := llmtest.NewServer(t, llmtest.WithAPIKey("entra-token"))
	credential := &fakeCredential{}
	cfg := azureConfig(server.URL)
	cfg.APIKey = ""
	cfg.Credential = credential
	client, _ := newTestClient(t, cfg)

	if _, err := client.Complete(context.Background(), question("Hello?")); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	recorded := server.LastRequest()
	if got := recorded.Header.Get("Authorization"); got != "Bearer entra-token" {
		t.Errorf("Authorization = %q, want the Entra ID token", got)
	}
	if got := recorded.Header.Get("api-key"); got != "" {
		t.Errorf("api-key = %q, want none with a credential", got)
	}
	if len(credential.scopes) != 1 || len(credential.scopes[0]) != 1 || credential.scopes[0][0] != "https://cognitiveservices.azure.com/.default" {
		t.Errorf("scopes = %v", credential.scopes)
	}
}

func TestCompleteCredentialFailure(t *testing.T) {
	server := llmtest.NewServer(t)
	cfg := azureConfig(server.URL)
	cfg.APIKey = ""
	cfg.Credential = &fakeCredential{err: errors.New("no managed identity endpoint")}
	client, _ := newTestClient(t, cfg)

	_, err := client.Complete(context.Background(), question("Hello?"))
	if err == nil || !strings.Contains(err.Error(), "no managed identity endpoint") {
		t.Fatalf("err = %v, want the credential's error", err)
	}
	if got := len(server.Requests()); got != 0 {
		t.Errorf("server received %d requests, want 0", got)
	}
}

func TestStreamDeltasInOrderWithUsage(t *testing.T) {
	server := llmtest.NewServer(t)
	server.Enqueue(llmtest.Reply{
		Deltas: []string{"Employees ", "get ", "25 ", "days ", "[1]."},
		Usage:  &llmtest.Usage{PromptTokens: 812, CompletionTokens: 9},
	})
	client, _ := newTestClient(t, azureConfig(server.URL))

	var deltas []string
	response, err := client.Stream(context.Background(), question("How many vacation days?"), collect(&deltas))
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}

	want := []string{"Employees ", "get ", "25 ", "days ", "[1]."}
	if strings.Join(deltas, "|") != strings.Join(want, "|") {
		t.Errorf("deltas = %q, want %q", deltas, want)
	}
	if response.Content != "Employees get 25 days [1]." {
		t.Errorf("Content = %q", response.Content)
	}
	if response.Usage != (llm.Usage{PromptTokens: 812, CompletionTokens: 9}) || response.UsageEstimated {
		t.Errorf("Usage = %+v estimated=%v, want the final chunk's 812 and 9", response.Usage, response.UsageEstimated)
	}
	if response.FinishReason != "stop" {
		t.Errorf("FinishReason = %q", response.FinishReason)
	}
	if response.Model != llmtest.ModelDefault {
		t.Errorf("Model = %q", response.Model)
	}

	recorded := server.LastRequest()
	if !recorded.Body.Stream {
		t.Error("request did not set stream")
	}
	if recorded.Body.StreamOptions == nil || !recorded.Body.StreamOptions.IncludeUsage {
		t.Errorf("stream_options = %+v, want include_usage", recorded.Body.StreamOptions)
	}
	if got := recorded.Header.Get("Accept"); got != "text/event-stream" {
		t.Errorf("Accept = %q", got)
	}
}

func TestStreamWithoutUsageEstimates(t *testing.T) {
	server := llmtest.NewServer(t)
	server.Enqueue(llmtest.Reply{Content: "Twenty-five days per year.", OmitUsage: true, FinishReason: "length"})
	client, _ := newTestClient(t, compatibleConfig(server.URL))
	req := question("How many vacation days?")

	var deltas []string
	response, err := client.Stream(context.Background(), req, collect(&deltas))
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}

	if !response.UsageEstimated {
		t.Error("UsageEstimated = false for a stream without usage")
	}
	// 26 bytes of content at four bytes per token, rounded up.
	if response.Usage.CompletionTokens != 7 {
		t.Errorf("CompletionTokens = %d, want the estimate 7", response.Usage.CompletionTokens)
	}
	// (24+3)/4+4 for the system message and (23+3)/4+4 for the question.
	if response.Usage.PromptTokens != 20 {
		t.Errorf("PromptTokens = %d, want the estimate 20", response.Usage.PromptTokens)
	}
	if response.FinishReason != "length" {
		t.Errorf("FinishReason = %q, want length", response.FinishReason)
	}
	if len(deltas) != 4 {
		t.Errorf("deltas = %q, want one per word", deltas)
	}
}

func TestCompleteWithoutUsageEstimates(t *testing.T) {
	server := llmtest.NewServer(t)
	server.Enqueue(llmtest.Reply{Content: "Yes.", OmitUsage: true})
	client, _ := newTestClient(t, compatibleConfig(server.URL))

	response, err := client.Complete(context.Background(), question("Is parking free?"))
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if !response.UsageEstimated || response.Usage.CompletionTokens != 1 {
		t.Errorf("Usage = %+v estimated=%v, want an estimate of 1 completion token", response.Usage, response.UsageEstimated)
	}
}

func TestCompleteRetryAfterThenSuccess(t *testing.T) {
	tests := []struct {
		name  string
		reply llmtest.Reply
		want  time.Duration
	}{
		{"retry-after seconds", llmtest.RateLimited("2"), 2 * time.Second},
		{"retry-after-ms", llmtest.Reply{Status: http.StatusTooManyRequests, RetryAfterMS: "1500", RetryAfter: "2"}, 1500 * time.Millisecond},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			server := llmtest.NewServer(t, llmtest.WithAnswer("Done."))
			server.Enqueue(test.reply)
			client, recorder := newTestClient(t, azureConfig(server.URL))

			response, err := client.Complete(context.Background(), question("Hello?"))
			if err != nil {
				t.Fatalf("Complete: %v", err)
			}
			if response.Content != "Done." {
				t.Errorf("Content = %q", response.Content)
			}
			if got := len(server.Requests()); got != 2 {
				t.Errorf("server received %d requests, want 2", got)
			}
			waits := recorder.recorded()
			if len(waits) != 1 || waits[0] != test.want {
				t.Errorf("waits = %v, want [%s]", waits, test.want)
			}
		})
	}
}

func TestStreamRateLimitedThenSuccess(t *testing.T) {
	server := llmtest.NewServer(t, llmtest.WithAnswer("Streamed after a wait."))
	server.Enqueue(llmtest.RateLimited("3"))
	client, recorder := newTestClient(t, compatibleConfig(server.URL))

	var deltas []string
	response, err := client.Stream(context.Background(), question("Hello?"), collect(&deltas))
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	if response.Content != "Streamed after a wait." || strings.Join(deltas, "") != response.Content {
		t.Errorf("Content = %q, deltas = %q", response.Content, deltas)
	}
	if waits := recorder.recorded(); len(waits) != 1 || waits[0] != 3*time.Second {
		t.Errorf("waits = %v, want [3s]", waits)
	}
}

func TestCompleteServerErrorThenSuccess(t *testing.T) {
	server := llmtest.NewServer(t, llmtest.WithAnswer("Recovered."))
	server.Enqueue(llmtest.ServerError(), llmtest.Reply{Status: http.StatusServiceUnavailable})
	cfg := azureConfig(server.URL)
	cfg.InitialBackoff = 100 * time.Millisecond
	client, recorder := newTestClient(t, cfg)

	response, err := client.Complete(context.Background(), question("Hello?"))
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if response.Content != "Recovered." {
		t.Errorf("Content = %q", response.Content)
	}
	waits := recorder.recorded()
	if len(waits) != 2 {
		t.Fatalf("waits = %v, want 2", waits)
	}
	// Backoff with jitter: the first wait in [50ms, 100ms), the second in
	// [100ms, 200ms).
	if waits[0] < 50*time.Millisecond || waits[0] >= 100*time.Millisecond {
		t.Errorf("first wait = %s, want [50ms, 100ms)", waits[0])
	}
	if waits[1] < 100*time.Millisecond || waits[1] >= 200*time.Millisecond {
		t.Errorf("second wait = %s, want [100ms, 200ms)", waits[1])
	}
}

func TestCompleteGivesUpAfterMaxAttempts(t *testing.T) {
	server := llmtest.NewServer(t, llmtest.WithResponder(func(llmtest.Request) llmtest.Reply { return llmtest.ServerError() }))
	client, recorder := newTestClient(t, azureConfig(server.URL))

	_, err := client.Complete(context.Background(), question("Hello?"))
	if err == nil {
		t.Fatal("Complete succeeded against a failing server")
	}
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusInternalServerError {
		t.Errorf("err = %v, want an APIError with status 500", err)
	}
	if !strings.Contains(err.Error(), "after 3 attempts") {
		t.Errorf("err = %v, want it to count the attempts", err)
	}
	if got := len(server.Requests()); got != MaxAttemptsDefault {
		t.Errorf("server received %d requests, want %d", got, MaxAttemptsDefault)
	}
	if got := len(recorder.recorded()); got != MaxAttemptsDefault-1 {
		t.Errorf("waited %d times, want %d", got, MaxAttemptsDefault-1)
	}
}

func TestCompleteRetryAfterTooLong(t *testing.T) {
	server := llmtest.NewServer(t)
	server.Enqueue(llmtest.RateLimited("120"))
	client, recorder := newTestClient(t, azureConfig(server.URL))

	_, err := client.Complete(context.Background(), question("Hello?"))
	if err == nil || !strings.Contains(err.Error(), "longer than the 20s limit") {
		t.Fatalf("err = %v, want the Retry-After limit named", err)
	}
	if got := len(server.Requests()); got != 1 {
		t.Errorf("server received %d requests, want 1", got)
	}
	if got := len(recorder.recorded()); got != 0 {
		t.Errorf("waited %d times, want 0", got)
	}
}

func TestCompleteDeploymentNotFound(t *testing.T) {
	server := llmtest.NewServer(t)
	server.Enqueue(llmtest.Reply{
		Status:       http.StatusNotFound,
		ErrorCode:    "DeploymentNotFound",
		ErrorMessage: "The API deployment for this resource does not exist.",
	})
	cfg := azureConfig(server.URL)
	cfg.Deployment = "gpt-4o-chat"
	client, _ := newTestClient(t, cfg)

	_, err := client.Complete(context.Background(), question("Hello?"))
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v, want an APIError", err)
	}
	if apiErr.Code != "DeploymentNotFound" {
		t.Errorf("Code = %q", apiErr.Code)
	}
	for _, want := range []string{`"gpt-4o-chat"`, "AZURE_OPENAI_CHAT_DEPLOYMENT", "does not exist"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to contain %s", err, want)
		}
	}
	if got := len(server.Requests()); got != 1 {
		t.Errorf("server received %d requests, want 1: a 404 is not retried", got)
	}
}

func TestCompleteUnauthorized(t *testing.T) {
	tests := []struct {
		name     string
		cfg      func(endpoint string) Config
		wantHint string
	}{
		{"azure key", azureConfig, "check AZURE_OPENAI_API_KEY"},
		{"compatible key", compatibleConfig, "check OPENAI_API_KEY"},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			server := llmtest.NewServer(t, llmtest.WithAPIKey("the-right-key"))
			client, _ := newTestClient(t, test.cfg(server.URL))

			_, err := client.Complete(context.Background(), question("Hello?"))
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized {
				t.Fatalf("err = %v, want a 401 APIError", err)
			}
			if apiErr.Hint != test.wantHint {
				t.Errorf("Hint = %q, want %q", apiErr.Hint, test.wantHint)
			}
			if apiErr.Code != "invalid_api_key" {
				t.Errorf("Code = %q", apiErr.Code)
			}
			if got := len(server.Requests()); got != 1 {
				t.Errorf("server received %d requests, want 1: a 401 is not retried", got)
			}
		})
	}
}

func TestCompleteInvalidResponse(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string
	}{
		{"not JSON", "<html>gateway</html>", "parse JSON"},
		{"no choices", `{"model":"m","choices":[]}`, "no choices"},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			server := llmtest.NewServer(t)
			server.Enqueue(llmtest.Reply{RawBody: test.body})
			client, _ := newTestClient(t, compatibleConfig(server.URL))

			_, err := client.Complete(context.Background(), question("Hello?"))
			if err == nil || !strings.Contains(err.Error(), test.want) {
				t.Errorf("err = %v, want %q", err, test.want)
			}
			if got := len(server.Requests()); got != 1 {
				t.Errorf("server received %d requests, want 1", got)
			}
		})
	}
}

func TestStreamMalformedEvent(t *testing.T) {
	server := llmtest.NewServer(t)
	server.Enqueue(llmtest.Reply{RawBody: "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\ndata: {not json\n\n"})
	client, _ := newTestClient(t, compatibleConfig(server.URL))

	var deltas []string
	_, err := client.Stream(context.Background(), question("Hello?"), collect(&deltas))
	if err == nil || !strings.Contains(err.Error(), "invalid stream event 2 (9 bytes)") {
		t.Fatalf("err = %v, want the second event named invalid", err)
	}
	if strings.Contains(err.Error(), "not json") {
		t.Errorf("err = %v, want no event text in it", err)
	}
	if !errors.Is(err, ErrStreamInterrupted) {
		t.Errorf("err = %v, want ErrStreamInterrupted after a delta", err)
	}
	if len(deltas) != 1 || deltas[0] != "Hel" {
		t.Errorf("deltas = %q, want [Hel]", deltas)
	}
	if got := len(server.Requests()); got != 1 {
		t.Errorf("server received %d requests, want 1", got)
	}
}

func TestStreamMalformedBeforeFirstDelta(t *testing.T) {
	server := llmtest.NewServer(t)
	server.Enqueue(llmtest.Reply{RawBody: "data: [1, 2\n\n"})
	client, _ := newTestClient(t, compatibleConfig(server.URL))

	_, err := client.Stream(context.Background(), question("Hello?"), func(string) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "invalid stream event") {
		t.Fatalf("err = %v, want an invalid stream event", err)
	}
	if errors.Is(err, ErrStreamInterrupted) {
		t.Errorf("err = %v, want no ErrStreamInterrupted before any delta", err)
	}
	if got := len(server.Requests()); got != 1 {
		t.Errorf("server received %d requests, want 1: a malformed stream is not retried", got)
	}
}

func TestStreamCutMidwayNotRetried(t *testing.T) {
	server := llmtest.NewServer(t, llmtest.WithAnswer("A second answer that must not be sent."))
	server.Enqueue(llmtest.Reply{Deltas: []string{"One ", "two ", "three ", "four"}, CutAfterDeltas: 2})
	client, recorder := newTestClient(t, azureConfig(server.URL))

	var deltas []string
	_, err := client.Stream(context.Background(), question("Count."), collect(&deltas))
	if !errors.Is(err, ErrStreamInterrupted) {
		t.Fatalf("err = %v, want ErrStreamInterrupted", err)
	}
	if !strings.Contains(err.Error(), "2 deltas delivered") {
		t.Errorf("err = %v, want the delivered count", err)
	}
	if strings.Join(deltas, "") != "One two " {
		t.Errorf("deltas = %q, want the two sent before the cut", deltas)
	}
	if got := len(server.Requests()); got != 1 {
		t.Errorf("server received %d requests, want 1: no retry after a delta", got)
	}
	if got := len(recorder.recorded()); got != 0 {
		t.Errorf("waited %d times, want 0", got)
	}
}

func TestStreamEndedBeforeFirstDeltaRetried(t *testing.T) {
	server := llmtest.NewServer(t, llmtest.WithAnswer("Complete answer."))
	// Only the role chunk, then the body ends without a finish reason or
	// [DONE], as when a proxy drops the connection early.
	server.Enqueue(llmtest.Reply{RawBody: "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n"})
	client, recorder := newTestClient(t, azureConfig(server.URL))

	var deltas []string
	response, err := client.Stream(context.Background(), question("Hello?"), collect(&deltas))
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	if response.Content != "Complete answer." || strings.Join(deltas, "") != "Complete answer." {
		t.Errorf("Content = %q, deltas = %q", response.Content, deltas)
	}
	if got := len(server.Requests()); got != 2 {
		t.Errorf("server received %d requests, want 2", got)
	}
	if got := len(recorder.recorded()); got != 1 {
		t.Errorf("waited %d times, want 1", got)
	}
}

func TestStreamErrorEvent(t *testing.T) {
	server := llmtest.NewServer(t)
	server.Enqueue(llmtest.Reply{RawBody: "data: {\"error\":{\"code\":\"content_filter\",\"message\":\"The response was filtered.\"}}\n\n"})
	client, _ := newTestClient(t, azureConfig(server.URL))

	_, err := client.Stream(context.Background(), question("Hello?"), func(string) error { return nil })
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Code != "content_filter" {
		t.Fatalf("err = %v, want an APIError with code content_filter", err)
	}
	if !strings.Contains(err.Error(), "error event") {
		t.Errorf("err = %v, want it to name the error event", err)
	}
}

func TestStreamOnDeltaErrorStops(t *testing.T) {
	server := llmtest.NewServer(t, llmtest.WithAnswer("one two three four"))
	client, _ := newTestClient(t, compatibleConfig(server.URL))
	stop := errors.New("client went away")

	calls := 0
	_, err := client.Stream(context.Background(), question("Count."), func(string) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	})
	if err != stop {
		t.Errorf("err = %v, want the onDelta error itself", err)
	}
	if calls != 2 {
		t.Errorf("onDelta called %d times, want 2", calls)
	}
	if got := len(server.Requests()); got != 1 {
		t.Errorf("server received %d requests, want 1", got)
	}
}

// TestStreamEventFraming sends events the way other servers frame them:
// CRLF line ends, comments, an event field, a data field without a space,
// an empty-choices content filter chunk, and no [DONE] after the finish
// reason.
func TestStreamEventFraming(t *testing.T) {
	body := ": keep-alive\r\n\r\n" +
		"data: {\"choices\":[],\"prompt_filter_results\":[{\"prompt_index\":0}]}\r\n\r\n" +
		"event: message\r\ndata:{\"model\":\"m-1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Line one\\n\"}}]}\r\n\r\n" +
		"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"line two\"},\"finish_reason\":null}]}\n\n" +
		"data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
		io.WriteString(w, body)
	}))
	t.Cleanup(server.Close)
	client, _ := newTestClient(t, compatibleConfig(server.URL))

	var deltas []string
	response, err := client.Stream(context.Background(), question("Hello?"), collect(&deltas))
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	if len(deltas) != 2 || deltas[0] != "Line one\n" || deltas[1] != "line two" {
		t.Errorf("deltas = %q", deltas)
	}
	if response.Content != "Line one\nline two" || response.Model != "m-1" || response.FinishReason != "stop" {
		t.Errorf("response = %+v", response)
	}
	if !response.UsageEstimated {
		t.Error("UsageEstimated = false without usage in the stream")
	}
}

func TestStreamServerIgnoresStreamFlag(t *testing.T) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"model":   "m-2",
			"choices": []map[string]any{{"index": 0, "message": map[string]any{"role": "assistant", "content": "Whole answer."}, "finish_reason": "stop"}},
			"usage":   map[string]int{"prompt_tokens": 11, "completion_tokens": 3},
		})
	}))
	t.Cleanup(server.Close)
	client, _ := newTestClient(t, compatibleConfig(server.URL))

	var deltas []string
	response, err := client.Stream(context.Background(), question("Hello?"), collect(&deltas))
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	if len(deltas) != 1 || deltas[0] != "Whole answer." {
		t.Errorf("deltas = %q, want the whole answer once", deltas)
	}
	if response.Usage != (llm.Usage{PromptTokens: 11, CompletionTokens: 3}) {
		t.Errorf("Usage = %+v", response.Usage)
	}
}

func TestCompleteCanceled(t *testing.T) {
	server := llmtest.NewServer(t)
	server.Enqueue(llmtest.Reply{Content: "Too late.", Delay: time.Minute})
	client, recorder := newTestClient(t, azureConfig(server.URL))
	ctx, cancel := context.WithCancel(context.Background())

	done := make(chan error, 1)
	go func() {
		_, err := client.Complete(ctx, question("Hello?"))
		done <- err
	}()
	waitForRequests(t, server, 1)
	cancel()

	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Complete did not return within 10s of cancellation")
	}
	if got := len(server.Requests()); got != 1 {
		t.Errorf("server received %d requests, want 1: a canceled call is not retried", got)
	}
	if got := len(recorder.recorded()); got != 0 {
		t.Errorf("waited %d times, want 0", got)
	}
}

// newStallingServer starts a server that streams one delta and then waits
// until the client gives up.
func newStallingServer(t *testing.T) *httptest.Server {
	t.Helper()
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"first \"}}]}\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(server.Close)
	return server
}

func TestStreamCanceledMidway(t *testing.T) {
	server := newStallingServer(t)
	client, _ := newTestClient(t, compatibleConfig(server.URL))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var deltas []string
	_, err := client.Stream(ctx, question("Hello?"), func(delta string) error {
		deltas = append(deltas, delta)
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if !errors.Is(err, ErrStreamInterrupted) {
		t.Errorf("err = %v, want ErrStreamInterrupted", err)
	}
	if len(deltas) != 1 {
		t.Errorf("deltas = %q, want one", deltas)
	}
}

func TestCompleteRequestTimeout(t *testing.T) {
	server := llmtest.NewServer(t, llmtest.WithResponder(func(llmtest.Request) llmtest.Reply {
		return llmtest.Reply{Content: "Too slow.", Delay: time.Minute}
	}))
	cfg := azureConfig(server.URL)
	cfg.RequestTimeout = 50 * time.Millisecond
	cfg.MaxAttempts = 2
	client, recorder := newTestClient(t, cfg)

	_, err := client.Complete(context.Background(), question("Hello?"))
	if err == nil || !strings.Contains(err.Error(), "timed out after 50ms (CHAT_REQUEST_TIMEOUT)") {
		t.Fatalf("err = %v, want a timeout naming CHAT_REQUEST_TIMEOUT", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want context.DeadlineExceeded", err)
	}
	if got := len(server.Requests()); got != 2 {
		t.Errorf("server received %d requests, want 2: a timed-out attempt is retried", got)
	}
	if got := len(recorder.recorded()); got != 1 {
		t.Errorf("waited %d times, want 1", got)
	}
}

func TestStreamTimeoutAfterFirstDelta(t *testing.T) {
	server := newStallingServer(t)
	cfg := compatibleConfig(server.URL)
	cfg.RequestTimeout = 100 * time.Millisecond
	client, recorder := newTestClient(t, cfg)

	var deltas []string
	_, err := client.Stream(context.Background(), question("Slow?"), collect(&deltas))
	if !errors.Is(err, ErrStreamInterrupted) {
		t.Errorf("err = %v, want ErrStreamInterrupted", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "timed out after 100ms") {
		t.Errorf("err = %v, want a timeout after 100ms", err)
	}
	if len(deltas) != 1 {
		t.Errorf("deltas = %q, want only the first", deltas)
	}
	if got := len(recorder.recorded()); got != 0 {
		t.Errorf("waited %d times, want 0: no retry after a delta", got)
	}
}

func TestCompleteRejectsInvalidRequest(t *testing.T) {
	server := llmtest.NewServer(t)
	client, _ := newTestClient(t, compatibleConfig(server.URL))

	tests := []struct {
		name string
		req  llm.Request
		want string
	}{
		{"no messages", llm.Request{}, "no messages"},
		{"negative max tokens", llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "Hi"}}, MaxTokens: -1}, "invalid MaxTokens -1"},
		{"message without role", llm.Request{Messages: []llm.Message{{Content: "Hi"}}}, "message 0 has no role"},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			_, err := client.Complete(context.Background(), test.req)
			if err == nil || !strings.Contains(err.Error(), test.want) {
				t.Errorf("err = %v, want %q", err, test.want)
			}
		})
	}
	if got := len(server.Requests()); got != 0 {
		t.Errorf("server received %d requests, want 0", got)
	}
}

func TestNewReportsEverySetting(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"azure empty", Config{Provider: ProviderAzureOpenAI}, []string{"AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_CHAT_DEPLOYMENT", "AZURE_OPENAI_API_KEY"}},
		{"azure relative endpoint", Config{Provider: ProviderAzureOpenAI, Endpoint: "contoso.openai.azure.com", Deployment: "d", APIKey: "k"}, []string{"invalid AZURE_OPENAI_ENDPOINT"}},
		{"compatible empty", Config{Provider: ProviderOpenAICompatible}, []string{"OPENAI_BASE_URL", "OPENAI_CHAT_MODEL"}},
		{"unknown provider", Config{Provider: "anthropic"}, []string{`invalid CHAT_PROVIDER "anthropic"`}},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			_, err := New(test.cfg, &http.Client{})
			if err == nil {
				t.Fatal("New succeeded")
			}
			for _, want := range test.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("err = %v, want it to name %s", err, want)
				}
			}
		})
	}

	if _, err := New(compatibleConfig("http://127.0.0.1:1"), nil); err == nil || !strings.Contains(err.Error(), "missing HTTP client") {
		t.Errorf("New without HTTP client: err = %v", err)
	}
}

// waitForRequests polls until server has received n requests.
func waitForRequests(t *testing.T, server *llmtest.Server, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(server.Requests()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("server received %d requests within 10s, want %d", len(server.Requests()), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestStreamHTMLPageRetriedThenFails(t *testing.T) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<html><body>Sign in to the proxy</body></html>")
	}))
	t.Cleanup(server.Close)
	client, recorder := newTestClient(t, compatibleConfig(server.URL))

	_, err := client.Stream(context.Background(), question("Hello?"), func(string) error { return nil })
	if err == nil || !strings.Contains(err.Error(), `the "text/html" stream ended before [DONE]`) {
		t.Fatalf("err = %v, want the content type named", err)
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("err = %v, want io.ErrUnexpectedEOF", err)
	}
	if got := len(recorder.recorded()); got != MaxAttemptsDefault-1 {
		t.Errorf("waited %d times, want %d", got, MaxAttemptsDefault-1)
	}
}

// lineRecorder is a slog handler that keeps each record's message and
// attributes.
type lineRecorder struct {
	mu    sync.Mutex
	lines []map[string]any
}

func (h *lineRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (h *lineRecorder) Handle(_ context.Context, record slog.Record) error {
	line := map[string]any{"msg": record.Message, "level": record.Level.String()}
	record.Attrs(func(attr slog.Attr) bool {
		line[attr.Key] = attr.Value.Any()
		return true
	})
	h.mu.Lock()
	h.lines = append(h.lines, line)
	h.mu.Unlock()
	return nil
}

func (h *lineRecorder) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *lineRecorder) WithGroup(string) slog.Handler      { return h }

func TestCompleteLogsEachRetry(t *testing.T) {
	server := llmtest.NewServer(t)
	server.Enqueue(llmtest.RateLimited("1"))
	logs := &lineRecorder{}
	cfg := azureConfig(server.URL)
	cfg.Logger = slog.New(logs)
	client, _ := newTestClient(t, cfg)

	if _, err := client.Complete(context.Background(), question("Hello?")); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if len(logs.lines) != 1 {
		t.Fatalf("logged %d lines, want 1: %v", len(logs.lines), logs.lines)
	}
	line := logs.lines[0]
	if line["msg"] != "chat model request failed, retrying" || line["level"] != "WARN" {
		t.Errorf("line = %v", line)
	}
	if line["model"] != "azure-openai/gpt-4o-mini" || line["attempt"] != int64(1) || line["wait"] != time.Second {
		t.Errorf("line attributes = %v", line)
	}
	if message := fmt.Sprint(line["error"]); !strings.Contains(message, "429") || strings.Contains(message, "azure-test-key") {
		t.Errorf("error attribute = %q, want the status and no key", message)
	}
}
