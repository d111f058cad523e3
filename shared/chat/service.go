// Package chat answers questions over an organization's documents. It keeps
// conversations in PostgreSQL, retrieves passages with the hybrid search,
// grounds a language model's answer on numbered sources, and checks every
// citation the answer carries against the passages it was given. Without a
// model it answers extractively, quoting the best supporting sentences.
package chat

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bondingai/platform/shared/llm"
	"github.com/bondingai/platform/shared/pagination"
	"github.com/bondingai/platform/shared/retrieval"
	"github.com/bondingai/platform/shared/store"
)

// Input limits.
const (
	// ContentMaxRunes caps a question; it equals the search query limit,
	// since the question is searched as it is.
	ContentMaxRunes = retrieval.QueryMaxRunes
	// TitleMaxRunes caps a conversation title.
	TitleMaxRunes = 200
	// TopKDefault is how many passages an answer retrieves.
	TopKDefault = 5
	// autoTitleRunes is the length of a title taken from the first question.
	autoTitleRunes = 80
)

// Errors the HTTP layer maps to 400.
var (
	ErrInvalidContent  = errors.New("invalid message content")
	ErrInvalidTitle    = errors.New("invalid title")
	ErrInvalidCursor   = errors.New("invalid cursor")
	ErrInvalidFeedback = errors.New("invalid feedback")
)

// Searcher finds the passages that answer a query; *retrieval.Searcher is
// the production implementation.
type Searcher interface {
	Search(ctx context.Context, orgID uuid.UUID, query string, topK int) ([]retrieval.Result, error)
}

// Service runs conversations. Every method takes the caller's organization
// and user: a conversation of another user or organization is
// store.ErrNotFound.
type Service struct {
	Store    *store.Store
	Searcher Searcher
	// Model generates answers; nil selects the extractive answerer.
	Model llm.Model
	// TopK is how many passages an answer retrieves; 0 means TopKDefault.
	TopK int
	// Now returns the current time, for latency; nil means time.Now.
	Now func() time.Time
}

// Create starts a conversation of userID, with an optional title.
func (s *Service) Create(ctx context.Context, orgID, userID uuid.UUID, title string) (*store.Conversation, error) {
	title, err := validateTitle(title, true)
	if err != nil {
		return nil, err
	}
	var c *store.Conversation
	err = s.Store.InOrg(ctx, orgID, func(tx pgx.Tx) error {
		c, err = store.CreateConversation(ctx, tx, orgID, userID, title)
		return err
	})
	return c, err
}

// List returns up to limit of userID's conversations, newest first, and
// the cursor of the next page ("" on the last page).
func (s *Service) List(ctx context.Context, orgID, userID uuid.UUID, limit int, cursor string) ([]*store.Conversation, string, error) {
	after, err := pagination.Decode(cursor)
	if err != nil {
		return nil, "", ErrInvalidCursor
	}
	var conversations []*store.Conversation
	err = s.Store.InOrg(ctx, orgID, func(tx pgx.Tx) error {
		conversations, err = store.ListConversations(ctx, tx, userID, limit+1, after)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(conversations) > limit {
		conversations = conversations[:limit]
		last := conversations[len(conversations)-1]
		next = pagination.Encode(pagination.Cursor{CreatedAt: last.CreatedAt, ID: last.ID})
	}
	return conversations, next, nil
}

// Get returns userID's conversation id with its messages, oldest first.
func (s *Service) Get(ctx context.Context, orgID, userID, id uuid.UUID) (*store.Conversation, []*store.Message, error) {
	var c *store.Conversation
	var messages []*store.Message
	err := s.Store.InOrg(ctx, orgID, func(tx pgx.Tx) error {
		var err error
		if c, err = store.GetConversation(ctx, tx, userID, id); err != nil {
			return err
		}
		messages, err = store.ListMessages(ctx, tx, id)
		return err
	})
	return c, messages, err
}

// Rename sets the title of userID's conversation id.
func (s *Service) Rename(ctx context.Context, orgID, userID, id uuid.UUID, title string) (*store.Conversation, error) {
	title, err := validateTitle(title, false)
	if err != nil {
		return nil, err
	}
	var c *store.Conversation
	err = s.Store.InOrg(ctx, orgID, func(tx pgx.Tx) error {
		c, err = store.RenameConversation(ctx, tx, userID, id, title)
		return err
	})
	return c, err
}

// Delete deletes userID's conversation id.
func (s *Service) Delete(ctx context.Context, orgID, userID, id uuid.UUID) error {
	return s.Store.InOrg(ctx, orgID, func(tx pgx.Tx) error {
		return store.DeleteConversation(ctx, tx, userID, id)
	})
}

// RecordFeedback stores userID's rating ("up" or "down") of an assistant
// message in one of their conversations, replacing an earlier rating. It
// reports whether the rating is new.
func (s *Service) RecordFeedback(ctx context.Context, orgID, userID, messageID uuid.UUID, rating, comment string) (bool, error) {
	if rating != store.RatingUp && rating != store.RatingDown {
		return false, fmt.Errorf("%w: rating must be %q or %q", ErrInvalidFeedback, store.RatingUp, store.RatingDown)
	}
	if utf8.RuneCountInString(comment) > CommentMaxRunes {
		return false, fmt.Errorf("%w: the comment is longer than %d characters", ErrInvalidFeedback, CommentMaxRunes)
	}
	var created bool
	err := s.Store.InOrg(ctx, orgID, func(tx pgx.Tx) error {
		m, err := store.GetOwnedMessage(ctx, tx, userID, messageID)
		if err != nil {
			return err
		}
		if m.Role != store.MessageRoleAssistant {
			return fmt.Errorf("%w: feedback rates assistant messages only", ErrInvalidFeedback)
		}
		created, err = store.UpsertFeedback(ctx, tx, &store.Feedback{
			MessageID: messageID, OrgID: orgID, UserID: userID, Rating: rating, Comment: strings.TrimSpace(comment),
		})
		return err
	})
	return created, err
}

// CommentMaxRunes caps a feedback comment.
const CommentMaxRunes = 2000

func validateTitle(title string, emptyAllowed bool) (string, error) {
	title = strings.TrimSpace(title)
	switch {
	case title == "" && !emptyAllowed:
		return "", fmt.Errorf("%w: the title is empty", ErrInvalidTitle)
	case utf8.RuneCountInString(title) > TitleMaxRunes:
		return "", fmt.Errorf("%w: the title is longer than %d characters", ErrInvalidTitle, TitleMaxRunes)
	case strings.ContainsFunc(title, func(r rune) bool { return r < ' ' }):
		return "", fmt.Errorf("%w: the title contains control characters", ErrInvalidTitle)
	}
	return title, nil
}

// Detail turns a validation error of this package, such as "invalid
// title: the title is empty", into a sentence for a problem response.
func Detail(err error) string {
	_, reason, found := strings.Cut(err.Error(), ": ")
	if !found || reason == "" {
		reason = err.Error()
	}
	return strings.ToUpper(reason[:1]) + reason[1:] + "."
}
