package chat

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/bondingai/platform/shared/llm"
	"github.com/bondingai/platform/shared/retrieval"
)

// Prompt sizes.
const (
	// SupportShareMin is the smallest share of the query's terms a
	// retrieved passage must contain to count as supporting an answer.
	// Hybrid search always returns its nearest chunks, even for a question
	// the documents do not cover; this lexical check keeps those out.
	SupportShareMin = 0.3
	// historyMessagesMax is how many earlier messages the rewrite and the
	// answer see.
	historyMessagesMax = 6
	// followUpsMax is how many follow-up questions a reply suggests.
	followUpsMax = 3
	// followUpMaxRunes caps one suggested follow-up question.
	followUpMaxRunes = 200
	// rewriteMaxTokens, answerMaxTokens and followUpMaxTokens cap the
	// completions of the three model calls.
	rewriteMaxTokens  = 120
	answerMaxTokens   = 800
	followUpMaxTokens = 160
)

const answerInstructions = `You are bondingAI, an assistant that answers questions about the organization's documents.
Answer only from the numbered sources below. After each claim, cite the source it comes from with its number in square brackets, such as [1], or [1][2] for two sources. Cite only numbers from the list.
If the sources do not contain the answer, say that the documents do not contain it and do not guess.
Answer briefly, in the language of the question.`

const rewriteInstructions = `Rewrite the user's last question as one standalone search query that can be understood without the conversation. Keep names, numbers and terms from the conversation that the question refers to. Reply with the query only, without quotes or explanation.`

const followUpInstructions = `Suggest up to three short follow-up questions the user could ask next about the same documents, given the question and the answer. Write each question on its own line, with nothing else.`

// Supported returns the results that contain at least SupportShareMin of
// query's terms, numbered 1..n in rank order.
func Supported(query string, results []retrieval.Result) []Source {
	queryTerms := terms(query)
	var sources []Source
	for _, r := range results {
		share, matched := overlap(queryTerms, terms(strings.Join(r.HeadingPath, " ")+" "+r.Text))
		if matched == 0 || share < SupportShareMin {
			continue
		}
		sources = append(sources, Source{
			Number: len(sources) + 1, ChunkID: r.ChunkID, DocumentID: r.DocumentID, Filename: r.Filename,
			Page: r.Page, HeadingPath: r.HeadingPath, Score: r.Score, Text: r.Text,
		})
	}
	return sources
}

// AnswerPrompt builds the grounded prompt: instructions and numbered
// sources with file name and page, the recent history, then the question.
func AnswerPrompt(question string, sources []Source, history []llm.Message) []llm.Message {
	var system strings.Builder
	system.WriteString(answerInstructions)
	system.WriteString("\n\nSources:\n")
	for _, s := range sources {
		fmt.Fprintf(&system, "\n[%d] %s", s.Number, s.Filename)
		if s.Page != nil {
			fmt.Fprintf(&system, ", page %d", *s.Page)
		}
		if len(s.HeadingPath) > 0 {
			fmt.Fprintf(&system, " (%s)", strings.Join(s.HeadingPath, " > "))
		}
		system.WriteString("\n" + s.Text + "\n")
	}
	messages := []llm.Message{{Role: llm.RoleSystem, Content: system.String()}}
	messages = append(messages, history...)
	return append(messages, llm.Message{Role: llm.RoleUser, Content: question})
}

// RewritePrompt asks the model to turn a follow-up question into a
// standalone search query.
func RewritePrompt(question string, history []llm.Message) []llm.Message {
	var conversation strings.Builder
	for _, m := range history {
		fmt.Fprintf(&conversation, "%s: %s\n", m.Role, m.Content)
	}
	return []llm.Message{
		{Role: llm.RoleSystem, Content: rewriteInstructions},
		{Role: llm.RoleUser, Content: "Conversation:\n" + conversation.String() + "\nLast question: " + question},
	}
}

// FollowUpPrompt asks the model for follow-up questions.
func FollowUpPrompt(question, answer string) []llm.Message {
	return []llm.Message{
		{Role: llm.RoleSystem, Content: followUpInstructions},
		{Role: llm.RoleUser, Content: "Question: " + question + "\n\nAnswer: " + answer},
	}
}

// ParseFollowUps reads up to followUpsMax questions from a completion, one
// per line. It drops list bullets, numbering and quotes, lines that are not
// questions, repeats, and questions longer than followUpMaxRunes.
func ParseFollowUps(completion string) []string {
	followUps := []string{}
	seen := map[string]bool{}
	for _, line := range strings.Split(completion, "\n") {
		line = strings.TrimSpace(line)
		line = strings.TrimLeft(line, "-*•0123456789.) \t")
		line = strings.Trim(line, "\"'“”` ")
		if !strings.HasSuffix(line, "?") || utf8.RuneCountInString(line) > followUpMaxRunes || len(terms(line)) == 0 {
			continue
		}
		key := strings.ToLower(line)
		if seen[key] {
			continue
		}
		seen[key] = true
		followUps = append(followUps, line)
		if len(followUps) == followUpsMax {
			break
		}
	}
	return followUps
}

// cleanQuery makes a rewritten query usable for search: one line, no
// surrounding quotes, at most retrieval.QueryMaxRunes runes.
func cleanQuery(rewritten string) string {
	query := strings.TrimSpace(strings.SplitN(strings.TrimSpace(rewritten), "\n", 2)[0])
	query = strings.Trim(query, "\"'“” ")
	query = strings.TrimSpace(strings.TrimPrefix(query, "Query:"))
	if utf8.RuneCountInString(query) > retrieval.QueryMaxRunes {
		query = string([]rune(query)[:retrieval.QueryMaxRunes])
	}
	return query
}
