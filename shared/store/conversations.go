package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bondingai/platform/shared/pagination"
)

// Message roles stored in messages.role.
const (
	MessageRoleUser      = "user"
	MessageRoleAssistant = "assistant"
)

// Feedback ratings stored in message_feedback.rating.
const (
	RatingUp   = "up"
	RatingDown = "down"
)

// Conversation is a user's chat with the assistant. Every query below
// filters by the owning user as well as by organization, so another
// member of the organization gets ErrNotFound.
type Conversation struct {
	ID        uuid.UUID
	OrgID     uuid.UUID
	UserID    uuid.UUID
	Title     string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Message is one turn of a conversation. The model, token and latency
// fields are set on assistant messages only.
type Message struct {
	ID               uuid.UUID
	OrgID            uuid.UUID
	ConversationID   uuid.UUID
	Role             string
	Content          string
	Citations        json.RawMessage
	ContextChunkIDs  []uuid.UUID
	Model            *string
	PromptTokens     *int
	CompletionTokens *int
	LatencyMS        *int
	CreatedAt        time.Time
}

// Feedback is a user's rating of an assistant message.
type Feedback struct {
	MessageID uuid.UUID
	OrgID     uuid.UUID
	UserID    uuid.UUID
	Rating    string
	Comment   string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ConversationCursor marks a position in the newest-first conversation list.
type ConversationCursor = pagination.Cursor

const conversationColumns = `id, org_id, user_id, title, created_at, updated_at`

func scanConversation(row pgx.Row) (*Conversation, error) {
	var c Conversation
	if err := row.Scan(&c.ID, &c.OrgID, &c.UserID, &c.Title, &c.CreatedAt, &c.UpdatedAt); err != nil {
		return nil, notFound(err)
	}
	return &c, nil
}

// CreateConversation inserts a conversation of userID in the transaction's
// organization.
func CreateConversation(ctx context.Context, tx pgx.Tx, orgID, userID uuid.UUID, title string) (*Conversation, error) {
	c, err := scanConversation(tx.QueryRow(ctx, `
		INSERT INTO conversations (org_id, user_id, title) VALUES ($1, $2, $3)
		RETURNING `+conversationColumns, orgID, userID, title))
	if err != nil {
		return nil, fmt.Errorf("insert conversation of user %s: %w", userID, err)
	}
	return c, nil
}

// GetConversation returns userID's conversation id unless it is deleted.
func GetConversation(ctx context.Context, tx pgx.Tx, userID, id uuid.UUID) (*Conversation, error) {
	return scanConversation(tx.QueryRow(ctx, `SELECT `+conversationColumns+` FROM conversations
		WHERE id = $1 AND user_id = $2 AND deleted_at IS NULL`, id, userID))
}

// ListConversations returns up to limit of userID's conversations, newest
// first, after cursor (nil for the first page).
func ListConversations(ctx context.Context, tx pgx.Tx, userID uuid.UUID, limit int, after *ConversationCursor) ([]*Conversation, error) {
	var rows pgx.Rows
	var err error
	if after == nil {
		rows, err = tx.Query(ctx, `SELECT `+conversationColumns+` FROM conversations
			WHERE user_id = $1 AND deleted_at IS NULL
			ORDER BY created_at DESC, id DESC LIMIT $2`, userID, limit)
	} else {
		rows, err = tx.Query(ctx, `SELECT `+conversationColumns+` FROM conversations
			WHERE user_id = $1 AND deleted_at IS NULL AND (created_at, id) < ($3, $4)
			ORDER BY created_at DESC, id DESC LIMIT $2`, userID, limit, after.CreatedAt, after.ID)
	}
	if err != nil {
		return nil, fmt.Errorf("list conversations of user %s: %w", userID, err)
	}
	defer rows.Close()
	var conversations []*Conversation
	for rows.Next() {
		c, err := scanConversation(rows)
		if err != nil {
			return nil, fmt.Errorf("list conversations of user %s: %w", userID, err)
		}
		conversations = append(conversations, c)
	}
	return conversations, rows.Err()
}

// RenameConversation sets the title of userID's conversation id.
func RenameConversation(ctx context.Context, tx pgx.Tx, userID, id uuid.UUID, title string) (*Conversation, error) {
	c, err := scanConversation(tx.QueryRow(ctx, `UPDATE conversations SET title = $3, updated_at = now()
		WHERE id = $1 AND user_id = $2 AND deleted_at IS NULL
		RETURNING `+conversationColumns, id, userID, title))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("rename conversation %s: %w", id, err)
	}
	return c, err
}

// DeleteConversation marks userID's conversation id deleted; it then
// behaves as missing.
func DeleteConversation(ctx context.Context, tx pgx.Tx, userID, id uuid.UUID) error {
	tag, err := tx.Exec(ctx, `UPDATE conversations SET deleted_at = now(), updated_at = now()
		WHERE id = $1 AND user_id = $2 AND deleted_at IS NULL`, id, userID)
	if err != nil {
		return fmt.Errorf("delete conversation %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// TouchConversation moves the conversation's updated_at to now, after a
// new message.
func TouchConversation(ctx context.Context, tx pgx.Tx, id uuid.UUID) error {
	if _, err := tx.Exec(ctx, `UPDATE conversations SET updated_at = now() WHERE id = $1`, id); err != nil {
		return fmt.Errorf("touch conversation %s: %w", id, err)
	}
	return nil
}

const messageColumns = `id, org_id, conversation_id, role, content, citations, context_chunk_ids,
	model, prompt_tokens, completion_tokens, latency_ms, created_at`

func scanMessage(row pgx.Row) (*Message, error) {
	var m Message
	err := row.Scan(&m.ID, &m.OrgID, &m.ConversationID, &m.Role, &m.Content, &m.Citations, &m.ContextChunkIDs,
		&m.Model, &m.PromptTokens, &m.CompletionTokens, &m.LatencyMS, &m.CreatedAt)
	if err != nil {
		return nil, notFound(err)
	}
	return &m, nil
}

// CreateMessage inserts m into its conversation and fills in its id and
// creation time. Citations default to an empty array.
func CreateMessage(ctx context.Context, tx pgx.Tx, m *Message) error {
	citations := m.Citations
	if len(citations) == 0 {
		citations = json.RawMessage("[]")
	}
	chunkIDs := m.ContextChunkIDs
	if chunkIDs == nil {
		chunkIDs = []uuid.UUID{}
	}
	err := tx.QueryRow(ctx, `
		INSERT INTO messages (org_id, conversation_id, role, content, citations, context_chunk_ids,
			model, prompt_tokens, completion_tokens, latency_ms)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		RETURNING id, created_at`,
		m.OrgID, m.ConversationID, m.Role, m.Content, citations, chunkIDs,
		m.Model, m.PromptTokens, m.CompletionTokens, m.LatencyMS).Scan(&m.ID, &m.CreatedAt)
	if err != nil {
		return fmt.Errorf("insert %s message in conversation %s: %w", m.Role, m.ConversationID, err)
	}
	m.Citations = citations
	m.ContextChunkIDs = chunkIDs
	return nil
}

// ListMessages returns the messages of conversation id, oldest first.
// Callers check ownership with GetConversation first.
func ListMessages(ctx context.Context, tx pgx.Tx, conversationID uuid.UUID) ([]*Message, error) {
	rows, err := tx.Query(ctx, `SELECT `+messageColumns+` FROM messages
		WHERE conversation_id = $1 ORDER BY created_at, id`, conversationID)
	if err != nil {
		return nil, fmt.Errorf("list messages of conversation %s: %w", conversationID, err)
	}
	defer rows.Close()
	var messages []*Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, fmt.Errorf("list messages of conversation %s: %w", conversationID, err)
		}
		messages = append(messages, m)
	}
	return messages, rows.Err()
}

// GetOwnedMessage returns message id when it belongs to a live
// conversation of userID.
func GetOwnedMessage(ctx context.Context, tx pgx.Tx, userID, id uuid.UUID) (*Message, error) {
	return scanMessage(tx.QueryRow(ctx, `SELECT m.id, m.org_id, m.conversation_id, m.role, m.content, m.citations,
			m.context_chunk_ids, m.model, m.prompt_tokens, m.completion_tokens, m.latency_ms, m.created_at
		FROM messages m JOIN conversations c ON c.id = m.conversation_id
		WHERE m.id = $1 AND c.user_id = $2 AND c.deleted_at IS NULL`, id, userID))
}

// UpsertFeedback records userID's rating of message f.MessageID, replacing
// an earlier one. It reports whether the rating is new.
func UpsertFeedback(ctx context.Context, tx pgx.Tx, f *Feedback) (created bool, err error) {
	err = tx.QueryRow(ctx, `
		INSERT INTO message_feedback (message_id, org_id, user_id, rating, comment) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (message_id, user_id) DO UPDATE
			SET rating = EXCLUDED.rating, comment = EXCLUDED.comment, updated_at = now()
		RETURNING created_at, updated_at, (xmax = 0)`,
		f.MessageID, f.OrgID, f.UserID, f.Rating, f.Comment).Scan(&f.CreatedAt, &f.UpdatedAt, &created)
	if err != nil {
		return false, fmt.Errorf("record feedback on message %s: %w", f.MessageID, err)
	}
	return created, nil
}

// ListRecentMessages returns the last limit messages of conversation id,
// oldest first. Callers check ownership with GetConversation first.
func ListRecentMessages(ctx context.Context, tx pgx.Tx, conversationID uuid.UUID, limit int) ([]*Message, error) {
	rows, err := tx.Query(ctx, `SELECT `+messageColumns+` FROM (
			SELECT `+messageColumns+` FROM messages WHERE conversation_id = $1
			ORDER BY created_at DESC, id DESC LIMIT $2
		) recent ORDER BY created_at, id`, conversationID, limit)
	if err != nil {
		return nil, fmt.Errorf("list recent messages of conversation %s: %w", conversationID, err)
	}
	defer rows.Close()
	var messages []*Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, fmt.Errorf("list recent messages of conversation %s: %w", conversationID, err)
		}
		messages = append(messages, m)
	}
	return messages, rows.Err()
}
