package documents

import (
	"time"

	"github.com/google/uuid"

	"github.com/bondingai/platform/shared/store"
)

// View is a document as the API returns it.
type View struct {
	ID             uuid.UUID  `json:"id"`
	Filename       string     `json:"filename"`
	ContentType    string     `json:"content_type"`
	SizeBytes      int64      `json:"size_bytes"`
	Status         string     `json:"status"`
	Error          *string    `json:"error"`
	PageCount      *int       `json:"page_count"`
	ChunkCount     *int       `json:"chunk_count"`
	EmbeddingModel *string    `json:"embedding_model"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	ReadyAt        *time.Time `json:"ready_at"`
}

// NewView returns the API representation of d. Counts are reported only
// once ingestion is complete, so a client never mistakes a partial count
// for the final one.
func NewView(d *store.Document) View {
	v := View{
		ID: d.ID, Filename: d.Filename, ContentType: d.ContentType, SizeBytes: d.SizeBytes,
		Status: d.Status, Error: d.Error, EmbeddingModel: d.EmbeddingModel,
		CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt, ReadyAt: d.ReadyAt,
	}
	if d.Status == store.StatusReady {
		v.PageCount, v.ChunkCount = d.PageCount, d.ChunkCount
	}
	return v
}
