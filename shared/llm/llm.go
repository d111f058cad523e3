// Package llm is the platform's interface to chat language models: Azure
// OpenAI deployments in the customer's subscription and OpenAI-compatible
// endpoints inside the customer's network. Implementations live in
// subpackages; the chat service depends only on Model.
package llm

import "context"

// Roles of chat messages, as the chat completions API names them.
const (
	RoleSystem    = "system"
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// Message is one chat message.
type Message struct {
	Role    string
	Content string
}

// Request is one chat completion request.
type Request struct {
	Messages []Message
	// MaxTokens caps the completion; 0 leaves it to the model.
	MaxTokens int
	// Temperature is the sampling temperature; nil leaves it to the model.
	Temperature *float64
}

// Usage counts the tokens a completion used, as the model reports them.
type Usage struct {
	PromptTokens     int
	CompletionTokens int
}

// Response is a finished completion.
type Response struct {
	Content string
	Usage   Usage
	// Model is the model name the endpoint reports.
	Model        string
	FinishReason string
	// UsageEstimated is true when the endpoint reported no token counts and
	// Usage holds the client's estimate instead.
	UsageEstimated bool
}

// Model generates chat completions.
type Model interface {
	// Name identifies the model in stored messages and analytics, such as
	// "azure-openai/gpt-4o-mini".
	Name() string
	// Complete returns the whole completion.
	Complete(ctx context.Context, req Request) (*Response, error)
	// Stream calls onDelta with each piece of the completion as it arrives
	// and returns the whole completion at the end. An error from onDelta
	// stops the stream and is returned.
	Stream(ctx context.Context, req Request, onDelta func(delta string) error) (*Response, error)
}
