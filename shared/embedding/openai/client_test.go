package openai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// recordedRequest is one request as the fake service received it.
type recordedRequest struct {
	path   string
	query  string
	header http.Header
	body   embeddingsRequest
}

// fakeService is an httptest server that follows the embeddings API. Each
// request runs the next queued reply function. Once the queue is empty, it
// returns vectors.
type fakeService struct {
	t          *testing.T
	server     *httptest.Server
	dimensions int

	mu       sync.Mutex
	requests []recordedRequest
	replies  []func(w http.ResponseWriter, r *http.Request, body embeddingsRequest)
}

func newFakeService(t *testing.T, dimensions int) *fakeService {
	t.Helper()
	f := &fakeService{t: t, dimensions: dimensions}
	f.server = httptest.NewServer(http.HandlerFunc(f.handle))
	t.Cleanup(f.server.Close)
	return f
}

func (f *fakeService) handle(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var body embeddingsRequest
	if err := json.Unmarshal(raw, &body); err != nil {
		http.Error(w, `{"error":{"code":"invalid_json","message":"bad body"}}`, http.StatusBadRequest)
		return
	}

	f.mu.Lock()
	f.requests = append(f.requests, recordedRequest{path: r.URL.Path, query: r.URL.RawQuery, header: r.Header.Clone(), body: body})
	var reply func(http.ResponseWriter, *http.Request, embeddingsRequest)
	if len(f.replies) > 0 {
		reply = f.replies[0]
		f.replies = f.replies[1:]
	}
	f.mu.Unlock()

	if reply == nil {
		reply = f.replyVectors
	}
	reply(w, r, body)
}

// then queues replies for the next requests.
func (f *fakeService) then(replies ...func(http.ResponseWriter, *http.Request, embeddingsRequest)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.replies = append(f.replies, replies...)
}

func (f *fakeService) recorded() []recordedRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recordedRequest(nil), f.requests...)
}

// vectorFor derives a distinct, unnormalised vector from text, so a test can
// check that every vector landed at the right position.
func vectorFor(text string, dimensions int) []float32 {
	vector := make([]float32, dimensions)
	for i := range vector {
		vector[i] = float32(len(text)*(i+1)%7 + 1)
	}
	vector[0] = float32(len(text))
	return vector
}

type responseItem struct {
	Object    string    `json:"object"`
	Index     int       `json:"index"`
	Embedding []float32 `json:"embedding"`
}

func (f *fakeService) items(body embeddingsRequest) []responseItem {
	items := make([]responseItem, len(body.Input))
	for i, text := range body.Input {
		items[i] = responseItem{Object: "embedding", Index: i, Embedding: vectorFor(text, f.dimensions)}
	}
	return items
}

func writeData(w http.ResponseWriter, items any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"object": "list",
		"data":   items,
		"model":  "text-embedding-3-small",
		"usage":  map[string]int{"prompt_tokens": 5, "total_tokens": 5},
	})
}

func (f *fakeService) replyVectors(w http.ResponseWriter, _ *http.Request, body embeddingsRequest) {
	writeData(w, f.items(body))
}

func replyStatus(status int, header map[string]string, body string) func(http.ResponseWriter, *http.Request, embeddingsRequest) {
	return func(w http.ResponseWriter, _ *http.Request, _ embeddingsRequest) {
		for name, value := range header {
			w.Header().Set(name, value)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

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
		Deployment: "embed-small",
		APIKey:     "test-key",
		Dimensions: 4,
		Logger:     quietLogger(),
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

func assertUnitVector(t *testing.T, vector []float32) {
	t.Helper()
	var squares float64
	for _, v := range vector {
		squares += float64(v) * float64(v)
	}
	if math.Abs(squares-1) > 1e-5 {
		t.Errorf("squared norm %g, expected 1", squares)
	}
}

// assertMatchesText checks that vector is the normalised vectorFor(text).
func assertMatchesText(t *testing.T, vector []float32, text string) {
	t.Helper()
	want := vectorFor(text, len(vector))
	if err := normalize(want); err != nil {
		t.Fatalf("normalize: %v", err)
	}
	for i := range want {
		if math.Abs(float64(vector[i]-want[i])) > 1e-6 {
			t.Errorf("vector for %q differs at %d: %g, expected %g", text, i, vector[i], want[i])
			return
		}
	}
}

func TestEmbedAzureRequestShape(t *testing.T) {
	service := newFakeService(t, 4)
	client, _ := newTestClient(t, azureConfig(service.server.URL+"/"))
	texts := []string{"vacation policy", "expense limits"}

	vectors, err := client.Embed(context.Background(), texts)
	if err != nil {
		t.Fatalf("Embed: %v", err)
	}

	requests := service.recorded()
	if len(requests) != 1 {
		t.Fatalf("%d requests, expected 1", len(requests))
	}
	got := requests[0]
	if got.path != "/openai/deployments/embed-small/embeddings" {
		t.Errorf("path %q, expected /openai/deployments/embed-small/embeddings", got.path)
	}
	if got.query != "api-version="+APIVersionDefault {
		t.Errorf("query %q, expected api-version=%s", got.query, APIVersionDefault)
	}
	if key := got.header.Get("api-key"); key != "test-key" {
		t.Errorf("api-key header %q, expected test-key", key)
	}
	if auth := got.header.Get("Authorization"); auth != "" {
		t.Errorf("Authorization header %q, expected none with an API key", auth)
	}
	if got.body.Model != "" {
		t.Errorf("body model %q, expected none for Azure", got.body.Model)
	}
	if strings.Join(got.body.Input, "|") != strings.Join(texts, "|") {
		t.Errorf("body input %q, expected %q", got.body.Input, texts)
	}
	if client.Model() != "azure-openai/embed-small" {
		t.Errorf("Model() = %q, expected azure-openai/embed-small", client.Model())
	}
	for i, text := range texts {
		assertUnitVector(t, vectors[i])
		assertMatchesText(t, vectors[i], text)
	}
}

func TestEmbedCompatibleRequestShape(t *testing.T) {
	cases := []struct {
		name     string
		basePath string
		wantPath string
	}{
		{name: "base without version", basePath: "", wantPath: "/v1/embeddings"},
		{name: "base ending in v1", basePath: "/v1", wantPath: "/v1/embeddings"},
		{name: "base with prefix", basePath: "/proxy/openai/v1/", wantPath: "/proxy/openai/v1/embeddings"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			service := newFakeService(t, 3)
			client, _ := newTestClient(t, Config{
				Provider:       ProviderOpenAICompatible,
				Endpoint:       service.server.URL + c.basePath,
				Model:          "text-embedding-3-small",
				APIKey:         "sk-test",
				Dimensions:     3,
				SendDimensions: true,
				Logger:         quietLogger(),
			})

			if _, err := client.Embed(context.Background(), []string{"hello"}); err != nil {
				t.Fatalf("Embed: %v", err)
			}

			requests := service.recorded()
			if len(requests) != 1 {
				t.Fatalf("%d requests, expected 1", len(requests))
			}
			got := requests[0]
			if got.path != c.wantPath {
				t.Errorf("path %q, expected %q", got.path, c.wantPath)
			}
			if auth := got.header.Get("Authorization"); auth != "Bearer sk-test" {
				t.Errorf("Authorization header %q, expected Bearer sk-test", auth)
			}
			if got.body.Model != "text-embedding-3-small" {
				t.Errorf("body model %q, expected text-embedding-3-small", got.body.Model)
			}
			if got.body.Dimensions != 3 {
				t.Errorf("body dimensions %d, expected 3", got.body.Dimensions)
			}
		})
	}
}

func TestEmbedEntraIDToken(t *testing.T) {
	service := newFakeService(t, 4)
	credential := &staticCredential{token: "entra-token"}
	cfg := azureConfig(service.server.URL)
	cfg.APIKey = ""
	cfg.Credential = credential
	client, _ := newTestClient(t, cfg)

	if _, err := client.Embed(context.Background(), []string{"a", "b"}); err != nil {
		t.Fatalf("Embed: %v", err)
	}

	requests := service.recorded()
	if len(requests) != 1 {
		t.Fatalf("%d requests, expected 1", len(requests))
	}
	if auth := requests[0].header.Get("Authorization"); auth != "Bearer entra-token" {
		t.Errorf("Authorization header %q, expected Bearer entra-token", auth)
	}
	if key := requests[0].header.Get("api-key"); key != "" {
		t.Errorf("api-key header %q, expected none with a credential", key)
	}
	scopes := credential.scopes()
	if len(scopes) != 1 || scopes[0] != "https://cognitiveservices.azure.com/.default" {
		t.Errorf("token scopes %v, expected [https://cognitiveservices.azure.com/.default]", scopes)
	}
}

// staticCredential is an azcore.TokenCredential that returns a fixed token
// and records the scopes asked for.
type staticCredential struct {
	token string
	err   error

	mu        sync.Mutex
	requested []string
}

func (s *staticCredential) GetToken(_ context.Context, options policy.TokenRequestOptions) (azcore.AccessToken, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requested = append(s.requested, options.Scopes...)
	if s.err != nil {
		return azcore.AccessToken{}, s.err
	}
	return azcore.AccessToken{Token: s.token, ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func (s *staticCredential) scopes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requested...)
}

func TestEmbedCredentialFailure(t *testing.T) {
	service := newFakeService(t, 4)
	cfg := azureConfig(service.server.URL)
	cfg.APIKey = ""
	cfg.Credential = &staticCredential{err: errors.New("managed identity unavailable")}
	client, _ := newTestClient(t, cfg)

	_, err := client.Embed(context.Background(), []string{"a"})
	if err == nil || !strings.Contains(err.Error(), "managed identity unavailable") {
		t.Fatalf("Embed error %v, expected the credential's error", err)
	}
	if n := len(service.recorded()); n != 0 {
		t.Errorf("%d requests sent without a token, expected 0", n)
	}
}

func TestEmbedBatching(t *testing.T) {
	service := newFakeService(t, 4)
	cfg := azureConfig(service.server.URL)
	cfg.MaxInputsPerRequest = 2
	client, _ := newTestClient(t, cfg)
	texts := []string{"one", "two two", "three three three", "four", "five five"}

	vectors, err := client.Embed(context.Background(), texts)
	if err != nil {
		t.Fatalf("Embed: %v", err)
	}

	requests := service.recorded()
	sizes := make([]int, len(requests))
	for i, r := range requests {
		sizes[i] = len(r.body.Input)
	}
	if fmt.Sprint(sizes) != "[2 2 1]" {
		t.Errorf("request sizes %v, expected [2 2 1]", sizes)
	}
	if len(vectors) != len(texts) {
		t.Fatalf("%d vectors for %d texts", len(vectors), len(texts))
	}
	for i, text := range texts {
		assertMatchesText(t, vectors[i], text)
	}
}

func TestEmbedRetryAfterHeader(t *testing.T) {
	cases := []struct {
		name     string
		header   map[string]string
		wantWait time.Duration
	}{
		{name: "seconds", header: map[string]string{"Retry-After": "7"}, wantWait: 7 * time.Second},
		{name: "milliseconds", header: map[string]string{"retry-after-ms": "1500", "Retry-After": "2"}, wantWait: 1500 * time.Millisecond},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			service := newFakeService(t, 4)
			service.then(replyStatus(http.StatusTooManyRequests, c.header,
				`{"error":{"code":"429","message":"Requests to the Embeddings_Create Operation have exceeded the rate limit."}}`))
			client, recorder := newTestClient(t, azureConfig(service.server.URL))

			vectors, err := client.Embed(context.Background(), []string{"retry me"})
			if err != nil {
				t.Fatalf("Embed: %v", err)
			}

			if n := len(service.recorded()); n != 2 {
				t.Errorf("%d requests, expected 2", n)
			}
			waits := recorder.recorded()
			if len(waits) != 1 || waits[0] != c.wantWait {
				t.Errorf("waits %v, expected [%s]", waits, c.wantWait)
			}
			assertMatchesText(t, vectors[0], "retry me")
		})
	}
}

func TestEmbedServerErrorThenSuccess(t *testing.T) {
	service := newFakeService(t, 4)
	service.then(replyStatus(http.StatusInternalServerError, nil, `{"error":{"code":"InternalServerError","message":"try again"}}`))
	cfg := azureConfig(service.server.URL)
	cfg.InitialBackoff = time.Second
	client, recorder := newTestClient(t, cfg)

	vectors, err := client.Embed(context.Background(), []string{"flaky"})
	if err != nil {
		t.Fatalf("Embed: %v", err)
	}

	if n := len(service.recorded()); n != 2 {
		t.Errorf("%d requests, expected 2", n)
	}
	waits := recorder.recorded()
	if len(waits) != 1 {
		t.Fatalf("waits %v, expected one", waits)
	}
	if waits[0] < 500*time.Millisecond || waits[0] >= time.Second {
		t.Errorf("backoff %s, expected within [500ms, 1s) for an initial backoff of 1s", waits[0])
	}
	assertMatchesText(t, vectors[0], "flaky")
}

func TestEmbedGivesUpAfterMaxAttempts(t *testing.T) {
	service := newFakeService(t, 4)
	for range 5 {
		service.then(replyStatus(http.StatusServiceUnavailable, nil, `{"error":{"code":"ServiceUnavailable","message":"overloaded"}}`))
	}
	cfg := azureConfig(service.server.URL)
	cfg.MaxAttempts = 3
	cfg.InitialBackoff = 100 * time.Millisecond
	cfg.MaxBackoff = 300 * time.Millisecond
	client, recorder := newTestClient(t, cfg)

	_, err := client.Embed(context.Background(), []string{"down"})

	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("Embed error %v, expected an APIError with status 503", err)
	}
	if !strings.Contains(err.Error(), "after 3 attempts") {
		t.Errorf("Embed error %q does not say how many attempts ran", err)
	}
	if n := len(service.recorded()); n != 3 {
		t.Errorf("%d requests, expected 3", n)
	}
	waits := recorder.recorded()
	if len(waits) != 2 {
		t.Fatalf("waits %v, expected two", waits)
	}
	if waits[1] < 100*time.Millisecond || waits[1] >= 200*time.Millisecond {
		t.Errorf("second backoff %s, expected within [100ms, 200ms)", waits[1])
	}
}

func TestEmbedRetryAfterTooLong(t *testing.T) {
	service := newFakeService(t, 4)
	service.then(replyStatus(http.StatusTooManyRequests, map[string]string{"Retry-After": "3600"}, `{"error":{"code":"429","message":"quota"}}`))
	client, recorder := newTestClient(t, azureConfig(service.server.URL))

	_, err := client.Embed(context.Background(), []string{"later"})
	if err == nil || !strings.Contains(err.Error(), "retry after 1h0m0s") {
		t.Fatalf("Embed error %v, expected it to report the 1h Retry-After", err)
	}
	if n := len(service.recorded()); n != 1 {
		t.Errorf("%d requests, expected 1", n)
	}
	if waits := recorder.recorded(); len(waits) != 0 {
		t.Errorf("waits %v, expected none", waits)
	}
}

func TestEmbedOutOfOrderIndex(t *testing.T) {
	service := newFakeService(t, 4)
	service.then(func(w http.ResponseWriter, _ *http.Request, body embeddingsRequest) {
		items := service.items(body)
		for i, j := 0, len(items)-1; i < j; i, j = i+1, j-1 {
			items[i], items[j] = items[j], items[i]
		}
		writeData(w, items)
	})
	client, _ := newTestClient(t, azureConfig(service.server.URL))
	texts := []string{"a", "bb", "ccc"}

	vectors, err := client.Embed(context.Background(), texts)
	if err != nil {
		t.Fatalf("Embed: %v", err)
	}
	for i, text := range texts {
		assertMatchesText(t, vectors[i], text)
	}
}

func TestEmbedInvalidResponse(t *testing.T) {
	cases := []struct {
		name    string
		reply   func(http.ResponseWriter, *http.Request, embeddingsRequest)
		wantErr string
	}{
		{
			name: "wrong vector length",
			reply: func(w http.ResponseWriter, _ *http.Request, body embeddingsRequest) {
				writeData(w, []responseItem{{Index: 0, Embedding: []float32{1, 2, 3}}, {Index: 1, Embedding: []float32{1, 2, 3, 4}}})
			},
			wantErr: "embedding 0 has 3 dimensions, expected 4",
		},
		{
			name: "too few embeddings",
			reply: func(w http.ResponseWriter, _ *http.Request, _ embeddingsRequest) {
				writeData(w, []responseItem{{Index: 0, Embedding: []float32{1, 2, 3, 4}}})
			},
			wantErr: "1 embeddings for 2 inputs",
		},
		{
			name: "repeated index",
			reply: func(w http.ResponseWriter, _ *http.Request, _ embeddingsRequest) {
				writeData(w, []responseItem{{Index: 1, Embedding: []float32{1, 2, 3, 4}}, {Index: 1, Embedding: []float32{1, 2, 3, 4}}})
			},
			wantErr: "repeats index 1",
		},
		{
			name: "index out of range",
			reply: func(w http.ResponseWriter, _ *http.Request, _ embeddingsRequest) {
				writeData(w, []responseItem{{Index: 0, Embedding: []float32{1, 2, 3, 4}}, {Index: 2, Embedding: []float32{1, 2, 3, 4}}})
			},
			wantErr: "index 2, expected 0 to 1",
		},
		{
			name: "missing index",
			reply: func(w http.ResponseWriter, _ *http.Request, _ embeddingsRequest) {
				writeData(w, []map[string]any{{"embedding": []float32{1, 2, 3, 4}}, {"index": 1, "embedding": []float32{1, 2, 3, 4}}})
			},
			wantErr: "data[0] has no index",
		},
		{
			name: "zero vector",
			reply: func(w http.ResponseWriter, _ *http.Request, _ embeddingsRequest) {
				writeData(w, []responseItem{{Index: 0, Embedding: []float32{0, 0, 0, 0}}, {Index: 1, Embedding: []float32{1, 2, 3, 4}}})
			},
			wantErr: "embedding 0: vector has norm 0",
		},
		{
			name: "not JSON",
			reply: func(w http.ResponseWriter, _ *http.Request, _ embeddingsRequest) {
				io.WriteString(w, "<html>gateway</html>")
			},
			wantErr: "parse JSON",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			service := newFakeService(t, 4)
			service.then(c.reply)
			client, _ := newTestClient(t, azureConfig(service.server.URL))

			_, err := client.Embed(context.Background(), []string{"first", "second"})
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("Embed error %v, expected it to contain %q", err, c.wantErr)
			}
			if n := len(service.recorded()); n != 1 {
				t.Errorf("%d requests, expected 1 because an invalid response is not retried", n)
			}
		})
	}
}

func TestEmbedUnauthorized(t *testing.T) {
	service := newFakeService(t, 4)
	service.then(replyStatus(http.StatusUnauthorized, nil,
		`{"error":{"code":"401","message":"Access denied due to invalid subscription key or wrong API endpoint."}}`))
	client, recorder := newTestClient(t, azureConfig(service.server.URL))

	_, err := client.Embed(context.Background(), []string{"secret"})

	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("Embed error %v, expected an APIError", err)
	}
	if apiErr.StatusCode != http.StatusUnauthorized {
		t.Errorf("status %d, expected 401", apiErr.StatusCode)
	}
	if !strings.Contains(err.Error(), "AZURE_OPENAI_API_KEY") {
		t.Errorf("Embed error %q does not name AZURE_OPENAI_API_KEY", err)
	}
	if strings.Contains(err.Error(), "test-key") {
		t.Errorf("Embed error %q contains the API key", err)
	}
	if n := len(service.recorded()); n != 1 {
		t.Errorf("%d requests, expected 1 because 401 is not retried", n)
	}
	if waits := recorder.recorded(); len(waits) != 0 {
		t.Errorf("waits %v, expected none", waits)
	}
}

func TestEmbedDeploymentNotFound(t *testing.T) {
	service := newFakeService(t, 4)
	service.then(replyStatus(http.StatusNotFound, nil,
		`{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist."}}`))
	client, _ := newTestClient(t, azureConfig(service.server.URL))

	_, err := client.Embed(context.Background(), []string{"anything"})

	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound {
		t.Fatalf("Embed error %v, expected an APIError with status 404", err)
	}
	if apiErr.Code != "DeploymentNotFound" {
		t.Errorf("code %q, expected DeploymentNotFound", apiErr.Code)
	}
	for _, want := range []string{`deployment "embed-small" not found`, "AZURE_OPENAI_EMBEDDING_DEPLOYMENT"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Embed error %q does not contain %q", err, want)
		}
	}
}

func TestEmbedRequestTimeout(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	service := newFakeService(t, 4)
	hang := func(_ http.ResponseWriter, r *http.Request, _ embeddingsRequest) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}
	service.then(hang, hang)
	cfg := azureConfig(service.server.URL)
	cfg.RequestTimeout = 50 * time.Millisecond
	cfg.MaxAttempts = 2
	client, _ := newTestClient(t, cfg)

	_, err := client.Embed(context.Background(), []string{"slow"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Embed error %v, expected context.DeadlineExceeded", err)
	}
	if !strings.Contains(err.Error(), "timed out after 50ms") {
		t.Errorf("Embed error %q does not report the request timeout", err)
	}
	if n := len(service.recorded()); n != 2 {
		t.Errorf("%d requests, expected 2 because a timed-out attempt is retried", n)
	}
}

func TestEmbedCanceledDuringRetryWait(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	service := newFakeService(t, 4)
	service.then(func(w http.ResponseWriter, r *http.Request, body embeddingsRequest) {
		cancel()
		replyStatus(http.StatusTooManyRequests, map[string]string{"Retry-After": "30"}, `{"error":{"code":"429","message":"slow down"}}`)(w, r, body)
	})
	// The real sleep runs here, so the test shows it ends with the context.
	client, err := New(azureConfig(service.server.URL), &http.Client{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}

	_, err = client.Embed(ctx, []string{"stop"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Embed error %v, expected context.Canceled", err)
	}
}

func TestEmbedEmptyTextRejected(t *testing.T) {
	service := newFakeService(t, 4)
	client, _ := newTestClient(t, azureConfig(service.server.URL))

	_, err := client.Embed(context.Background(), []string{"fine", ""})
	if err == nil || !strings.Contains(err.Error(), "text 1 is empty") {
		t.Fatalf("Embed error %v, expected it to name empty text 1", err)
	}
	if n := len(service.recorded()); n != 0 {
		t.Errorf("%d requests, expected none", n)
	}
}

func TestEmbedNoTexts(t *testing.T) {
	service := newFakeService(t, 4)
	client, _ := newTestClient(t, azureConfig(service.server.URL))

	vectors, err := client.Embed(context.Background(), nil)
	if err != nil {
		t.Fatalf("Embed(nil): %v", err)
	}
	if len(vectors) != 0 {
		t.Errorf("Embed(nil) returned %d vectors, expected 0", len(vectors))
	}
	if n := len(service.recorded()); n != 0 {
		t.Errorf("%d requests, expected none", n)
	}
}

func TestNewReportsEverySetting(t *testing.T) {
	cases := []struct {
		name      string
		cfg       Config
		client    *http.Client
		wantNames []string
	}{
		{
			name:      "azure with nothing set",
			cfg:       Config{Provider: ProviderAzureOpenAI},
			client:    nil,
			wantNames: []string{"HTTP client", "AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_EMBEDDING_DEPLOYMENT", "AZURE_OPENAI_API_KEY", "EMBEDDING_DIMENSIONS"},
		},
		{
			name:      "compatible without model",
			cfg:       Config{Provider: ProviderOpenAICompatible, Endpoint: "http://127.0.0.1:9/v1", Dimensions: 8},
			client:    &http.Client{},
			wantNames: []string{"OPENAI_EMBEDDING_MODEL"},
		},
		{
			name:      "relative endpoint",
			cfg:       Config{Provider: ProviderOpenAICompatible, Endpoint: "localhost/v1", Model: "m", Dimensions: 8},
			client:    &http.Client{},
			wantNames: []string{`invalid OPENAI_BASE_URL "localhost/v1"`},
		},
		{
			name:      "unknown provider",
			cfg:       Config{Provider: "bedrock", Dimensions: 8},
			client:    &http.Client{},
			wantNames: []string{`invalid EMBEDDING_PROVIDER "bedrock"`},
		},
		{
			name:      "batch above the API limit",
			cfg:       Config{Provider: ProviderOpenAICompatible, Endpoint: "http://127.0.0.1:9", Model: "m", Dimensions: 8, MaxInputsPerRequest: 4096},
			client:    &http.Client{},
			wantNames: []string{"invalid MaxInputsPerRequest 4096"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(c.cfg, c.client)
			if err == nil {
				t.Fatal("New succeeded, expected an error")
			}
			for _, name := range c.wantNames {
				if !strings.Contains(err.Error(), name) {
					t.Errorf("New error %q does not contain %q", err, name)
				}
			}
		})
	}
}

func TestCountTokensEstimate(t *testing.T) {
	client, _ := newTestClient(t, azureConfig("http://127.0.0.1:9"))
	cases := map[string]int{"": 0, "abcd": 1, "abcde": 2, strings.Repeat("x", 400): 100}
	for text, want := range cases {
		if got := client.CountTokens(text); got != want {
			t.Errorf("CountTokens(%d bytes) = %d, expected %d", len(text), got, want)
		}
	}
	if client.MaxInputTokens() != 8191 {
		t.Errorf("MaxInputTokens() = %d, expected 8191", client.MaxInputTokens())
	}
	if client.Dimensions() != 4 {
		t.Errorf("Dimensions() = %d, expected 4", client.Dimensions())
	}
}
