// Package llmtest runs a local server that speaks the chat completions
// protocol of OpenAI and Azure OpenAI, for tests of code that calls a
// language model. It serves plain and streamed requests, can be scripted to
// fail, throttle or stall, and records every request it receives.
//
// A test points an OpenAI-compatible client at Server.URL:
//
//	server := llmtest.NewServer(t, llmtest.WithAnswer("Employees get 25 days [1]."))
//	model, err := openai.New(openai.Config{
//		Provider: openai.ProviderOpenAICompatible,
//		Endpoint: server.URL,
//		Model:    "test-model",
//	}, server.Client())
//
// Every path that ends in /chat/completions is served, so the same server
// works as an Azure OpenAI endpoint
// ({URL}/openai/deployments/{deployment}/chat/completions) and as an
// OpenAI-compatible base URL ({URL}/chat/completions or
// {URL}/v1/chat/completions).
//
// Replies come, in order of precedence, from the queue filled by Enqueue,
// then from the WithResponder function, then from the WithAnswer text.
package llmtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// AnswerDefault is the completion content of a server created without
// WithAnswer or WithResponder.
const AnswerDefault = "This is the test model's answer."

// ModelDefault is the model name that replies report when the request names
// none, as with Azure OpenAI, where the deployment selects the model.
const ModelDefault = "llmtest-model"

// Message is one chat message of a recorded request.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// StreamOptions is the stream_options object of a request.
type StreamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// ChatRequest is the JSON body of a chat completions request, with the
// fields this server understands. A nil pointer means the field was absent.
type ChatRequest struct {
	Model         string         `json:"model"`
	Messages      []Message      `json:"messages"`
	MaxTokens     *int           `json:"max_tokens"`
	Temperature   *float64       `json:"temperature"`
	Stream        bool           `json:"stream"`
	StreamOptions *StreamOptions `json:"stream_options"`
}

// Request is one request as the server received it.
type Request struct {
	Method string
	// Path is the URL path, such as /v1/chat/completions.
	Path string
	// Query is the parsed query string; Azure clients send api-version.
	Query  url.Values
	Header http.Header
	// Body is the decoded JSON body, and RawBody the bytes as received.
	Body    ChatRequest
	RawBody []byte
}

// LastUserMessage returns the content of the last message with role user, or
// "" when there is none. Responders use it to answer the current question.
func (r Request) LastUserMessage() string {
	for i := len(r.Body.Messages) - 1; i >= 0; i-- {
		if r.Body.Messages[i].Role == "user" {
			return r.Body.Messages[i].Content
		}
	}
	return ""
}

// Usage is the token count a reply reports.
type Usage struct {
	PromptTokens     int
	CompletionTokens int
}

// Reply scripts the server's response to one request. The zero Reply
// returns an empty completion.
type Reply struct {
	// Content is the completion. A streamed reply sends it as Deltas, or,
	// when Deltas is nil, as one delta per word with its trailing space.
	Content string
	// Deltas are the pieces of a streamed reply. When set, a plain reply
	// returns their concatenation and Content is ignored.
	Deltas []string
	// FinishReason is reported with the completion; empty means "stop".
	FinishReason string
	// Model is the model name reported; empty means the request's model, or
	// ModelDefault when the request names none.
	Model string
	// Usage is the token count reported. Nil reports an estimate: one
	// prompt token per word of the request's messages and one completion
	// token per delta.
	Usage *Usage
	// OmitUsage leaves usage out of the reply, streamed or not, as some
	// OpenAI-compatible servers do.
	OmitUsage bool

	// Status, when not 0 or 200, makes the reply an error with this status
	// and a body {"error":{"code": ErrorCode, "message": ErrorMessage}}.
	Status       int
	ErrorCode    string
	ErrorMessage string
	// RetryAfter and RetryAfterMS set the Retry-After header (seconds or an
	// HTTP date) and the retry-after-ms header that Azure OpenAI sends.
	RetryAfter   string
	RetryAfterMS string

	// Delay is the wait before the response headers are written. The wait
	// ends early when the client gives up on the request.
	Delay time.Duration
	// DeltaDelay is the wait before each streamed delta.
	DeltaDelay time.Duration
	// CutAfterDeltas, when positive, aborts the connection after that many
	// streamed deltas, without a finish reason, usage or [DONE], as a
	// dropped connection would.
	CutAfterDeltas int
	// RawBody, when not empty, is written as the whole body of a 200
	// response instead of a completion, with the content type that the
	// request's stream flag implies. Tests use it for malformed responses.
	RawBody string
}

// RateLimited returns a 429 reply whose Retry-After header is retryAfter,
// in seconds.
func RateLimited(retryAfter string) Reply {
	return Reply{
		Status:       http.StatusTooManyRequests,
		ErrorCode:    "429",
		ErrorMessage: "Requests to the ChatCompletions_Create Operation have exceeded the rate limit.",
		RetryAfter:   retryAfter,
	}
}

// ServerError returns a 500 reply.
func ServerError() Reply {
	return Reply{
		Status:       http.StatusInternalServerError,
		ErrorCode:    "server_error",
		ErrorMessage: "The server had an error while processing your request.",
	}
}

// Option configures a Server.
type Option func(*Server)

// WithAnswer makes every request that the queue does not script succeed
// with content.
func WithAnswer(content string) Option {
	return func(s *Server) {
		s.responder = func(Request) Reply { return Reply{Content: content} }
	}
}

// WithResponder computes the reply of every request that the queue does not
// script. The function runs on the server's goroutines, so it must be safe
// for concurrent use when the code under test sends concurrent requests.
func WithResponder(responder func(Request) Reply) Option {
	return func(s *Server) { s.responder = responder }
}

// WithAPIKey makes the server respond 401 unless a request carries key in an
// api-key header or as "Authorization: Bearer key".
func WithAPIKey(key string) Option {
	return func(s *Server) { s.apiKey = key }
}

// Server is a running chat completions server. It is safe for concurrent
// use.
type Server struct {
	// URL is the server's base URL, such as http://127.0.0.1:40123, with no
	// trailing slash.
	URL string

	server    *httptest.Server
	t         testing.TB
	responder func(Request) Reply
	apiKey    string

	mu       sync.Mutex
	queue    []Reply
	requests []Request
}

// NewServer starts a server on the loopback interface and closes it when the
// test ends.
func NewServer(t testing.TB, options ...Option) *Server {
	t.Helper()
	s := &Server{t: t}
	WithAnswer(AnswerDefault)(s)
	for _, option := range options {
		option(s)
	}
	s.server = httptest.NewServer(http.HandlerFunc(s.handle))
	s.URL = s.server.URL
	t.Cleanup(s.server.Close)
	return s
}

// Client returns an HTTP client for the server.
func (s *Server) Client() *http.Client {
	return s.server.Client()
}

// Enqueue scripts the replies to the next requests, one each, in order.
// Later requests fall back to the responder.
func (s *Server) Enqueue(replies ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = append(s.queue, replies...)
}

// Requests returns a copy of every request received so far, in order of
// arrival.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// LastRequest returns the latest request. It fails the test when there is
// none.
func (s *Server) LastRequest() Request {
	s.t.Helper()
	requests := s.Requests()
	if len(requests) == 0 {
		s.t.Fatal("llmtest: the server has received no request")
	}
	return requests[len(requests)-1]
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(r.URL.Path, "/chat/completions") {
		writeError(w, http.StatusNotFound, "404", "llmtest serves only paths ending in /chat/completions, not "+r.URL.Path)
		return
	}
	if r.Method != http.MethodPost {
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "use POST")
		return
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "read body: "+err.Error())
		return
	}
	request := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), RawBody: raw}
	if err := json.Unmarshal(raw, &request.Body); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "invalid JSON body: "+err.Error())
		return
	}

	reply := s.record(request)

	if s.apiKey != "" && r.Header.Get("api-key") != s.apiKey && r.Header.Get("Authorization") != "Bearer "+s.apiKey {
		writeError(w, http.StatusUnauthorized, "invalid_api_key", "Incorrect API key provided.")
		return
	}
	if len(request.Body.Messages) == 0 {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "'messages' must contain at least one message")
		return
	}
	if !wait(r, reply.Delay) {
		return
	}
	if reply.Status != 0 && reply.Status != http.StatusOK {
		if reply.RetryAfter != "" {
			w.Header().Set("Retry-After", reply.RetryAfter)
		}
		if reply.RetryAfterMS != "" {
			w.Header().Set("retry-after-ms", reply.RetryAfterMS)
		}
		writeError(w, reply.Status, reply.ErrorCode, reply.ErrorMessage)
		return
	}

	completion := newCompletion(request, reply)
	if request.Body.Stream {
		streamCompletion(w, r, request, reply, completion)
		return
	}
	if reply.RawBody != "" {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, reply.RawBody)
		return
	}
	writeJSON(w, completion.message())
}

// record stores request and returns its reply: the next queued one, or the
// responder's.
func (s *Server) record(request Request) Reply {
	s.mu.Lock()
	s.requests = append(s.requests, request)
	var reply Reply
	queued := len(s.queue) > 0
	if queued {
		reply = s.queue[0]
		s.queue = s.queue[1:]
	}
	responder := s.responder
	s.mu.Unlock()

	if queued {
		return reply
	}
	return responder(request)
}

// wait pauses for d and reports whether the client is still waiting.
func wait(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return r.Context().Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// completion is the reply resolved against its request.
type completion struct {
	id           string
	created      int64
	model        string
	deltas       []string
	finishReason string
	usage        *Usage
}

func newCompletion(request Request, reply Reply) completion {
	c := completion{
		id:           fmt.Sprintf("chatcmpl-llmtest-%d", time.Now().UnixNano()),
		created:      time.Now().Unix(),
		model:        reply.Model,
		deltas:       reply.Deltas,
		finishReason: reply.FinishReason,
	}
	if c.model == "" {
		c.model = request.Body.Model
	}
	if c.model == "" {
		c.model = ModelDefault
	}
	if c.deltas == nil {
		c.deltas = splitWords(reply.Content)
	}
	if c.finishReason == "" {
		c.finishReason = "stop"
	}
	if !reply.OmitUsage {
		c.usage = reply.Usage
		if c.usage == nil {
			prompt := 0
			for _, message := range request.Body.Messages {
				prompt += len(strings.Fields(message.Content))
			}
			c.usage = &Usage{PromptTokens: prompt, CompletionTokens: len(c.deltas)}
		}
	}
	return c
}

// splitWords splits content after each run of spaces, so the pieces join
// back to content exactly.
func splitWords(content string) []string {
	var pieces []string
	for content != "" {
		end := strings.IndexByte(content, ' ')
		if end < 0 {
			pieces = append(pieces, content)
			break
		}
		for end < len(content) && content[end] == ' ' {
			end++
		}
		pieces = append(pieces, content[:end])
		content = content[end:]
	}
	return pieces
}

// usageJSON is the usage object of the protocol.
func (c completion) usageJSON() map[string]int {
	return map[string]int{
		"prompt_tokens":     c.usage.PromptTokens,
		"completion_tokens": c.usage.CompletionTokens,
		"total_tokens":      c.usage.PromptTokens + c.usage.CompletionTokens,
	}
}

// message is the body of a non-streamed reply.
func (c completion) message() map[string]any {
	body := map[string]any{
		"id":      c.id,
		"object":  "chat.completion",
		"created": c.created,
		"model":   c.model,
		"choices": []map[string]any{{
			"index":         0,
			"message":       map[string]any{"role": "assistant", "content": strings.Join(c.deltas, "")},
			"finish_reason": c.finishReason,
		}},
	}
	if c.usage != nil {
		body["usage"] = c.usageJSON()
	}
	return body
}

// chunk is one chat.completion.chunk event with the given choices.
func (c completion) chunk(choices []map[string]any) map[string]any {
	return map[string]any{
		"id":      c.id,
		"object":  "chat.completion.chunk",
		"created": c.created,
		"model":   c.model,
		"choices": choices,
	}
}

// streamCompletion writes the reply as Server-Sent Events in the order
// OpenAI sends them. A first chunk carries the role, then one chunk per
// delta and a chunk with the finish reason. When the request set
// stream_options.include_usage, a usage chunk with no choices follows.
// [DONE] ends the stream.
func streamCompletion(w http.ResponseWriter, r *http.Request, request Request, reply Reply, c completion) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	if reply.RawBody != "" {
		io.WriteString(w, reply.RawBody)
		return
	}
	flusher, _ := w.(http.Flusher)
	send := func(event any) {
		payload, err := json.Marshal(event)
		if err != nil {
			panic(fmt.Sprintf("llmtest: encode event: %v", err))
		}
		fmt.Fprintf(w, "data: %s\n\n", payload)
		if flusher != nil {
			flusher.Flush()
		}
	}

	send(c.chunk([]map[string]any{{"index": 0, "delta": map[string]any{"role": "assistant", "content": ""}, "finish_reason": nil}}))
	for i, delta := range c.deltas {
		if reply.CutAfterDeltas > 0 && i == reply.CutAfterDeltas {
			// Aborting the handler closes the connection without the final
			// zero-length chunk, so the client reads an unexpected EOF.
			panic(http.ErrAbortHandler)
		}
		if !wait(r, reply.DeltaDelay) {
			return
		}
		send(c.chunk([]map[string]any{{"index": 0, "delta": map[string]any{"content": delta}, "finish_reason": nil}}))
	}
	if reply.CutAfterDeltas > 0 {
		panic(http.ErrAbortHandler)
	}
	send(c.chunk([]map[string]any{{"index": 0, "delta": map[string]any{}, "finish_reason": c.finishReason}}))
	includeUsage := request.Body.StreamOptions != nil && request.Body.StreamOptions.IncludeUsage
	if includeUsage && c.usage != nil {
		usageChunk := c.chunk([]map[string]any{})
		usageChunk["usage"] = c.usageJSON()
		send(usageChunk)
	}
	io.WriteString(w, "data: [DONE]\n\n")
	if flusher != nil {
		flusher.Flush()
	}
}

func writeJSON(w http.ResponseWriter, body any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(body)
}

// writeError writes an error in the shape OpenAI and Azure OpenAI use.
func writeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{
		"error": map[string]any{"code": code, "message": message},
	})
}
