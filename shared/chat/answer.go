package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bondingai/platform/shared/customhandler"
	"github.com/bondingai/platform/shared/llm"
	"github.com/bondingai/platform/shared/store"
)

// historyMarker matches a citation marker in an earlier answer.
var historyMarker = regexp.MustCompile(` ?\[\d+\]`)

// ExtractiveModelName is stored as the model of extractive answers.
const ExtractiveModelName = "offline/extractive"

// Observer receives a streamed answer. Both functions may be nil; an error
// from either stops the answer and is returned by Ask.
type Observer struct {
	// OnContext receives the searched query and the sources the answer is
	// grounded on, before any of the answer.
	OnContext func(query string, sources []Source) error
	// OnDelta receives each checked piece of the answer in order.
	OnDelta func(text string) error
}

// Usage is the model, token counts and latency of one answer; the
// token counts add up every model call the answer made.
type Usage struct {
	Model            string `json:"model"`
	PromptTokens     int    `json:"prompt_tokens"`
	CompletionTokens int    `json:"completion_tokens"`
	TotalTokens      int    `json:"total_tokens"`
	LatencyMS        int    `json:"latency_ms"`
}

// Reply is the outcome of one question.
type Reply struct {
	Message   *store.Message
	Sources   []Source
	Citations []Citation
	FollowUps []string
	Usage     Usage
	// Query is the searched text: the question, or its standalone rewrite.
	Query string
}

// Ask answers content in userID's conversation conversationID. It stores
// the question, retrieves passages (after rewriting a follow-up into a
// standalone query when a model is configured), answers from the passages
// that support the question, checks the answer's citations and stores the
// answer with its usage and latency.
//
// It returns ErrInvalidContent for an empty or too long question and
// store.ErrNotFound for a conversation the caller does not own, before
// calling observer.
func (s *Service) Ask(ctx context.Context, orgID, userID, conversationID uuid.UUID, content string, observer Observer) (*Reply, error) {
	content = strings.TrimSpace(content)
	switch {
	case content == "":
		return nil, fmt.Errorf("%w: the content is empty", ErrInvalidContent)
	case utf8.RuneCountInString(content) > ContentMaxRunes:
		return nil, fmt.Errorf("%w: the content is longer than %d characters", ErrInvalidContent, ContentMaxRunes)
	}
	started := s.now()
	logger := customhandler.Logger(ctx).With(slog.String("conversation_id", conversationID.String()))

	history, err := s.storeQuestion(ctx, orgID, userID, conversationID, content)
	if err != nil {
		return nil, err
	}

	reply := &Reply{Query: content, FollowUps: []string{}, Citations: []Citation{}}
	if s.Model != nil && len(history) > 0 {
		reply.Query = s.rewrite(ctx, logger, content, history, &reply.Usage)
	}
	results, err := s.Searcher.Search(ctx, orgID, reply.Query, s.topK())
	if err != nil {
		return nil, fmt.Errorf("retrieve passages for conversation %s: %w", conversationID, err)
	}
	reply.Sources = Supported(reply.Query, results)
	if reply.Sources == nil {
		reply.Sources = []Source{}
	}
	if observer.OnContext != nil {
		if err := observer.OnContext(reply.Query, reply.Sources); err != nil {
			return nil, err
		}
	}

	checker := NewCitationChecker(reply.Sources)
	if err := s.answer(ctx, content, history, reply, checker, observer); err != nil {
		return nil, fmt.Errorf("answer in conversation %s: %w", conversationID, err)
	}
	reply.Citations = checker.Citations()
	if checker.Repaired > 0 || checker.Removed > 0 {
		logger.Warn("answer cited sources that do not exist",
			slog.Int("citations_repaired", checker.Repaired), slog.Int("citations_removed", checker.Removed))
	}
	if s.Model != nil && len(reply.Citations) > 0 {
		reply.FollowUps = s.followUps(ctx, logger, content, checker.Text(), &reply.Usage)
	}

	reply.Usage.TotalTokens = reply.Usage.PromptTokens + reply.Usage.CompletionTokens
	reply.Usage.LatencyMS = int(s.now().Sub(started).Milliseconds())
	reply.Message, err = s.storeAnswer(ctx, orgID, conversationID, checker.Text(), reply)
	if err != nil {
		return nil, err
	}
	logger.Info("question answered", slog.String("message_id", reply.Message.ID.String()),
		slog.Int("sources", len(reply.Sources)), slog.Int("citations", len(reply.Citations)),
		slog.String("model", reply.Usage.Model), slog.Int("latency_ms", reply.Usage.LatencyMS))
	return reply, nil
}

// storeQuestion checks that the caller owns the conversation, stores the
// question, titles an untitled conversation after it, and returns the
// recent history before it.
func (s *Service) storeQuestion(ctx context.Context, orgID, userID, conversationID uuid.UUID, content string) ([]llm.Message, error) {
	var history []llm.Message
	err := s.Store.InOrg(ctx, orgID, func(tx pgx.Tx) error {
		c, err := store.GetConversation(ctx, tx, userID, conversationID)
		if err != nil {
			return err
		}
		earlier, err := store.ListRecentMessages(ctx, tx, conversationID, historyMessagesMax)
		if err != nil {
			return err
		}
		for _, m := range earlier {
			content := m.Content
			if m.Role == store.MessageRoleAssistant {
				// Earlier answers cite earlier sources; their numbers would
				// point into the new source list, so the model sees none.
				content = historyMarker.ReplaceAllString(content, "")
			}
			history = append(history, llm.Message{Role: m.Role, Content: content})
		}
		question := &store.Message{OrgID: orgID, ConversationID: conversationID, Role: store.MessageRoleUser, Content: content}
		if err := store.CreateMessage(ctx, tx, question); err != nil {
			return err
		}
		if c.Title == "" {
			title, _ := validateTitle(truncateWords(strings.Join(strings.Fields(content), " "), autoTitleRunes), true)
			_, err = store.RenameConversation(ctx, tx, userID, conversationID, title)
			return err
		}
		return store.TouchConversation(ctx, tx, conversationID)
	})
	return history, err
}

// answer writes the answer through checker, sending each checked piece to
// observer.OnDelta.
func (s *Service) answer(ctx context.Context, question string, history []llm.Message, reply *Reply, checker *CitationChecker, observer Observer) error {
	send := func(text string) error {
		if text == "" || observer.OnDelta == nil {
			return nil
		}
		return observer.OnDelta(text)
	}

	if len(reply.Sources) == 0 || s.Model == nil {
		reply.Usage.Model = ExtractiveModelName
		text := NotSupportedAnswer
		if len(reply.Sources) > 0 {
			text = ExtractiveAnswer(question, reply.Sources)
		}
		// Send the extract line by line, as a model would stream it.
		for _, line := range strings.SplitAfter(text, "\n") {
			if err := send(checker.Write(line)); err != nil {
				return err
			}
		}
		return send(checker.Flush())
	}

	reply.Usage.Model = s.Model.Name()
	request := llm.Request{Messages: AnswerPrompt(question, reply.Sources, history), MaxTokens: answerMaxTokens, Temperature: temperature(0)}
	var response *llm.Response
	var err error
	if observer.OnDelta != nil {
		response, err = s.Model.Stream(ctx, request, func(delta string) error {
			return send(checker.Write(delta))
		})
	} else {
		response, err = s.Model.Complete(ctx, request)
		if err == nil {
			checker.Write(response.Content)
		}
	}
	if err != nil {
		return fmt.Errorf("generate answer with %s: %w", s.Model.Name(), err)
	}
	addUsage(&reply.Usage, response.Usage)
	return send(checker.Flush())
}

// rewrite returns the question as a standalone query. A failed rewrite is
// logged and the question is searched as it is, which still often works.
func (s *Service) rewrite(ctx context.Context, logger *slog.Logger, question string, history []llm.Message, usage *Usage) string {
	response, err := s.Model.Complete(ctx, llm.Request{
		Messages: RewritePrompt(question, history), MaxTokens: rewriteMaxTokens, Temperature: temperature(0),
	})
	if err != nil {
		logger.Warn("query rewrite failed; searching the question as asked", slog.Any("error", err))
		return question
	}
	addUsage(usage, response.Usage)
	query := cleanQuery(response.Content)
	if len(terms(query)) == 0 {
		return question
	}
	return query
}

// followUps asks the model for follow-up questions. A failure is logged
// and the reply suggests none, since the answer itself succeeded.
func (s *Service) followUps(ctx context.Context, logger *slog.Logger, question, answer string, usage *Usage) []string {
	response, err := s.Model.Complete(ctx, llm.Request{
		Messages: FollowUpPrompt(question, answer), MaxTokens: followUpMaxTokens, Temperature: temperature(0.3),
	})
	if err != nil {
		logger.Warn("follow-up questions failed", slog.Any("error", err))
		return []string{}
	}
	addUsage(usage, response.Usage)
	return ParseFollowUps(response.Content)
}

func (s *Service) storeAnswer(ctx context.Context, orgID, conversationID uuid.UUID, text string, reply *Reply) (*store.Message, error) {
	citations, err := json.Marshal(reply.Citations)
	if err != nil {
		return nil, fmt.Errorf("encode citations: %w", err)
	}
	chunkIDs := make([]uuid.UUID, 0, len(reply.Sources))
	for _, source := range reply.Sources {
		chunkIDs = append(chunkIDs, source.ChunkID)
	}
	usage := reply.Usage
	m := &store.Message{
		OrgID: orgID, ConversationID: conversationID, Role: store.MessageRoleAssistant, Content: text,
		Citations: citations, ContextChunkIDs: chunkIDs, Model: &usage.Model,
		PromptTokens: &usage.PromptTokens, CompletionTokens: &usage.CompletionTokens, LatencyMS: &usage.LatencyMS,
	}
	err = s.Store.InOrg(ctx, orgID, func(tx pgx.Tx) error {
		return store.CreateMessage(ctx, tx, m)
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

func (s *Service) topK() int {
	if s.TopK > 0 {
		return s.TopK
	}
	return TopKDefault
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func addUsage(total *Usage, usage llm.Usage) {
	total.PromptTokens += usage.PromptTokens
	total.CompletionTokens += usage.CompletionTokens
}

func temperature(t float64) *float64 {
	return &t
}
