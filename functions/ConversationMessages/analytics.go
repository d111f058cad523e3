package conversationmessages

import (
	"github.com/google/uuid"

	"github.com/bondingai/platform/shared/analytics"
	"github.com/bondingai/platform/shared/chat"
	"github.com/bondingai/platform/shared/httpapi"
)

// answeredEvent describes an answer for usage analytics: model, tokens,
// latency and the distinct cited documents, never the question or answer
// text.
func answeredEvent(caller *httpapi.Principal, reply *chat.Reply) analytics.Event {
	var cited []uuid.UUID
	seen := make(map[uuid.UUID]bool)
	for _, citation := range reply.Citations {
		if !seen[citation.DocumentID] {
			seen[citation.DocumentID] = true
			cited = append(cited, citation.DocumentID)
		}
	}
	return analytics.Event{
		OrgID:            caller.OrgID,
		UserID:           caller.UserID,
		Type:             analytics.EventMessageAnswered,
		Model:            reply.Usage.Model,
		PromptTokens:     reply.Usage.PromptTokens,
		CompletionTokens: reply.Usage.CompletionTokens,
		LatencyMS:        reply.Usage.LatencyMS,
		CitationCount:    len(reply.Citations),
		DocumentIDs:      cited,
	}
}
