package store

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"
)

// hnswEfSearch is the candidate list size of an HNSW scan. With iterative
// scans (pgvector 0.8) the index keeps scanning when row-level security or
// the status filter removes candidates, so a small tenant in a large shared
// index still gets its full top k.
const hnswEfSearch = 100

// SearchHit is one chunk found by a search, in rank order.
type SearchHit struct {
	ChunkID     uuid.UUID
	DocumentID  uuid.UUID
	Filename    string
	Page        *int
	HeadingPath []string
	Text        string
	// Score is the method's own score: cosine similarity for vector
	// search, ts_rank for full-text search.
	Score float64
}

func collectHits(rows pgx.Rows) ([]SearchHit, error) {
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (SearchHit, error) {
		var h SearchHit
		err := row.Scan(&h.ChunkID, &h.DocumentID, &h.Filename, &h.Page, &h.HeadingPath, &h.Text, &h.Score)
		return h, err
	})
}

// SearchByVector returns the limit chunks of ready documents nearest to
// query by cosine distance, among vectors of model.
func SearchByVector(ctx context.Context, tx pgx.Tx, query []float32, model string, limit int) ([]SearchHit, error) {
	if _, err := tx.Exec(ctx, fmt.Sprintf("SET LOCAL hnsw.ef_search = %d", max(hnswEfSearch, limit))); err != nil {
		return nil, fmt.Errorf("vector search: set ef_search: %w", err)
	}
	if _, err := tx.Exec(ctx, "SET LOCAL hnsw.iterative_scan = relaxed_order"); err != nil {
		return nil, fmt.Errorf("vector search: enable iterative scan (pgvector 0.8 or later is required): %w", err)
	}
	// The dimension is written into the SQL, not bound, so the planner can
	// match the partial expression index for that dimension.
	dims := len(query)
	sql := fmt.Sprintf(`
		WITH nearest AS MATERIALIZED (
			SELECT c.id, c.document_id, d.filename, c.page, c.heading_path, c.text,
			       c.embedding::vector(%[1]d) <=> $1 AS distance
			FROM chunks c JOIN documents d ON d.id = c.document_id
			WHERE c.embedding_dimensions = %[1]d AND c.embedding_model = $2 AND d.status = 'ready'
			ORDER BY c.embedding::vector(%[1]d) <=> $1
			LIMIT $3
		)
		SELECT id, document_id, filename, page, heading_path, text, 1 - distance
		FROM nearest ORDER BY distance`, dims)
	rows, err := tx.Query(ctx, sql, pgvector.NewVector(query), model, limit)
	if err != nil {
		return nil, fmt.Errorf("vector search: %w", err)
	}
	hits, err := collectHits(rows)
	if err != nil {
		return nil, fmt.Errorf("vector search: %w", err)
	}
	return hits, nil
}

// SearchByText returns the limit chunks of ready documents that best match
// query in full-text search. Any query term may match (the terms are
// OR-ed): a natural-language question rarely has every word in one passage.
func SearchByText(ctx context.Context, tx pgx.Tx, query string, limit int) ([]SearchHit, error) {
	rows, err := tx.Query(ctx, `
		WITH q AS (
			SELECT replace(plainto_tsquery('english', $1)::text, ' & ', ' | ')::tsquery AS query
		)
		SELECT c.id, c.document_id, d.filename, c.page, c.heading_path, c.text,
		       ts_rank(c.search_vector, q.query, 1) AS rank
		FROM q, chunks c JOIN documents d ON d.id = c.document_id
		WHERE c.search_vector @@ q.query AND d.status = 'ready'
		ORDER BY rank DESC, c.id
		LIMIT $2`, query, limit)
	if err != nil {
		return nil, fmt.Errorf("full-text search: %w", err)
	}
	hits, err := collectHits(rows)
	if err != nil {
		return nil, fmt.Errorf("full-text search: %w", err)
	}
	return hits, nil
}
