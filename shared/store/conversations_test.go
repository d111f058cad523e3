package store_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bondingai/platform/shared/store"
)

func (f *fixture) createConversation(t *testing.T, org, user uuid.UUID, title string) *store.Conversation {
	t.Helper()
	var c *store.Conversation
	err := f.s.InOrg(f.ctx, org, func(tx pgx.Tx) error {
		var err error
		c, err = store.CreateConversation(f.ctx, tx, org, user, title)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestConversationOwnedByUser(t *testing.T) {
	f := newFixture(t)
	other, err := f.s.EnsureUser(f.ctx, "user_2")
	if err != nil {
		t.Fatal(err)
	}
	c := f.createConversation(t, f.orgA, f.user, "Vacation")

	err = f.s.InOrg(f.ctx, f.orgA, func(tx pgx.Tx) error {
		got, err := store.GetConversation(f.ctx, tx, f.user, c.ID)
		if err != nil {
			return err
		}
		if got.Title != "Vacation" || got.UserID != f.user || got.OrgID != f.orgA {
			t.Errorf("owner reads %+v", got)
		}
		if _, err := store.GetConversation(f.ctx, tx, other, c.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("another user's read: err = %v, want ErrNotFound", err)
		}
		if _, err := store.RenameConversation(f.ctx, tx, other, c.ID, "x"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("another user's rename: err = %v, want ErrNotFound", err)
		}
		if err := store.DeleteConversation(f.ctx, tx, other, c.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("another user's delete: err = %v, want ErrNotFound", err)
		}
		list, err := store.ListConversations(f.ctx, tx, other, 10, nil)
		if err != nil {
			return err
		}
		if len(list) != 0 {
			t.Errorf("another user lists %d conversations", len(list))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestConversationInvisibleToOtherOrganization(t *testing.T) {
	f := newFixture(t)
	c := f.createConversation(t, f.orgA, f.user, "")
	err := f.s.InOrg(f.ctx, f.orgB, func(tx pgx.Tx) error {
		_, err := store.GetConversation(f.ctx, tx, f.user, c.ID)
		return err
	})
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("err = %v, want ErrNotFound", err)
	}
}

func TestConversationListPagesNewestFirst(t *testing.T) {
	f := newFixture(t)
	var ids []uuid.UUID
	for _, title := range []string{"one", "two", "three"} {
		ids = append(ids, f.createConversation(t, f.orgA, f.user, title).ID)
	}
	err := f.s.InOrg(f.ctx, f.orgA, func(tx pgx.Tx) error {
		page1, err := store.ListConversations(f.ctx, tx, f.user, 2, nil)
		if err != nil {
			return err
		}
		if len(page1) != 2 {
			t.Fatalf("page 1 has %d conversations, want 2", len(page1))
		}
		last := page1[1]
		page2, err := store.ListConversations(f.ctx, tx, f.user, 2, &store.ConversationCursor{CreatedAt: last.CreatedAt, ID: last.ID})
		if err != nil {
			return err
		}
		if len(page2) != 1 {
			t.Fatalf("page 2 has %d conversations, want 1", len(page2))
		}
		seen := map[uuid.UUID]bool{}
		for _, c := range append(page1, page2...) {
			seen[c.ID] = true
		}
		for _, id := range ids {
			if !seen[id] {
				t.Errorf("conversation %s missing from the pages", id)
			}
		}
		if page1[0].CreatedAt.Before(page1[1].CreatedAt) || page1[1].CreatedAt.Before(page2[0].CreatedAt) {
			t.Error("pages are not newest first")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestConversationRenameAndDelete(t *testing.T) {
	f := newFixture(t)
	c := f.createConversation(t, f.orgA, f.user, "old")
	err := f.s.InOrg(f.ctx, f.orgA, func(tx pgx.Tx) error {
		renamed, err := store.RenameConversation(f.ctx, tx, f.user, c.ID, "new")
		if err != nil {
			return err
		}
		if renamed.Title != "new" {
			t.Errorf("title = %q, want new", renamed.Title)
		}
		if err := store.DeleteConversation(f.ctx, tx, f.user, c.ID); err != nil {
			return err
		}
		if _, err := store.GetConversation(f.ctx, tx, f.user, c.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("read after delete: err = %v, want ErrNotFound", err)
		}
		if err := store.DeleteConversation(f.ctx, tx, f.user, c.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("second delete: err = %v, want ErrNotFound", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestMessageStoresUsageAndCitations(t *testing.T) {
	f := newFixture(t)
	c := f.createConversation(t, f.orgA, f.user, "")
	chunk := uuid.New()
	model, prompt, completion, latency := "offline/extractive", 120, 40, 35
	err := f.s.InOrg(f.ctx, f.orgA, func(tx pgx.Tx) error {
		question := &store.Message{OrgID: f.orgA, ConversationID: c.ID, Role: store.MessageRoleUser, Content: "How many days?"}
		if err := store.CreateMessage(f.ctx, tx, question); err != nil {
			return err
		}
		answer := &store.Message{
			OrgID: f.orgA, ConversationID: c.ID, Role: store.MessageRoleAssistant, Content: "20 days [1].",
			Citations:       json.RawMessage(`[{"chunk_id":"` + chunk.String() + `","page":1}]`),
			ContextChunkIDs: []uuid.UUID{chunk},
			Model:           &model, PromptTokens: &prompt, CompletionTokens: &completion, LatencyMS: &latency,
		}
		if err := store.CreateMessage(f.ctx, tx, answer); err != nil {
			return err
		}
		messages, err := store.ListMessages(f.ctx, tx, c.ID)
		if err != nil {
			return err
		}
		if len(messages) != 2 || messages[0].ID != question.ID || messages[1].ID != answer.ID {
			t.Fatalf("messages = %+v, want question then answer", messages)
		}
		recent, err := store.ListRecentMessages(f.ctx, tx, c.ID, 1)
		if err != nil {
			return err
		}
		if len(recent) != 1 || recent[0].ID != answer.ID {
			t.Errorf("recent messages = %+v, want only the answer", recent)
		}
		got := messages[1]
		if got.Model == nil || *got.Model != model || *got.PromptTokens != prompt || *got.CompletionTokens != completion || *got.LatencyMS != latency {
			t.Errorf("usage not stored: %+v", got)
		}
		if len(got.ContextChunkIDs) != 1 || got.ContextChunkIDs[0] != chunk {
			t.Errorf("context chunk ids = %v", got.ContextChunkIDs)
		}
		var citations []map[string]any
		if err := json.Unmarshal(got.Citations, &citations); err != nil || len(citations) != 1 || citations[0]["chunk_id"] != chunk.String() {
			t.Errorf("citations = %s (%v)", got.Citations, err)
		}
		if messages[0].Model != nil || string(messages[0].Citations) != "[]" {
			t.Errorf("user message carries %v model, citations %s", messages[0].Model, messages[0].Citations)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestFeedbackOnePerUserUpdatable(t *testing.T) {
	f := newFixture(t)
	other, err := f.s.EnsureUser(f.ctx, "user_2")
	if err != nil {
		t.Fatal(err)
	}
	c := f.createConversation(t, f.orgA, f.user, "")
	err = f.s.InOrg(f.ctx, f.orgA, func(tx pgx.Tx) error {
		m := &store.Message{OrgID: f.orgA, ConversationID: c.ID, Role: store.MessageRoleAssistant, Content: "answer"}
		if err := store.CreateMessage(f.ctx, tx, m); err != nil {
			return err
		}
		if _, err := store.GetOwnedMessage(f.ctx, tx, other, m.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("another user's message read: err = %v, want ErrNotFound", err)
		}
		owned, err := store.GetOwnedMessage(f.ctx, tx, f.user, m.ID)
		if err != nil {
			return err
		}
		if owned.ConversationID != c.ID {
			t.Errorf("owned message conversation = %s", owned.ConversationID)
		}

		first := &store.Feedback{MessageID: m.ID, OrgID: f.orgA, UserID: f.user, Rating: store.RatingUp}
		created, err := store.UpsertFeedback(f.ctx, tx, first)
		if err != nil {
			return err
		}
		if !created {
			t.Error("first feedback not reported as created")
		}
		second := &store.Feedback{MessageID: m.ID, OrgID: f.orgA, UserID: f.user, Rating: store.RatingDown, Comment: "wrong page"}
		created, err = store.UpsertFeedback(f.ctx, tx, second)
		if err != nil {
			return err
		}
		if created {
			t.Error("second feedback reported as created, want an update")
		}
		var rating, comment string
		var count int
		if err := tx.QueryRow(f.ctx, `SELECT rating, comment, count(*) OVER () FROM message_feedback WHERE message_id = $1`, m.ID).Scan(&rating, &comment, &count); err != nil {
			return err
		}
		if rating != "down" || comment != "wrong page" || count != 1 {
			t.Errorf("stored feedback = %s %q (%d rows), want one down with the comment", rating, comment, count)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestFeedbackRejectsUnknownRating(t *testing.T) {
	f := newFixture(t)
	c := f.createConversation(t, f.orgA, f.user, "")
	err := f.s.InOrg(f.ctx, f.orgA, func(tx pgx.Tx) error {
		m := &store.Message{OrgID: f.orgA, ConversationID: c.ID, Role: store.MessageRoleAssistant, Content: "answer"}
		if err := store.CreateMessage(f.ctx, tx, m); err != nil {
			return err
		}
		_, err := store.UpsertFeedback(f.ctx, tx, &store.Feedback{MessageID: m.ID, OrgID: f.orgA, UserID: f.user, Rating: "meh"})
		return err
	})
	if err == nil {
		t.Error("a rating outside up/down was stored")
	}
}
