package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/bondingai/platform/shared/httpretry"
	"github.com/bondingai/platform/shared/llm"
)

// maxResponseBytes bounds a non-streamed response body. A completion of the
// largest output current models allow, about 100,000 tokens, is well below
// it.
const maxResponseBytes = 16 << 20

// maxErrorMessageBytes bounds the server message copied into an error.
const maxErrorMessageBytes = 500

// chatMessage is one message of a request or a response.
type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// streamOptions is the stream_options object of a streamed request.
type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// chatRequest is the JSON body of a chat completions request. It sends
// max_tokens rather than max_completion_tokens, because OpenAI-compatible
// servers accept it more widely.
type chatRequest struct {
	Model         string         `json:"model,omitempty"`
	Messages      []chatMessage  `json:"messages"`
	MaxTokens     int            `json:"max_tokens,omitempty"`
	Temperature   *float64       `json:"temperature,omitempty"`
	Stream        bool           `json:"stream,omitempty"`
	StreamOptions *streamOptions `json:"stream_options,omitempty"`
}

// usage is the usage object of a response or of the last streamed chunk.
type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
}

// chatResponse is the documented JSON body of a successful non-streamed
// response. Content is null when a content filter or a tool call replaces
// the text.
type chatResponse struct {
	Model   string `json:"model"`
	Choices []struct {
		Message struct {
			Content *string `json:"content"`
		} `json:"message"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *usage `json:"usage"`
}

// errorResponse is the JSON body that OpenAI and Azure OpenAI send with an
// error status, and inside a stream when it fails after the status line.
type errorResponse struct {
	Error *struct {
		Code    json.RawMessage `json:"code"`
		Message string          `json:"message"`
	} `json:"error"`
}

// encodeRequest checks req and encodes it as the request body.
func (c *Client) encodeRequest(req llm.Request, stream bool) ([]byte, error) {
	if len(req.Messages) == 0 {
		return nil, errors.New("request has no messages")
	}
	if req.MaxTokens < 0 {
		return nil, fmt.Errorf("invalid MaxTokens %d: expected 0 (the model's limit) or more", req.MaxTokens)
	}

	body := chatRequest{
		Messages:    make([]chatMessage, len(req.Messages)),
		MaxTokens:   req.MaxTokens,
		Temperature: req.Temperature,
	}
	for i, message := range req.Messages {
		if message.Role == "" {
			return nil, fmt.Errorf("message %d has no role", i)
		}
		body.Messages[i] = chatMessage{Role: message.Role, Content: message.Content}
	}
	if c.config.Provider == ProviderOpenAICompatible {
		body.Model = c.config.Model
	}
	if stream {
		body.Stream = true
		body.StreamOptions = &streamOptions{IncludeUsage: true}
	}
	payload, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	return payload, nil
}

// attemptFunc runs one HTTP attempt under attemptCtx. On failure, a
// negative wait means the error is final, zero means retry after the
// computed backoff, and a positive wait is the server's Retry-After.
type attemptFunc func(attemptCtx context.Context) (*llm.Response, time.Duration, error)

// withRetries runs attempt until it succeeds, fails for good, or
// MaxAttempts tries have failed. Each attempt gets its own RequestTimeout.
func (c *Client) withRetries(ctx context.Context, operation string, attempt attemptFunc) (*llm.Response, error) {
	for number := 1; ; number++ {
		attemptCtx, cancel := context.WithTimeout(ctx, c.config.RequestTimeout)
		response, wait, err := attempt(attemptCtx)
		cancel()
		if err == nil {
			return response, nil
		}
		if wait < 0 || number >= c.config.MaxAttempts {
			if number > 1 {
				return nil, fmt.Errorf("after %d attempts: %w", number, err)
			}
			return nil, err
		}
		if wait == 0 {
			wait = httpretry.Backoff(c.config.InitialBackoff, c.config.MaxBackoff, number)
		} else if wait > c.config.MaxRetryAfter {
			return nil, fmt.Errorf("server asked to retry after %s, longer than the %s limit: %w", wait, c.config.MaxRetryAfter, err)
		}

		c.config.Logger.WarnContext(ctx, "chat model request failed, retrying",
			slog.String("model", c.name),
			slog.String("operation", operation),
			slog.Int("attempt", number),
			slog.Duration("wait", wait),
			slog.Any("error", err))
		if sleepErr := c.sleep(ctx, wait); sleepErr != nil {
			return nil, fmt.Errorf("wait to retry after attempt %d (%v): %w", number, err, sleepErr)
		}
	}
}

// send posts payload and returns the response when its status is 200. For
// any other outcome it returns the wait and error that attemptFunc
// documents; the caller closes the body only on success.
func (c *Client) send(ctx, attemptCtx context.Context, payload []byte, accept string) (*http.Response, time.Duration, error) {
	request, err := http.NewRequestWithContext(attemptCtx, http.MethodPost, c.url, bytes.NewReader(payload))
	if err != nil {
		return nil, -1, fmt.Errorf("build request for %s: %w", c.url, err)
	}
	request.Header.Set("Content-Type", "application/json")
	request.Header.Set("Accept", accept)
	if err := c.authorize(attemptCtx, request); err != nil {
		return nil, -1, err
	}

	response, err := c.httpClient.Do(request)
	if err != nil {
		return nil, c.transientWait(ctx), c.transportError(attemptCtx, "send request to", err)
	}
	if response.StatusCode == http.StatusOK {
		return response, 0, nil
	}
	defer response.Body.Close()

	raw, err := io.ReadAll(io.LimitReader(response.Body, maxResponseBytes))
	if err != nil {
		return nil, c.transientWait(ctx), c.transportError(attemptCtx, "read error response from", err)
	}
	apiErr := c.newAPIError(response.StatusCode, raw)
	if !apiErr.Temporary() {
		return nil, -1, apiErr
	}
	return nil, httpretry.RetryAfter(response.Header), apiErr
}

// transientWait returns the wait for a network failure: final when the
// caller's context has ended, otherwise retry after backoff, because a
// timeout of one attempt or a dropped connection may not happen again.
func (c *Client) transientWait(ctx context.Context) time.Duration {
	if ctx.Err() != nil {
		return -1
	}
	return 0
}

// transportError wraps a network or timeout error with the URL and, when
// the attempt's own deadline expired, RequestTimeout. Other deadlines, such
// as the http.Client's Timeout, keep their own message.
func (c *Client) transportError(attemptCtx context.Context, action string, err error) error {
	if errors.Is(attemptCtx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%s %s: timed out after %s (CHAT_REQUEST_TIMEOUT): %w", action, c.url, c.config.RequestTimeout, err)
	}
	return fmt.Errorf("%s %s: %w", action, c.url, err)
}

// completeOnce sends one non-streamed request and decodes its completion.
func (c *Client) completeOnce(ctx, attemptCtx context.Context, payload []byte) (*llm.Response, time.Duration, error) {
	response, wait, err := c.send(ctx, attemptCtx, payload, "application/json")
	if err != nil {
		return nil, wait, err
	}
	defer response.Body.Close()

	raw, err := io.ReadAll(io.LimitReader(response.Body, maxResponseBytes))
	if err != nil {
		return nil, c.transientWait(ctx), c.transportError(attemptCtx, "read response from", err)
	}
	completion, err := decodeCompletion(raw)
	if err != nil {
		return nil, -1, fmt.Errorf("invalid response from %s: %w", c.url, err)
	}
	return completion, 0, nil
}

// decodeCompletion reads the first choice of a non-streamed response.
func decodeCompletion(raw []byte) (*llm.Response, error) {
	var parsed chatResponse
	if err := json.Unmarshal(raw, &parsed); err != nil {
		return nil, fmt.Errorf("parse JSON: %w", err)
	}
	if len(parsed.Choices) == 0 {
		return nil, errors.New("no choices in the response")
	}

	choice := parsed.Choices[0]
	completion := &llm.Response{Model: parsed.Model}
	if choice.Message.Content != nil {
		completion.Content = *choice.Message.Content
	}
	if choice.FinishReason != nil {
		completion.FinishReason = *choice.FinishReason
	}
	if parsed.Usage != nil {
		completion.Usage = llm.Usage{PromptTokens: parsed.Usage.PromptTokens, CompletionTokens: parsed.Usage.CompletionTokens}
	} else {
		completion.UsageEstimated = true
	}
	return completion, nil
}

// authorize adds the api-key header, or a bearer token from the API key or
// the Entra ID credential. The credential is asked on every request and is
// expected to cache its token, as the azidentity credentials do.
func (c *Client) authorize(ctx context.Context, request *http.Request) error {
	switch {
	case c.config.Provider == ProviderAzureOpenAI && c.config.APIKey != "":
		request.Header.Set("api-key", c.config.APIKey)
	case c.config.Provider == ProviderAzureOpenAI:
		token, err := c.config.Credential.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{cognitiveServicesScope}})
		if err != nil {
			return fmt.Errorf("get Entra ID token for %s: %w", cognitiveServicesScope, err)
		}
		request.Header.Set("Authorization", "Bearer "+token.Token)
	case c.config.APIKey != "":
		request.Header.Set("Authorization", "Bearer "+c.config.APIKey)
	}
	return nil
}
