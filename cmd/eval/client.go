package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// apiClient calls the platform's HTTP API with an access token.
type apiClient struct {
	baseURL string
	token   string
	http    *http.Client
}

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

func (c *apiClient) post(ctx context.Context, path string, body any, accept string) (*http.Response, error) {
	data, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.baseURL+path, bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("POST %s: %w", path, err)
	}
	return resp, nil
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
	resp, err := c.post(ctx, "/api/search", map[string]any{"query": query, "top_k": topK}, "")
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
	resp, err := c.post(ctx, "/api/conversations", map[string]string{"title": title}, "")
	if err != nil {
		return "", err
	}
	var out struct {
		ID string `json:"id"`
	}
	return out.ID, decode(resp, http.StatusCreated, &out)
}

// ask posts the question and returns the reply, read from the final "done"
// event when streaming.
func (c *apiClient) ask(ctx context.Context, conversationID, content string, stream bool) (*reply, error) {
	path := "/api/conversations/" + conversationID + "/messages"
	accept := ""
	if stream {
		accept = "text/event-stream"
	}
	resp, err := c.post(ctx, path, map[string]string{"content": content}, accept)
	if err != nil {
		return nil, err
	}
	var out reply
	if !stream {
		return &out, decode(resp, http.StatusCreated, &out)
	}

	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("POST %s: status %d: %s", path, resp.StatusCode, strings.TrimSpace(string(data)))
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
			return nil, fmt.Errorf("POST %s: the stream ended with an error event: %s", path, strings.TrimPrefix(line, "data: "))
		case strings.HasPrefix(line, "data: ") && event == "done":
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &out); err != nil {
				return nil, fmt.Errorf("decode done event: %w", err)
			}
			return &out, nil
		}
	}
	if err := scanner.Err(); err != nil {
		return nil, fmt.Errorf("read event stream of %s: %w", path, err)
	}
	return nil, fmt.Errorf("POST %s: the event stream ended without a done event", path)
}
