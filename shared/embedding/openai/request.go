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
)

// maxResponseBytes bounds a response body. The largest expected response,
// 2048 vectors of 3072 floats as JSON, is about 130 MB.
const maxResponseBytes = 256 << 20

// maxErrorMessageBytes bounds the server message copied into an error.
const maxErrorMessageBytes = 500

// embeddingsRequest is the JSON body of an embeddings request.
type embeddingsRequest struct {
	Input      []string `json:"input"`
	Model      string   `json:"model,omitempty"`
	Dimensions int      `json:"dimensions,omitempty"`
}

// embeddingsResponse is the documented JSON body of a successful response.
type embeddingsResponse struct {
	Data []struct {
		Index     *int      `json:"index"`
		Embedding []float32 `json:"embedding"`
	} `json:"data"`
	Model string `json:"model"`
	Usage struct {
		PromptTokens int `json:"prompt_tokens"`
		TotalTokens  int `json:"total_tokens"`
	} `json:"usage"`
}

// errorResponse is the JSON body that OpenAI and Azure OpenAI send with an
// error status.
type errorResponse struct {
	Error struct {
		Code    json.RawMessage `json:"code"`
		Message string          `json:"message"`
	} `json:"error"`
}

// embedBatch sends one request for texts, retrying transient failures, and
// returns the vectors in input order.
func (c *Client) embedBatch(ctx context.Context, texts []string) ([][]float32, error) {
	body := embeddingsRequest{Input: texts}
	if c.config.Provider == ProviderOpenAICompatible {
		body.Model = c.config.Model
	}
	if c.config.SendDimensions {
		body.Dimensions = c.config.Dimensions
	}
	payload, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}

	for attempt := 1; ; attempt++ {
		vectors, wait, err := c.attempt(ctx, payload, len(texts))
		if err == nil {
			return vectors, nil
		}
		if wait < 0 || attempt >= c.config.MaxAttempts {
			if attempt > 1 {
				return nil, fmt.Errorf("after %d attempts: %w", attempt, err)
			}
			return nil, err
		}
		if wait == 0 {
			wait = httpretry.Backoff(c.config.InitialBackoff, c.config.MaxBackoff, attempt)
		} else if wait > c.config.MaxRetryAfter {
			return nil, fmt.Errorf("server asked to retry after %s, longer than the %s limit: %w", wait, c.config.MaxRetryAfter, err)
		}

		c.config.Logger.WarnContext(ctx, "embeddings request failed, retrying",
			slog.String("model", c.model),
			slog.Int("attempt", attempt),
			slog.Int("inputs", len(texts)),
			slog.Duration("wait", wait),
			slog.Any("error", err))
		if sleepErr := c.sleep(ctx, wait); sleepErr != nil {
			return nil, fmt.Errorf("wait to retry after attempt %d (%v): %w", attempt, err, sleepErr)
		}
	}
}

// attempt sends one HTTP request. On failure, a negative wait means the
// error is final, zero means retry after the computed backoff, and a
// positive wait is the server's Retry-After.
func (c *Client) attempt(ctx context.Context, payload []byte, inputs int) (vectors [][]float32, wait time.Duration, err error) {
	attemptCtx, cancel := context.WithTimeout(ctx, c.config.RequestTimeout)
	defer cancel()

	request, err := http.NewRequestWithContext(attemptCtx, http.MethodPost, c.url, bytes.NewReader(payload))
	if err != nil {
		return nil, -1, fmt.Errorf("build request for %s: %w", c.url, err)
	}
	request.Header.Set("Content-Type", "application/json")
	request.Header.Set("Accept", "application/json")
	if err := c.authorize(attemptCtx, request); err != nil {
		return nil, -1, err
	}

	response, err := c.httpClient.Do(request)
	if err != nil {
		// The caller's context ending is final. A timeout of this attempt or
		// a network error is worth another try.
		if ctx.Err() != nil {
			return nil, -1, fmt.Errorf("send request to %s: %w", c.url, err)
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, 0, fmt.Errorf("send request to %s: timed out after %s: %w", c.url, c.config.RequestTimeout, err)
		}
		return nil, 0, fmt.Errorf("send request to %s: %w", c.url, err)
	}
	defer response.Body.Close()

	raw, err := io.ReadAll(io.LimitReader(response.Body, maxResponseBytes))
	if err != nil {
		if ctx.Err() != nil {
			return nil, -1, fmt.Errorf("read response from %s: %w", c.url, err)
		}
		return nil, 0, fmt.Errorf("read response from %s: %w", c.url, err)
	}

	if response.StatusCode != http.StatusOK {
		apiErr := c.newAPIError(response.StatusCode, raw)
		if !apiErr.Temporary() {
			return nil, -1, apiErr
		}
		return nil, httpretry.RetryAfter(response.Header), apiErr
	}

	vectors, err = c.decode(raw, inputs)
	if err != nil {
		return nil, -1, fmt.Errorf("invalid response from %s: %w", c.url, err)
	}
	return vectors, 0, nil
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

// decode checks a successful response against the request and orders its
// vectors by index.
func (c *Client) decode(raw []byte, inputs int) ([][]float32, error) {
	var parsed embeddingsResponse
	if err := json.Unmarshal(raw, &parsed); err != nil {
		return nil, fmt.Errorf("parse JSON: %w", err)
	}
	if len(parsed.Data) != inputs {
		return nil, fmt.Errorf("%d embeddings for %d inputs", len(parsed.Data), inputs)
	}

	vectors := make([][]float32, inputs)
	for position, item := range parsed.Data {
		if item.Index == nil {
			return nil, fmt.Errorf("data[%d] has no index", position)
		}
		index := *item.Index
		if index < 0 || index >= inputs {
			return nil, fmt.Errorf("data[%d] has index %d, expected 0 to %d", position, index, inputs-1)
		}
		if vectors[index] != nil {
			return nil, fmt.Errorf("data[%d] repeats index %d", position, index)
		}
		if len(item.Embedding) != c.config.Dimensions {
			return nil, fmt.Errorf("embedding %d has %d dimensions, expected %d (check EMBEDDING_DIMENSIONS against the model)",
				index, len(item.Embedding), c.config.Dimensions)
		}
		if err := normalize(item.Embedding); err != nil {
			return nil, fmt.Errorf("embedding %d: %w", index, err)
		}
		vectors[index] = item.Embedding
	}
	return vectors, nil
}
