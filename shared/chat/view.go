package chat

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"github.com/bondingai/platform/shared/store"
)

// ConversationView is a conversation as the API returns it.
type ConversationView struct {
	ID        uuid.UUID     `json:"id"`
	Title     string        `json:"title"`
	CreatedAt time.Time     `json:"created_at"`
	UpdatedAt time.Time     `json:"updated_at"`
	Messages  []MessageView `json:"messages,omitempty"`
}

// MessageView is a message as the API returns it. Model, token counts and
// latency are set on assistant messages.
type MessageView struct {
	ID               uuid.UUID       `json:"id"`
	ConversationID   uuid.UUID       `json:"conversation_id"`
	Role             string          `json:"role"`
	Content          string          `json:"content"`
	Citations        json.RawMessage `json:"citations"`
	Model            *string         `json:"model,omitempty"`
	PromptTokens     *int            `json:"prompt_tokens,omitempty"`
	CompletionTokens *int            `json:"completion_tokens,omitempty"`
	LatencyMS        *int            `json:"latency_ms,omitempty"`
	CreatedAt        time.Time       `json:"created_at"`
}

// ReplyView is the answer to POST /api/conversations/{id}/messages, and the
// data of the final "done" event of a streamed answer.
type ReplyView struct {
	Message   MessageView `json:"message"`
	Citations []Citation  `json:"citations"`
	FollowUps []string    `json:"follow_ups"`
	Usage     Usage       `json:"usage"`
}

// ContextView is the data of the "context" event of a streamed answer.
type ContextView struct {
	Query   string   `json:"query"`
	Sources []Source `json:"sources"`
}

// NewConversationView returns the view of c, with messages when given.
func NewConversationView(c *store.Conversation, messages []*store.Message) ConversationView {
	view := ConversationView{ID: c.ID, Title: c.Title, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
	if messages != nil {
		view.Messages = make([]MessageView, 0, len(messages))
		for _, m := range messages {
			view.Messages = append(view.Messages, NewMessageView(m))
		}
	}
	return view
}

// NewMessageView returns the view of m.
func NewMessageView(m *store.Message) MessageView {
	citations := m.Citations
	if len(citations) == 0 || string(citations) == "null" {
		citations = json.RawMessage("[]")
	}
	return MessageView{
		ID: m.ID, ConversationID: m.ConversationID, Role: m.Role, Content: m.Content, Citations: citations,
		Model: m.Model, PromptTokens: m.PromptTokens, CompletionTokens: m.CompletionTokens, LatencyMS: m.LatencyMS,
		CreatedAt: m.CreatedAt,
	}
}

// NewReplyView returns the view of r.
// Empty lists are sent as [], never null, so clients need no null check.
func NewReplyView(r *Reply) ReplyView {
	view := ReplyView{Message: NewMessageView(r.Message), Citations: r.Citations, FollowUps: r.FollowUps, Usage: r.Usage}
	if view.Citations == nil {
		view.Citations = []Citation{}
	}
	if view.FollowUps == nil {
		view.FollowUps = []string{}
	}
	return view
}
