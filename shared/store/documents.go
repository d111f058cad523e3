package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bondingai/platform/shared/pagination"
)

// Document statuses. A document is ready only when every chunk has its
// vector; failed documents carry the reason in Error.
const (
	StatusPending    = "pending"
	StatusProcessing = "processing"
	StatusReady      = "ready"
	StatusFailed     = "failed"
)

// ErrDuplicateContent is returned by CreateDocument when the organization
// already has a live document with the same content.
var ErrDuplicateContent = errors.New("a document with identical content exists")

// Document is an uploaded file and its ingestion state.
type Document struct {
	ID             uuid.UUID
	OrgID          uuid.UUID
	UploadedBy     *uuid.UUID
	Filename       string
	ContentType    string
	SizeBytes      int64
	SHA256         []byte
	BlobName       string
	Status         string
	Error          *string
	PageCount      *int
	ChunkCount     *int
	EmbeddingModel *string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	ReadyAt        *time.Time
}

const documentColumns = `id, org_id, uploaded_by, filename, content_type, size_bytes, sha256, blob_name,
	status, error, page_count, chunk_count, embedding_model, created_at, updated_at, ready_at`

func scanDocument(row pgx.Row) (*Document, error) {
	var d Document
	err := row.Scan(&d.ID, &d.OrgID, &d.UploadedBy, &d.Filename, &d.ContentType, &d.SizeBytes, &d.SHA256, &d.BlobName,
		&d.Status, &d.Error, &d.PageCount, &d.ChunkCount, &d.EmbeddingModel, &d.CreatedAt, &d.UpdatedAt, &d.ReadyAt)
	if err != nil {
		return nil, notFound(err)
	}
	return &d, nil
}

// CreateDocument inserts d with status pending. It returns
// ErrDuplicateContent when a live document has the same SHA-256.
func CreateDocument(ctx context.Context, tx pgx.Tx, d *Document) error {
	row := tx.QueryRow(ctx, `
		INSERT INTO documents (id, org_id, uploaded_by, filename, content_type, size_bytes, sha256, blob_name, status)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending')
		RETURNING status, created_at, updated_at`,
		d.ID, d.OrgID, d.UploadedBy, d.Filename, d.ContentType, d.SizeBytes, d.SHA256, d.BlobName)
	if err := row.Scan(&d.Status, &d.CreatedAt, &d.UpdatedAt); err != nil {
		if isUniqueViolation(err, "documents_org_content") {
			return ErrDuplicateContent
		}
		return fmt.Errorf("insert document %s: %w", d.ID, err)
	}
	return nil
}

// FindDocumentByContent returns the organization's live document whose
// content has the given SHA-256.
func FindDocumentByContent(ctx context.Context, tx pgx.Tx, sha256 []byte) (*Document, error) {
	return scanDocument(tx.QueryRow(ctx,
		`SELECT `+documentColumns+` FROM documents WHERE sha256 = $1 AND status <> 'failed'`, sha256))
}

// GetDocument returns the document id of the transaction's organization.
func GetDocument(ctx context.Context, tx pgx.Tx, id uuid.UUID) (*Document, error) {
	return scanDocument(tx.QueryRow(ctx, `SELECT `+documentColumns+` FROM documents WHERE id = $1`, id))
}

// LockDocument returns the document and holds its row lock until the
// transaction ends, serialising status changes.
func LockDocument(ctx context.Context, tx pgx.Tx, id uuid.UUID) (*Document, error) {
	return scanDocument(tx.QueryRow(ctx, `SELECT `+documentColumns+` FROM documents WHERE id = $1 FOR UPDATE`, id))
}

// DocumentCursor marks a position in the newest-first document list.
type DocumentCursor = pagination.Cursor

// ListDocuments returns up to limit documents, newest first, after cursor
// (nil for the first page).
func ListDocuments(ctx context.Context, tx pgx.Tx, limit int, after *DocumentCursor) ([]*Document, error) {
	var rows pgx.Rows
	var err error
	if after == nil {
		rows, err = tx.Query(ctx, `SELECT `+documentColumns+` FROM documents
			ORDER BY created_at DESC, id DESC LIMIT $1`, limit)
	} else {
		rows, err = tx.Query(ctx, `SELECT `+documentColumns+` FROM documents
			WHERE (created_at, id) < ($2, $3)
			ORDER BY created_at DESC, id DESC LIMIT $1`, limit, after.CreatedAt, after.ID)
	}
	if err != nil {
		return nil, fmt.Errorf("list documents: %w", err)
	}
	defer rows.Close()
	var docs []*Document
	for rows.Next() {
		d, err := scanDocument(rows)
		if err != nil {
			return nil, fmt.Errorf("list documents: %w", err)
		}
		docs = append(docs, d)
	}
	return docs, rows.Err()
}

// DeleteDocument deletes the document with its chunks, vectors and jobs.
func DeleteDocument(ctx context.Context, tx pgx.Tx, id uuid.UUID) error {
	tag, err := tx.Exec(ctx, `DELETE FROM documents WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete document %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// MarkDocumentProcessing moves a pending document to processing.
func MarkDocumentProcessing(ctx context.Context, tx pgx.Tx, id uuid.UUID) error {
	_, err := tx.Exec(ctx, `UPDATE documents SET status = 'processing', updated_at = now()
		WHERE id = $1 AND status = 'pending'`, id)
	if err != nil {
		return fmt.Errorf("mark document %s processing: %w", id, err)
	}
	return nil
}

// MarkDocumentFailed records why the document cannot be ingested. A ready
// document is never failed afterwards.
func MarkDocumentFailed(ctx context.Context, tx pgx.Tx, id uuid.UUID, reason string) error {
	_, err := tx.Exec(ctx, `UPDATE documents SET status = 'failed', error = $2, updated_at = now()
		WHERE id = $1 AND status IN ('pending', 'processing')`, id, reason)
	if err != nil {
		return fmt.Errorf("mark document %s failed: %w", id, err)
	}
	return nil
}

// RecordDocumentChunked stores the page and chunk counts and the model that
// will embed the chunks.
func RecordDocumentChunked(ctx context.Context, tx pgx.Tx, id uuid.UUID, pageCount, chunkCount int, model string) error {
	_, err := tx.Exec(ctx, `UPDATE documents SET page_count = $2, chunk_count = $3, embedding_model = $4, updated_at = now()
		WHERE id = $1`, id, pageCount, chunkCount, model)
	if err != nil {
		return fmt.Errorf("record chunks of document %s: %w", id, err)
	}
	return nil
}

// MarkDocumentReadyIfComplete marks the document ready when it is processing
// and none of its embedding jobs is unfinished. Callers must hold the
// document's row lock (LockDocument), so two jobs finishing at once cannot
// both miss the last one.
func MarkDocumentReadyIfComplete(ctx context.Context, tx pgx.Tx, id uuid.UUID) (bool, error) {
	tag, err := tx.Exec(ctx, `
		UPDATE documents SET status = 'ready', ready_at = now(), updated_at = now()
		WHERE id = $1 AND status = 'processing'
		  AND chunk_count IS NOT NULL
		  AND NOT EXISTS (SELECT 1 FROM embedding_jobs WHERE document_id = $1 AND status <> 'done')
		  AND NOT EXISTS (SELECT 1 FROM chunks WHERE document_id = $1 AND embedding IS NULL)`, id)
	if err != nil {
		return false, fmt.Errorf("mark document %s ready: %w", id, err)
	}
	return tag.RowsAffected() == 1, nil
}
