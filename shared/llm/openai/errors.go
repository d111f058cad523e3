package openai

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// ErrStreamInterrupted marks a stream that failed after at least one delta
// reached the caller. The client does not retry it, so the caller holds a
// partial completion and decides what to show.
var ErrStreamInterrupted = errors.New("stream interrupted after the first delta")

// APIError is an error status from the chat completions service, or an
// error event inside a stream. Callers inspect it with errors.As, for
// example to tell bad credentials from an outage.
type APIError struct {
	// StatusCode is the HTTP status of the response; 200 for an error event
	// that arrived inside a stream.
	StatusCode int
	// Code is the service's error code, such as "DeploymentNotFound",
	// "invalid_api_key" or "content_filter", when the body has one.
	Code string
	// Message is the service's error message, shortened to 500 bytes.
	Message string
	// Hint names the setting to check, when the status points at one.
	Hint string
}

// Error describes the status, the service's message and the hint.
func (e *APIError) Error() string {
	var b strings.Builder
	if e.StatusCode == http.StatusOK {
		b.WriteString("chat completions service sent an error event")
	} else {
		fmt.Fprintf(&b, "chat completions service returned %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	}
	if e.Code != "" {
		fmt.Fprintf(&b, " (%s)", e.Code)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if e.Hint != "" {
		fmt.Fprintf(&b, "; %s", e.Hint)
	}
	return b.String()
}

// Temporary reports whether a retry may succeed: 408, 429 and every 5xx.
func (e *APIError) Temporary() bool {
	return e.StatusCode == http.StatusRequestTimeout ||
		e.StatusCode == http.StatusTooManyRequests ||
		e.StatusCode >= 500
}

// parseErrorBody reads the code and message of an error body into apiErr.
// It reports whether body is an OpenAI error object.
func parseErrorBody(apiErr *APIError, body []byte) bool {
	var parsed errorResponse
	if json.Unmarshal(body, &parsed) != nil || parsed.Error == nil {
		return false
	}
	apiErr.Message = parsed.Error.Message
	// The code is a string at OpenAI and Azure, but some servers send a
	// number or null.
	var code string
	if json.Unmarshal(parsed.Error.Code, &code) == nil {
		apiErr.Code = code
	} else if len(parsed.Error.Code) > 0 && string(parsed.Error.Code) != "null" {
		apiErr.Code = string(parsed.Error.Code)
	}
	return true
}

// newAPIError builds the error for an error status, with a hint naming the
// setting that the status most likely points at.
func (c *Client) newAPIError(status int, body []byte) *APIError {
	apiErr := &APIError{StatusCode: status}
	if !parseErrorBody(apiErr, body) || apiErr.Message == "" {
		apiErr.Message = strings.TrimSpace(string(body))
	}
	if len(apiErr.Message) > maxErrorMessageBytes {
		apiErr.Message = strings.ToValidUTF8(apiErr.Message[:maxErrorMessageBytes], "") + "…"
	}

	azure := c.config.Provider == ProviderAzureOpenAI
	switch {
	case status == http.StatusUnauthorized && azure && c.config.APIKey != "":
		apiErr.Hint = "check AZURE_OPENAI_API_KEY"
	case status == http.StatusUnauthorized && azure:
		apiErr.Hint = "check that the Entra ID credential is valid for " + cognitiveServicesScope
	case status == http.StatusUnauthorized:
		apiErr.Hint = "check OPENAI_API_KEY"
	case status == http.StatusForbidden && azure && c.config.APIKey == "":
		apiErr.Hint = "grant the identity the Cognitive Services OpenAI User role on the resource"
	case status == http.StatusNotFound && azure:
		apiErr.Hint = fmt.Sprintf("deployment %q not found at %s: check AZURE_OPENAI_CHAT_DEPLOYMENT, AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_API_VERSION",
			c.config.Deployment, c.config.Endpoint)
	case status == http.StatusNotFound:
		apiErr.Hint = fmt.Sprintf("%s not found: check OPENAI_BASE_URL and OPENAI_CHAT_MODEL (%q)", c.url, c.config.Model)
	}
	return apiErr
}
