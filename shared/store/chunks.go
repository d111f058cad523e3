package store

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"
)

// NewChunk is a chunk to insert.
type NewChunk struct {
	Index       int
	Page        *int
	HeadingPath []string
	Text        string
	TokenCount  int
}

// Chunk is a stored chunk.
type Chunk struct {
	ID          uuid.UUID
	DocumentID  uuid.UUID
	Index       int
	Page        *int
	HeadingPath []string
	Text        string
	HasVector   bool
}

// InsertChunks inserts the document's chunks. A chunk index that exists
// already is skipped, so a retried ingestion adds no duplicates.
func InsertChunks(ctx context.Context, tx pgx.Tx, orgID, documentID uuid.UUID, chunks []NewChunk) error {
	batch := &pgx.Batch{}
	for _, c := range chunks {
		headingPath := c.HeadingPath
		if headingPath == nil {
			headingPath = []string{}
		}
		batch.Queue(`INSERT INTO chunks (org_id, document_id, chunk_index, page, heading_path, text, token_count)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (document_id, chunk_index) DO NOTHING`,
			orgID, documentID, c.Index, c.Page, headingPath, c.Text, c.TokenCount)
	}
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("insert %d chunks of document %s: %w", len(chunks), documentID, err)
	}
	return nil
}

// CountChunks returns how many chunks the document has.
func CountChunks(ctx context.Context, tx pgx.Tx, documentID uuid.UUID) (int, error) {
	var n int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM chunks WHERE document_id = $1`, documentID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count chunks of document %s: %w", documentID, err)
	}
	return n, nil
}

// ChunksInRange returns the document's chunks with index first..last, in order.
func ChunksInRange(ctx context.Context, tx pgx.Tx, documentID uuid.UUID, first, last int) ([]Chunk, error) {
	rows, err := tx.Query(ctx, `SELECT id, document_id, chunk_index, page, heading_path, text, embedding IS NOT NULL
		FROM chunks WHERE document_id = $1 AND chunk_index BETWEEN $2 AND $3 ORDER BY chunk_index`,
		documentID, first, last)
	if err != nil {
		return nil, fmt.Errorf("read chunks %d-%d of document %s: %w", first, last, documentID, err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Chunk, error) {
		var c Chunk
		err := row.Scan(&c.ID, &c.DocumentID, &c.Index, &c.Page, &c.HeadingPath, &c.Text, &c.HasVector)
		return c, err
	})
}

// SetChunkEmbeddings stores one vector per chunk id, with the model that
// computed it.
func SetChunkEmbeddings(ctx context.Context, tx pgx.Tx, ids []uuid.UUID, vectors [][]float32, model string) error {
	if len(ids) != len(vectors) {
		return fmt.Errorf("set embeddings: %d chunk ids but %d vectors", len(ids), len(vectors))
	}
	batch := &pgx.Batch{}
	for i, id := range ids {
		batch.Queue(`UPDATE chunks SET embedding = $2, embedding_model = $3, embedding_dimensions = $4 WHERE id = $1`,
			id, pgvector.NewVector(vectors[i]), model, len(vectors[i]))
	}
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("set embeddings of %d chunks: %w", len(ids), err)
	}
	return nil
}
