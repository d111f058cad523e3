// Package analytics records usage events, rolls them up per organization
// into hourly and daily rollups, and serves key performance indicators
// (KPIs) and the admin dashboard from those rollups. Events carry ids and
// numbers only, never message text, document text or file names.
package analytics

import (
	"time"

	"github.com/google/uuid"
)

// EventType names what happened.
type EventType string

// Event types.
const (
	EventSignIn              EventType = "sign_in"
	EventConversationStarted EventType = "conversation_started"
	EventMessageAnswered     EventType = "message_answered"
	EventSearch              EventType = "search"
	EventDocumentUploaded    EventType = "document_uploaded"
	EventDocumentReady       EventType = "document_ready"
	EventDocumentFailed      EventType = "document_failed"
	EventFeedbackGiven       EventType = "feedback_given"
)

// Event is one usage event. Numeric fields left at zero are stored as not
// measured.
type Event struct {
	OrgID uuid.UUID
	// UserID is the acting user; uuid.Nil for events without one, such as
	// a document becoming ready.
	UserID uuid.UUID
	Type   EventType
	// OccurredAt defaults to the time Record is called.
	OccurredAt time.Time

	// Model is the chat model that answered a message.
	Model            string
	PromptTokens     int
	CompletionTokens int
	// LatencyMS is the time to answer a message, in milliseconds.
	LatencyMS int
	// CitationCount is the number of citations in an answer.
	CitationCount int
	// Pages and Chunks describe an ingested document.
	Pages  int
	Chunks int
	// DurationMS is the time an operation took, such as ingesting a
	// document or running a search, in milliseconds.
	DurationMS int
	// FeedbackScore is +1 (helpful) or -1 (not helpful).
	FeedbackScore int
	// DocumentIDs are the documents an answer cited, or the document of a
	// document event.
	DocumentIDs []uuid.UUID
}
