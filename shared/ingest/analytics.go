package ingest

import (
	"time"

	"github.com/google/uuid"

	"github.com/bondingai/platform/shared/analytics"
	"github.com/bondingai/platform/shared/store"
)

// documentReadyEvent describes doc becoming ready at now: its page and
// chunk counts, and the time from upload to ready as the duration. It
// carries no file name.
func documentReadyEvent(doc *store.Document, now time.Time) analytics.Event {
	event := analytics.Event{
		OrgID:       doc.OrgID,
		Type:        analytics.EventDocumentReady,
		OccurredAt:  now,
		DurationMS:  int(now.Sub(doc.CreatedAt).Milliseconds()),
		DocumentIDs: []uuid.UUID{doc.ID},
	}
	if doc.PageCount != nil {
		event.Pages = *doc.PageCount
	}
	if doc.ChunkCount != nil {
		event.Chunks = *doc.ChunkCount
	}
	return event
}
