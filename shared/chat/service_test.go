package chat_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/bondingai/platform/shared/chat"
	"github.com/bondingai/platform/shared/llm/llmtest"
	"github.com/bondingai/platform/shared/llm/openai"
	"github.com/bondingai/platform/shared/retrieval"
	"github.com/bondingai/platform/shared/store"
	"github.com/bondingai/platform/shared/store/storetest"
)

// recordingSearcher returns fixed results and records the queries it gets.
type recordingSearcher struct {
	mu      sync.Mutex
	results []retrieval.Result
	queries []string
}

func (s *recordingSearcher) Search(_ context.Context, _ uuid.UUID, query string, _ int) ([]retrieval.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queries = append(s.queries, query)
	return s.results, nil
}

func vacationResults() []retrieval.Result {
	page1, page2 := 1, 2
	return []retrieval.Result{
		{ChunkID: uuid.New(), DocumentID: uuid.New(), Filename: "handbook.pdf", Page: &page1,
			Text: "Contoso provides every employee with 20 paid vacation days to support rest."},
		{ChunkID: uuid.New(), DocumentID: uuid.New(), Filename: "handbook.pdf", Page: &page2,
			Text: "Submit vacation requests through the time-off system at least two weeks in advance."},
	}
}

type serviceFixture struct {
	ctx      context.Context
	service  *chat.Service
	searcher *recordingSearcher
	org      uuid.UUID
	user     uuid.UUID
}

func newServiceFixture(t *testing.T, model *llmtest.Server) *serviceFixture {
	t.Helper()
	s, _ := storetest.Open(t)
	ctx := context.Background()
	org, err := s.EnsureOrganization(ctx, "org_chat")
	if err != nil {
		t.Fatal(err)
	}
	user, err := s.EnsureUser(ctx, "user_chat")
	if err != nil {
		t.Fatal(err)
	}
	searcher := &recordingSearcher{results: vacationResults()}
	service := &chat.Service{Store: s, Searcher: searcher}
	if model != nil {
		client, err := openai.New(openai.Config{
			Provider: openai.ProviderOpenAICompatible, Endpoint: model.URL, Model: "test-chat", MaxAttempts: 1,
		}, model.Client())
		if err != nil {
			t.Fatal(err)
		}
		service.Model = client
	}
	return &serviceFixture{ctx: ctx, service: service, searcher: searcher, org: org, user: user}
}

func (f *serviceFixture) conversation(t *testing.T) uuid.UUID {
	t.Helper()
	c, err := f.service.Create(f.ctx, f.org, f.user, "")
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

func TestAskRewritesFollowUpQuestion(t *testing.T) {
	model := llmtest.NewServer(t, llmtest.WithResponder(func(r llmtest.Request) llmtest.Reply {
		switch system := r.Body.Messages[0].Content; {
		case strings.HasPrefix(system, "Rewrite"):
			return llmtest.Reply{Content: "\"How far in advance must vacation requests be submitted?\""}
		case strings.HasPrefix(system, "Suggest"):
			return llmtest.Reply{Content: "- Can I carry days over?\n- Who approves requests?"}
		}
		return llmtest.Reply{Content: "Two weeks in advance [2]."}
	}))
	f := newServiceFixture(t, model)
	id := f.conversation(t)

	if _, err := f.service.Ask(f.ctx, f.org, f.user, id, "How many vacation days do I get?", chat.Observer{}); err != nil {
		t.Fatal(err)
	}
	reply, err := f.service.Ask(f.ctx, f.org, f.user, id, "And how early must I request them?", chat.Observer{})
	if err != nil {
		t.Fatal(err)
	}

	if len(f.searcher.queries) != 2 || f.searcher.queries[1] != "How far in advance must vacation requests be submitted?" {
		t.Errorf("searched %q, want the rewritten follow-up second", f.searcher.queries)
	}
	if f.searcher.queries[0] != "How many vacation days do I get?" {
		t.Errorf("first question searched as %q, want it unchanged", f.searcher.queries[0])
	}
	if reply.Message.Content != "Two weeks in advance [1]." {
		t.Errorf("answer = %q, want the marker renumbered to [1]", reply.Message.Content)
	}
	if len(reply.Citations) != 1 || reply.Citations[0].Page == nil || *reply.Citations[0].Page != 2 {
		t.Errorf("citations = %+v, want page 2", reply.Citations)
	}
	if len(reply.FollowUps) != 2 {
		t.Errorf("follow-ups = %q, want 2", reply.FollowUps)
	}
	if reply.Usage.PromptTokens == 0 || reply.Usage.Model == "" {
		t.Errorf("usage = %+v", reply.Usage)
	}
	// The answer prompt carried the conversation so far.
	var answerPrompt llmtest.Request
	for _, r := range model.Requests() {
		if strings.Contains(r.Body.Messages[0].Content, "Sources:") {
			answerPrompt = r
		}
	}
	if len(answerPrompt.Body.Messages) != 4 {
		t.Errorf("last answer prompt has %d messages, want system, two history messages and the question", len(answerPrompt.Body.Messages))
	}
	if len(answerPrompt.Body.Messages) == 4 && answerPrompt.Body.Messages[2].Content != "Two weeks in advance." {
		t.Errorf("history answer = %q, want it without its citation marker", answerPrompt.Body.Messages[2].Content)
	}
}

func TestAskUnsupportedQuestionSkipsModel(t *testing.T) {
	model := llmtest.NewServer(t)
	f := newServiceFixture(t, model)
	id := f.conversation(t)

	reply, err := f.service.Ask(f.ctx, f.org, f.user, id, "What is the capital of France?", chat.Observer{})
	if err != nil {
		t.Fatal(err)
	}
	if reply.Message.Content != chat.NotSupportedAnswer {
		t.Errorf("answer = %q, want the not-supported answer", reply.Message.Content)
	}
	if len(reply.Citations) != 0 || len(reply.FollowUps) != 0 {
		t.Errorf("citations %v, follow-ups %v, want none", reply.Citations, reply.FollowUps)
	}
	if n := len(model.Requests()); n != 0 {
		t.Errorf("the model got %d requests for an unsupported question", n)
	}
}

func TestAskNoResultsNotSupported(t *testing.T) {
	f := newServiceFixture(t, nil)
	f.searcher.results = nil
	reply, err := f.service.Ask(f.ctx, f.org, f.user, f.conversation(t), "How many vacation days?", chat.Observer{})
	if err != nil {
		t.Fatal(err)
	}
	if reply.Message.Content != chat.NotSupportedAnswer || len(reply.Citations) != 0 {
		t.Errorf("answer = %q with %d citations", reply.Message.Content, len(reply.Citations))
	}
}

func TestAskStreamsContextThenDeltas(t *testing.T) {
	f := newServiceFixture(t, nil)
	var events []string
	var streamed strings.Builder
	reply, err := f.service.Ask(f.ctx, f.org, f.user, f.conversation(t), "How many paid vacation days?", chat.Observer{
		OnContext: func(query string, sources []chat.Source) error {
			events = append(events, "context")
			if len(sources) == 0 {
				t.Error("context event without sources")
			}
			return nil
		},
		OnDelta: func(text string) error {
			events = append(events, "delta")
			streamed.WriteString(text)
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) < 2 || events[0] != "context" {
		t.Errorf("events = %v, want context first, then deltas", events)
	}
	if streamed.String() != reply.Message.Content {
		t.Errorf("streamed %q, stored %q", streamed.String(), reply.Message.Content)
	}
	if !strings.Contains(reply.Message.Content, "20 paid vacation days") || reply.Usage.Model != chat.ExtractiveModelName {
		t.Errorf("extract = %q by %q", reply.Message.Content, reply.Usage.Model)
	}
}

func TestAskStopsWhenObserverFails(t *testing.T) {
	f := newServiceFixture(t, nil)
	gone := errors.New("client went away")
	_, err := f.service.Ask(f.ctx, f.org, f.user, f.conversation(t), "How many paid vacation days?", chat.Observer{
		OnDelta: func(string) error { return gone },
	})
	if !errors.Is(err, gone) {
		t.Errorf("err = %v, want the observer's error", err)
	}
}

func TestAskModelFailureMidStream(t *testing.T) {
	model := llmtest.NewServer(t, llmtest.WithResponder(func(llmtest.Request) llmtest.Reply {
		return llmtest.Reply{Deltas: []string{"Twenty ", "days ", "[1] ", "and more"}, CutAfterDeltas: 2}
	}))
	f := newServiceFixture(t, model)
	id := f.conversation(t)
	deltas := 0
	_, err := f.service.Ask(f.ctx, f.org, f.user, id, "How many paid vacation days?", chat.Observer{
		OnDelta: func(string) error { deltas++; return nil },
	})
	if err == nil {
		t.Fatal("a cut stream answered without error")
	}
	if deltas == 0 {
		t.Error("no delta arrived before the cut")
	}
	_, messages, err := f.service.Get(f.ctx, f.org, f.user, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(messages) != 1 || messages[0].Role != store.MessageRoleUser {
		t.Errorf("stored %d messages, want only the question", len(messages))
	}
}

func TestAskValidatesInput(t *testing.T) {
	f := newServiceFixture(t, nil)
	id := f.conversation(t)
	for _, content := range []string{"", " \n ", strings.Repeat("x", chat.ContentMaxRunes+1)} {
		if _, err := f.service.Ask(f.ctx, f.org, f.user, id, content, chat.Observer{}); !errors.Is(err, chat.ErrInvalidContent) {
			t.Errorf("content of %d runes: err = %v, want ErrInvalidContent", len(content), err)
		}
	}
	if _, err := f.service.Ask(f.ctx, f.org, f.user, uuid.New(), "vacation", chat.Observer{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown conversation: err = %v, want ErrNotFound", err)
	}
	other, err := f.service.Store.EnsureUser(f.ctx, "user_other")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.service.Ask(f.ctx, f.org, other, id, "vacation", chat.Observer{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another user's conversation: err = %v, want ErrNotFound", err)
	}
}

func TestAskTitlesConversationAfterFirstQuestion(t *testing.T) {
	f := newServiceFixture(t, nil)
	id := f.conversation(t)
	if _, err := f.service.Ask(f.ctx, f.org, f.user, id, "How many paid vacation days?", chat.Observer{}); err != nil {
		t.Fatal(err)
	}
	c, messages, err := f.service.Get(f.ctx, f.org, f.user, id)
	if err != nil {
		t.Fatal(err)
	}
	if c.Title != "How many paid vacation days?" {
		t.Errorf("title = %q", c.Title)
	}
	if len(messages) != 2 || messages[1].LatencyMS == nil || messages[1].Model == nil || *messages[1].Model != chat.ExtractiveModelName {
		t.Errorf("messages = %+v", messages)
	}
}

func TestFeedbackRatesAssistantMessagesOnly(t *testing.T) {
	f := newServiceFixture(t, nil)
	id := f.conversation(t)
	reply, err := f.service.Ask(f.ctx, f.org, f.user, id, "How many paid vacation days?", chat.Observer{})
	if err != nil {
		t.Fatal(err)
	}
	_, messages, err := f.service.Get(f.ctx, f.org, f.user, id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.service.RecordFeedback(f.ctx, f.org, f.user, messages[0].ID, "up", ""); !errors.Is(err, chat.ErrInvalidFeedback) {
		t.Errorf("feedback on the question: err = %v, want ErrInvalidFeedback", err)
	}
	if _, err := f.service.RecordFeedback(f.ctx, f.org, f.user, reply.Message.ID, "up", strings.Repeat("x", chat.CommentMaxRunes+1)); !errors.Is(err, chat.ErrInvalidFeedback) {
		t.Errorf("long comment: err = %v, want ErrInvalidFeedback", err)
	}
	created, err := f.service.RecordFeedback(f.ctx, f.org, f.user, reply.Message.ID, "down", "wrong")
	if err != nil || !created {
		t.Errorf("feedback: created %v, err %v", created, err)
	}
}
