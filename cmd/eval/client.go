package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// apiClient calls the platform's HTTP API with an access token.
type apiClient struct {
	baseURL string
	token   string
	http    *http.Client
	// sleep waits out a rate limit; nil means time.Sleep honouring ctx.
	sleep func(ctx context.Context, d time.Duration) error
	// rateLimitWaits counts the 429 responses waited out.
	rateLimitWaits int
}

// Rate limit handling: the platform limits chat requests per user and
// minute, so a long question file waits instead of failing.
const (
	rateLimitRetriesMax  = 5
	rateLimitWaitDefault = 10 * time.Second
	rateLimitWaitMax     = 2 * time.Minute
)

type searchHit struct {
	Filename string `json:"filename"`
	Page     *int   `json:"page"`
}

type citation struct {
	Filename string `json:"filename"`
	Page     *int   `json:"page"`
}

type reply struct {
	Message struct {
		ID      string `json:"id"`
		Content string `json:"content"`
	} `json:"message"`
	Citations []citation `json:"citations"`
}

// post sends body as JSON. A 429 response is waited out for its
// Retry-After seconds and retried, up to rateLimitRetriesMax times. It
// returns the response and when its request was sent, so that latency
// leaves out the waits.
func (c *apiClient) post(ctx context.Context, path string, body any, accept string) (*http.Response, time.Time, error) {
	data, err := json.Marshal(body)
	if err != nil {
		return nil, time.Time{}, err
	}
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.baseURL+path, bytes.NewReader(data))
		if err != nil {
			return nil, time.Time{}, err
		}
		req.Header.Set("Authorization", "Bearer "+c.token)
		req.Header.Set("Content-Type", "application/json")
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		sent := time.Now()
		resp, err := c.http.Do(req)
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("POST %s: %w", path, err)
		}
		if resp.StatusCode != http.StatusTooManyRequests || attempt == rateLimitRetriesMax {
			return resp, sent, nil
		}
		wait := retryAfter(resp.Header.Get("Retry-After"))
		resp.Body.Close()
		c.rateLimitWaits++
		if err := c.wait(ctx, wait); err != nil {
			return nil, time.Time{}, err
		}
	}
}

func (c *apiClient) wait(ctx context.Context, d time.Duration) error {
	if c.sleep != nil {
		return c.sleep(ctx, d)
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// retryAfter reads a Retry-After header in seconds.
func retryAfter(header string) time.Duration {
	seconds, err := strconv.Atoi(strings.TrimSpace(header))
	if err != nil || seconds < 0 {
		return rateLimitWaitDefault
	}
	return min(time.Duration(seconds)*time.Second, rateLimitWaitMax)
}

// decode reads a JSON response with status want into v.
func decode(resp *http.Response, want int, v any) error {
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("read %s response: %w", resp.Request.URL.Path, err)
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: status %d: %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, strings.TrimSpace(string(data)))
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode %s response: %w", resp.Request.URL.Path, err)
	}
	return nil
}

func (c *apiClient) search(ctx context.Context, query string, topK int) ([]searchHit, error) {
	resp, _, err := c.post(ctx, "/api/search", map[string]any{"query": query, "top_k": topK}, "")
	if err != nil {
		return nil, err
	}
	var out struct {
		Results []searchHit `json:"results"`
	}
	return out.Results, decode(resp, http.StatusOK, &out)
}

func (c *apiClient) createConversation(ctx context.Context, title string) (string, error) {
	if len([]rune(title)) > 200 {
		title = string([]rune(title)[:200])
	}
	resp, _, err := c.post(ctx, "/api/conversations", map[string]string{"title": title}, "")
	if err != nil {
		return "", err
	}
	var out struct {
		ID string `json:"id"`
	}
	return out.ID, decode(resp, http.StatusCreated, &out)
}

// ask posts the question and returns the reply, read from the final "done"
// event when streaming, and its latency: from sending the request to the
// end of the reply.
func (c *apiClient) ask(ctx context.Context, conversationID, content string, stream bool) (*reply, time.Duration, error) {
	answer, sent, err := c.askOnce(ctx, conversationID, content, stream)
	if err != nil {
		return nil, 0, err
	}
	return answer, time.Since(sent), nil
}

func (c *apiClient) askOnce(ctx context.Context, conversationID, content string, stream bool) (*reply, time.Time, error) {
	path := "/api/conversations/" + conversationID + "/messages"
	accept := ""
	if stream {
		accept = "text/event-stream"
	}
	resp, sent, err := c.post(ctx, path, map[string]string{"content": content}, accept)
	if err != nil {
		return nil, sent, err
	}
	var out reply
	if !stream {
		return &out, sent, decode(resp, http.StatusCreated, &out)
	}

	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(resp.Body)
		return nil, sent, fmt.Errorf("POST %s: status %d: %s", path, resp.StatusCode, strings.TrimSpace(string(data)))
	}
	event := ""
	scanner := bufio.NewScanner(resp.Body)
	scanner.Buffer(make([]byte, 64<<10), 4<<20)
	for scanner.Scan() {
		line := scanner.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: ") && event == "error":
			return nil, sent, fmt.Errorf("POST %s: the stream ended with an error event: %s", path, strings.TrimPrefix(line, "data: "))
		case strings.HasPrefix(line, "data: ") && event == "done":
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &out); err != nil {
				return nil, sent, fmt.Errorf("decode done event: %w", err)
			}
			return &out, sent, nil
		}
	}
	if err := scanner.Err(); err != nil {
		return nil, sent, fmt.Errorf("read event stream of %s: %w", path, err)
	}
	return nil, sent, fmt.Errorf("POST %s: the event stream ended without a done event", path)
}
