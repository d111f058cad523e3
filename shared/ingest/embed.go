package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bondingai/platform/shared/analytics"
	"github.com/bondingai/platform/shared/customhandler"
	"github.com/bondingai/platform/shared/store"
)

// ErrInvalidJob marks a message whose body is not an embedding job. No
// retry can fix it, so the function lets it go to the dead-letter queue.
var ErrInvalidJob = errors.New("invalid embedding job message")

// errJobFailed marks a job that already failed for good.
var errJobFailed = errors.New("embedding job failed permanently")

// DecodeJob parses an embedding queue message body.
func DecodeJob(body []byte) (Job, error) {
	var job Job
	if err := json.Unmarshal(body, &job); err != nil {
		return Job{}, fmt.Errorf("%w: %v", ErrInvalidJob, err)
	}
	if job.JobID == uuid.Nil || job.OrgID == uuid.Nil || job.DocumentID == uuid.Nil {
		return Job{}, fmt.Errorf("%w: job_id, org_id and document_id are required", ErrInvalidJob)
	}
	return job, nil
}

// EmbedJob embeds the chunks of one job and stores their vectors; the
// document becomes ready with its last job. deliveryCount is the message's
// Service Bus delivery count: when it reaches MaxDeliveryCount, a failure
// marks the document failed before the error is returned, so the message
// is dead-lettered and the document does not stay processing forever.
func (s *Service) EmbedJob(ctx context.Context, job Job, deliveryCount int) error {
	ctx = customhandler.WithLogAttrs(ctx, slog.String("org_id", job.OrgID.String()),
		slog.String("document_id", job.DocumentID.String()), slog.String("job_id", job.JobID.String()))
	logger := customhandler.Logger(ctx)

	var chunks []store.Chunk
	var pending bool
	err := s.Store.InOrg(ctx, job.OrgID, func(tx pgx.Tx) error {
		stored, err := store.GetEmbeddingJob(ctx, tx, job.JobID)
		if err != nil {
			return err
		}
		if stored.DocumentID != job.DocumentID {
			return fmt.Errorf("%w: job %s belongs to document %s, not %s", ErrInvalidJob, job.JobID, stored.DocumentID, job.DocumentID)
		}
		switch stored.Status {
		case store.JobDone:
			return nil
		case store.JobFailed:
			return errJobFailed
		}
		pending = true
		chunks, err = store.ChunksInRange(ctx, tx, job.DocumentID, stored.FirstChunk, stored.LastChunk)
		return err
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		logger.Info("embedding job no longer exists; its document was deleted")
		return nil
	case errors.Is(err, errJobFailed):
		// Keep failing so the message reaches the dead-letter queue even when
		// the queue allows more deliveries than EmbeddingMaxDeliveryCount.
		return fmt.Errorf("embedding job %s failed earlier and its document is failed: %w", job.JobID, err)
	case err != nil:
		return fmt.Errorf("read embedding job %s: %w", job.JobID, err)
	case !pending:
		logger.Info("embedding job already finished; skipping redelivery")
		return nil
	}

	ids := make([]uuid.UUID, len(chunks))
	texts := make([]string, len(chunks))
	for i, c := range chunks {
		ids[i] = c.ID
		texts[i] = c.Text
	}
	vectors, err := s.Embedder.Embed(ctx, texts)
	if err == nil && len(vectors) != len(texts) {
		err = fmt.Errorf("embedding model returned %d vectors for %d chunks", len(vectors), len(texts))
	}
	if err != nil {
		return s.recordEmbedFailure(ctx, job, deliveryCount, err)
	}

	var ready bool
	var doc *store.Document
	err = s.Store.InOrg(ctx, job.OrgID, func(tx pgx.Tx) error {
		if err := store.SetChunkEmbeddings(ctx, tx, ids, vectors, s.Embedder.Model()); err != nil {
			return err
		}
		if err := store.CompleteEmbeddingJob(ctx, tx, job.JobID); err != nil {
			return err
		}
		if doc, err = store.LockDocument(ctx, tx, job.DocumentID); err != nil {
			return err
		}
		ready, err = store.MarkDocumentReadyIfComplete(ctx, tx, job.DocumentID)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		logger.Info("document deleted while its chunks were embedded")
		return nil
	}
	if err != nil {
		return fmt.Errorf("store vectors of embedding job %s: %w", job.JobID, err)
	}
	logger.Info("embedding job done", slog.Int("chunk_count", len(chunks)), slog.Bool("document_ready", ready))
	if ready {
		s.Recorder.Record(ctx, documentReadyEvent(doc, time.Now()))
	}
	return nil
}

func (s *Service) recordEmbedFailure(ctx context.Context, job Job, deliveryCount int, cause error) error {
	final := deliveryCount >= s.MaxDeliveryCount
	err := s.Store.InOrg(ctx, job.OrgID, func(tx pgx.Tx) error {
		if err := store.RecordEmbeddingJobFailure(ctx, tx, job.JobID, cause.Error(), final); err != nil {
			return err
		}
		if final {
			reason := fmt.Sprintf("embedding failed after %d attempts: %v", deliveryCount, cause)
			return store.MarkDocumentFailed(ctx, tx, job.DocumentID, reason)
		}
		return nil
	})
	if err != nil {
		customhandler.Logger(ctx).Error("record embedding failure", slog.Any("error", err))
	}
	if final {
		customhandler.Logger(ctx).Error("embedding job failed for good; document marked failed", slog.Any("error", cause))
		s.Recorder.Record(ctx, analytics.Event{OrgID: job.OrgID, Type: analytics.EventDocumentFailed, DocumentIDs: []uuid.UUID{job.DocumentID}})
	}
	return fmt.Errorf("embed job %s (delivery %d of %d): %w", job.JobID, deliveryCount, s.MaxDeliveryCount, cause)
}
