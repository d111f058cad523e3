// Package ingest turns an uploaded document into searchable chunks. The
// blob-triggered function calls IngestDocument: it extracts text, splits it
// into chunks, stores them with one embedding job per batch, and sends each
// job to the embedding queue. The Service Bus-triggered function calls
// EmbedJob for each message: it embeds the job's chunks, stores the vectors,
// and marks the document ready once every chunk has its vector.
//
// Both steps are idempotent, because the host retries them: chunks and jobs
// are keyed by (document, index), a finished job is skipped, and a document
// only moves forward (pending, processing, then ready or failed).
package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bondingai/platform/shared/analytics"
	"github.com/bondingai/platform/shared/chunking"
	"github.com/bondingai/platform/shared/customhandler"
	"github.com/bondingai/platform/shared/embedding"
	"github.com/bondingai/platform/shared/extract"
	"github.com/bondingai/platform/shared/queue"
	"github.com/bondingai/platform/shared/store"
)

// Extractor reads a file into structured text; *extract.Extractor is one.
type Extractor interface {
	Extract(ctx context.Context, filename string, data []byte) (*extract.Document, error)
}

// EmbeddingQueue is the Service Bus queue of embedding jobs. The
// EmbedChunks function's serviceBusTrigger binding names the same queue.
const EmbeddingQueue = "embedding-jobs"

// Service runs both ingestion steps.
type Service struct {
	Store     *store.Store
	Extractor Extractor
	Embedder  embedding.Embedder
	Queue     queue.Sender
	// QueueName is the embedding queue.
	QueueName string
	// BatchSize is the number of chunks per embedding job.
	BatchSize int
	// MaxDeliveryCount is the embedding queue's MaxDeliveryCount: on that
	// delivery a failing job fails its document for good.
	MaxDeliveryCount int
	// Chunking sets chunk sizes; the zero value means
	// chunking.DefaultOptions. MaxTokens is capped at the model's limit.
	Chunking chunking.Options
	// Recorder receives document_ready and document_failed usage events;
	// nil records none.
	Recorder *analytics.Recorder
}

// Job is the body of an embedding queue message.
type Job struct {
	JobID      uuid.UUID `json:"job_id"`
	OrgID      uuid.UUID `json:"org_id"`
	DocumentID uuid.UUID `json:"document_id"`
}

// IngestDocument extracts and chunks the document documentID of orgID,
// whose uploaded bytes are content, and queues its embedding jobs. A file
// that cannot be read marks the document failed and returns nil, because a
// retry would fail the same way. Other errors are returned, so the host
// retries.
func (s *Service) IngestDocument(ctx context.Context, orgID, documentID uuid.UUID, content []byte) error {
	ctx = customhandler.WithLogAttrs(ctx, slog.String("org_id", orgID.String()), slog.String("document_id", documentID.String()))
	logger := customhandler.Logger(ctx)

	doc, alreadyChunked, err := s.startProcessing(ctx, orgID, documentID)
	if err != nil {
		return err
	}
	if doc == nil {
		return nil
	}

	if !alreadyChunked {
		extracted, err := s.Extractor.Extract(ctx, doc.Filename, content)
		var extractErr *extract.Error
		if errors.As(err, &extractErr) {
			logger.Warn("document cannot be extracted", slog.Any("error", err))
			return s.fail(ctx, orgID, documentID, extractErr.Reason.Error())
		}
		if err != nil {
			return fmt.Errorf("extract document %s: %w", documentID, err)
		}
		if err := s.storeChunks(ctx, orgID, documentID, extracted); err != nil {
			if errors.Is(err, extract.ErrNoText) {
				return s.fail(ctx, orgID, documentID, extract.ErrNoText.Error())
			}
			return err
		}
	}
	return s.publishJobs(ctx, orgID, documentID)
}

// startProcessing moves the document to processing. It returns a nil
// document when there is nothing to do (deleted, ready or failed), and
// reports whether an earlier attempt already stored the chunks.
func (s *Service) startProcessing(ctx context.Context, orgID, documentID uuid.UUID) (*store.Document, bool, error) {
	var doc *store.Document
	err := s.Store.InOrg(ctx, orgID, func(tx pgx.Tx) error {
		var err error
		doc, err = store.LockDocument(ctx, tx, documentID)
		if err != nil {
			return err
		}
		if doc.Status == store.StatusPending {
			return store.MarkDocumentProcessing(ctx, tx, documentID)
		}
		return nil
	})
	logger := customhandler.Logger(ctx)
	switch {
	case errors.Is(err, store.ErrNotFound):
		logger.Info("document no longer exists; skipping ingestion")
		return nil, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("start processing document %s: %w", documentID, err)
	case doc.Status == store.StatusReady || doc.Status == store.StatusFailed:
		logger.Info("document already ingested; skipping", slog.String("status", doc.Status))
		return nil, false, nil
	}
	return doc, doc.ChunkCount != nil, nil
}

// storeChunks splits the document and stores chunks and jobs in one
// transaction, so a document never has chunks without the jobs that embed them.
func (s *Service) storeChunks(ctx context.Context, orgID, documentID uuid.UUID, doc *extract.Document) error {
	opts := s.Chunking
	if opts.MaxTokens <= 0 {
		opts = chunking.DefaultOptions()
	}
	if limit := s.Embedder.MaxInputTokens(); opts.MaxTokens > limit {
		opts.MaxTokens = limit
	}
	chunks := chunking.Split(doc, s.Embedder, opts)
	if len(chunks) == 0 {
		return extract.ErrNoText
	}

	newChunks := make([]store.NewChunk, len(chunks))
	for i, c := range chunks {
		newChunks[i] = store.NewChunk{Index: c.Index, HeadingPath: c.HeadingPath, Text: c.Text, TokenCount: c.Tokens}
		if c.Page > 0 {
			page := c.Page
			newChunks[i].Page = &page
		}
	}
	var jobs []store.EmbeddingJob
	for first := 0; first < len(chunks); first += s.BatchSize {
		last := min(first+s.BatchSize, len(chunks)) - 1
		jobs = append(jobs, store.EmbeddingJob{
			ID: uuid.New(), OrgID: orgID, DocumentID: documentID,
			BatchIndex: len(jobs), FirstChunk: chunks[first].Index, LastChunk: chunks[last].Index,
		})
	}

	err := s.Store.InOrg(ctx, orgID, func(tx pgx.Tx) error {
		if err := store.InsertChunks(ctx, tx, orgID, documentID, newChunks); err != nil {
			return err
		}
		if err := store.InsertEmbeddingJobs(ctx, tx, jobs); err != nil {
			return err
		}
		return store.RecordDocumentChunked(ctx, tx, documentID, pageCount(doc), len(chunks), s.Embedder.Model())
	})
	if err != nil {
		return fmt.Errorf("store chunks of document %s: %w", documentID, err)
	}
	customhandler.Logger(ctx).Info("document chunked",
		slog.Int("page_count", pageCount(doc)), slog.Int("chunk_count", len(chunks)), slog.Int("job_count", len(jobs)))
	return nil
}

// publishJobs sends a message for every unfinished job. The message id is
// the job id, so Service Bus duplicate detection drops a resend, and the
// embedding step skips a job that is already done.
func (s *Service) publishJobs(ctx context.Context, orgID, documentID uuid.UUID) error {
	var jobs []store.EmbeddingJob
	err := s.Store.InOrg(ctx, orgID, func(tx pgx.Tx) error {
		var err error
		jobs, err = store.QueuedEmbeddingJobs(ctx, tx, documentID)
		return err
	})
	if err != nil {
		return fmt.Errorf("read embedding jobs of document %s: %w", documentID, err)
	}
	messages := make([]queue.Message, 0, len(jobs))
	for _, j := range jobs {
		body, err := json.Marshal(Job{JobID: j.ID, OrgID: orgID, DocumentID: documentID})
		if err != nil {
			return fmt.Errorf("encode embedding job %s: %w", j.ID, err)
		}
		messages = append(messages, queue.Message{
			ID: j.ID.String(), Body: body, ContentType: "application/json",
			ApplicationProperties: map[string]any{"document_id": documentID.String()},
		})
	}
	if len(messages) == 0 {
		return nil
	}
	if err := s.Queue.Send(ctx, s.QueueName, messages...); err != nil {
		return fmt.Errorf("send %d embedding jobs of document %s: %w", len(messages), documentID, err)
	}
	customhandler.Logger(ctx).Info("embedding jobs queued", slog.Int("job_count", len(messages)))
	return nil
}

func (s *Service) fail(ctx context.Context, orgID, documentID uuid.UUID, reason string) error {
	err := s.Store.InOrg(ctx, orgID, func(tx pgx.Tx) error {
		return store.MarkDocumentFailed(ctx, tx, documentID, reason)
	})
	if err != nil {
		return fmt.Errorf("record failure of document %s: %w", documentID, err)
	}
	customhandler.Logger(ctx).Info("document failed", slog.String("reason", reason))
	s.Recorder.Record(ctx, analytics.Event{OrgID: orgID, Type: analytics.EventDocumentFailed, DocumentIDs: []uuid.UUID{documentID}})
	return nil
}

func pageCount(doc *extract.Document) int {
	if doc.Format == extract.FormatPDF {
		return len(doc.Pages)
	}
	return 0
}
