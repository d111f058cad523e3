package openai

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/bondingai/platform/shared/llm"
)

// maxEventLineBytes bounds one line of the event stream. A chunk carries a
// few tokens, so real lines are far shorter.
const maxEventLineBytes = 1 << 20

// doneData is the data of the event that ends a stream.
const doneData = "[DONE]"

// chatChunk is one chat.completion.chunk event. Usage is set only in the
// last chunk before [DONE], whose choices are empty, when the request set
// stream_options.include_usage. Azure OpenAI also sends chunks with empty
// choices that carry only content filter results.
type chatChunk struct {
	Model   string `json:"model"`
	Choices []struct {
		Index int `json:"index"`
		Delta struct {
			Content *string `json:"content"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *usage `json:"usage"`
	// Error is set instead when the service fails after the status line.
	Error json.RawMessage `json:"error"`
}

// eventReader reads the data of Server-Sent Events as the HTML Living
// Standard defines them: "data:" lines accumulate, joined by newlines, until
// a blank line dispatches the event. Comment lines (":") and the event, id
// and retry fields are ignored, because the chat completions protocol puts
// everything in data.
type eventReader struct {
	scanner *bufio.Scanner
}

func newEventReader(body io.Reader) *eventReader {
	scanner := bufio.NewScanner(body)
	scanner.Buffer(make([]byte, 0, 64<<10), maxEventLineBytes)
	return &eventReader{scanner: scanner}
}

// next returns the data of the next event. It returns io.EOF at the end of
// the body; an event the body ends in the middle of is discarded, as the
// standard requires.
func (r *eventReader) next() (string, error) {
	var data []string
	hasData := false
	for r.scanner.Scan() {
		line := r.scanner.Text()
		if line == "" {
			if hasData {
				return strings.Join(data, "\n"), nil
			}
			continue
		}
		if strings.HasPrefix(line, ":") {
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		if field == "data" {
			data = append(data, value)
			hasData = true
		}
	}
	if err := r.scanner.Err(); err != nil {
		return "", err
	}
	return "", io.EOF
}

// streamOnce sends one streamed request and delivers its deltas. The wait
// it returns follows attemptFunc: once a delta has been delivered every
// failure is final and wraps ErrStreamInterrupted.
func (c *Client) streamOnce(ctx, attemptCtx context.Context, payload []byte, deliver func(string) error) (*llm.Response, time.Duration, error) {
	response, wait, err := c.send(ctx, attemptCtx, payload, "text/event-stream")
	if err != nil {
		return nil, wait, err
	}
	defer response.Body.Close()

	// A server that ignores "stream": true responds with one JSON
	// completion; deliver it as a single delta.
	contentType := response.Header.Get("Content-Type")
	if mediaType, _, _ := mime.ParseMediaType(contentType); mediaType == "application/json" {
		return c.deliverWholeCompletion(ctx, attemptCtx, response.Body, deliver)
	}

	result := &llm.Response{UsageEstimated: true}
	var content strings.Builder
	delivered := 0
	// fail returns err as final once a delta has been delivered, and otherwise
	// with the wait for a retry.
	fail := func(wait time.Duration, err error) (*llm.Response, time.Duration, error) {
		if delivered > 0 {
			return nil, -1, fmt.Errorf("%w (%d deltas delivered): %w", ErrStreamInterrupted, delivered, err)
		}
		return nil, wait, err
	}

	events := newEventReader(response.Body)
	for number := 1; ; number++ {
		data, err := events.next()
		if errors.Is(err, io.EOF) {
			if result.FinishReason != "" {
				// Some OpenAI-compatible servers close the stream after the
				// finish reason without sending [DONE].
				break
			}
			return fail(c.transientWait(ctx), fmt.Errorf("read stream from %s: the %s stream ended before [DONE]: %w", c.url, contentTypeName(contentType), io.ErrUnexpectedEOF))
		}
		if err != nil {
			return fail(c.transientWait(ctx), c.transportError(attemptCtx, "read stream from", err))
		}
		if data == doneData {
			break
		}

		var chunk chatChunk
		if err := json.Unmarshal([]byte(data), &chunk); err != nil {
			// The event may hold model output, which can quote documents, so
			// the error names only its position and size.
			return fail(-1, fmt.Errorf("invalid stream event %d (%d bytes) from %s: %w", number, len(data), c.url, err))
		}
		if len(chunk.Error) > 0 && string(chunk.Error) != "null" {
			apiErr := &APIError{StatusCode: http.StatusOK}
			if !parseErrorBody(apiErr, []byte(data)) || apiErr.Message == "" {
				apiErr.Message = truncate(data)
			}
			return fail(-1, apiErr)
		}

		if chunk.Model != "" {
			result.Model = chunk.Model
		}
		if chunk.Usage != nil {
			result.Usage = llm.Usage{PromptTokens: chunk.Usage.PromptTokens, CompletionTokens: chunk.Usage.CompletionTokens}
			result.UsageEstimated = false
		}
		for _, choice := range chunk.Choices {
			if choice.Index != 0 {
				continue
			}
			if choice.FinishReason != nil && *choice.FinishReason != "" {
				result.FinishReason = *choice.FinishReason
			}
			if choice.Delta.Content == nil || *choice.Delta.Content == "" {
				continue
			}
			if err := deliver(*choice.Delta.Content); err != nil {
				return nil, -1, err
			}
			content.WriteString(*choice.Delta.Content)
			delivered++
		}
	}

	result.Content = content.String()
	return result, 0, nil
}

// deliverWholeCompletion decodes a non-streamed completion from body and
// delivers its content as one delta.
func (c *Client) deliverWholeCompletion(ctx, attemptCtx context.Context, body io.Reader, deliver func(string) error) (*llm.Response, time.Duration, error) {
	raw, err := io.ReadAll(io.LimitReader(body, maxResponseBytes))
	if err != nil {
		return nil, c.transientWait(ctx), c.transportError(attemptCtx, "read response from", err)
	}
	completion, err := decodeCompletion(raw)
	if err != nil {
		return nil, -1, fmt.Errorf("invalid response from %s: %w", c.url, err)
	}
	if completion.Content != "" {
		if err := deliver(completion.Content); err != nil {
			return nil, -1, err
		}
	}
	return completion, 0, nil
}

// truncate shortens an event for an error message.
func truncate(data string) string {
	const limit = 200
	if len(data) <= limit {
		return data
	}
	return strings.ToValidUTF8(data[:limit], "") + "…"
}

// contentTypeName quotes a Content-Type for an error message, so that a
// proxy's HTML page is distinguished from a cut event stream.
func contentTypeName(contentType string) string {
	if contentType == "" {
		return "untyped"
	}
	return fmt.Sprintf("%q", contentType)
}
