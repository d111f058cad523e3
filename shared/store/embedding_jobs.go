package store

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Embedding job statuses.
const (
	JobQueued = "queued"
	JobDone   = "done"
	JobFailed = "failed"
)

// EmbeddingJob is one batch of a document's chunks to embed. The job row is
// written in the same transaction as the chunks, before its message is
// sent, so a lost or duplicated message never loses or repeats work: the
// row says what remains.
type EmbeddingJob struct {
	ID         uuid.UUID
	OrgID      uuid.UUID
	DocumentID uuid.UUID
	BatchIndex int
	FirstChunk int
	LastChunk  int
	Status     string
	Attempts   int
}

// InsertEmbeddingJobs inserts jobs, skipping batch indexes the document
// already has.
func InsertEmbeddingJobs(ctx context.Context, tx pgx.Tx, jobs []EmbeddingJob) error {
	batch := &pgx.Batch{}
	for _, j := range jobs {
		batch.Queue(`INSERT INTO embedding_jobs (id, org_id, document_id, batch_index, first_chunk, last_chunk, status)
			VALUES ($1, $2, $3, $4, $5, $6, 'queued') ON CONFLICT (document_id, batch_index) DO NOTHING`,
			j.ID, j.OrgID, j.DocumentID, j.BatchIndex, j.FirstChunk, j.LastChunk)
	}
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("insert %d embedding jobs: %w", len(jobs), err)
	}
	return nil
}

const jobColumns = `id, org_id, document_id, batch_index, first_chunk, last_chunk, status, attempts`

func scanJob(row pgx.Row) (EmbeddingJob, error) {
	var j EmbeddingJob
	err := row.Scan(&j.ID, &j.OrgID, &j.DocumentID, &j.BatchIndex, &j.FirstChunk, &j.LastChunk, &j.Status, &j.Attempts)
	return j, err
}

// QueuedEmbeddingJobs returns the document's unfinished jobs in batch order.
func QueuedEmbeddingJobs(ctx context.Context, tx pgx.Tx, documentID uuid.UUID) ([]EmbeddingJob, error) {
	rows, err := tx.Query(ctx, `SELECT `+jobColumns+` FROM embedding_jobs
		WHERE document_id = $1 AND status = 'queued' ORDER BY batch_index`, documentID)
	if err != nil {
		return nil, fmt.Errorf("list queued embedding jobs of document %s: %w", documentID, err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (EmbeddingJob, error) { return scanJob(row) })
}

// GetEmbeddingJob returns the job id.
func GetEmbeddingJob(ctx context.Context, tx pgx.Tx, id uuid.UUID) (*EmbeddingJob, error) {
	j, err := scanJob(tx.QueryRow(ctx, `SELECT `+jobColumns+` FROM embedding_jobs WHERE id = $1`, id))
	if err != nil {
		return nil, notFound(err)
	}
	return &j, nil
}

// CompleteEmbeddingJob marks the job done.
func CompleteEmbeddingJob(ctx context.Context, tx pgx.Tx, id uuid.UUID) error {
	_, err := tx.Exec(ctx, `UPDATE embedding_jobs SET status = 'done', attempts = attempts + 1,
		last_error = NULL, completed_at = now(), updated_at = now() WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("complete embedding job %s: %w", id, err)
	}
	return nil
}

// RecordEmbeddingJobFailure counts a failed attempt; with final set the job
// is marked failed for good.
func RecordEmbeddingJobFailure(ctx context.Context, tx pgx.Tx, id uuid.UUID, reason string, final bool) error {
	status := JobQueued
	if final {
		status = JobFailed
	}
	_, err := tx.Exec(ctx, `UPDATE embedding_jobs SET status = $3, attempts = attempts + 1, last_error = $2,
		updated_at = now() WHERE id = $1 AND status = 'queued'`, id, reason, status)
	if err != nil {
		return fmt.Errorf("record failure of embedding job %s: %w", id, err)
	}
	return nil
}
