// Package documents manages uploaded documents: upload to Blob Storage
// with a pending record, reading and listing records, and deletion of the
// blob with its chunks and vectors. Ingestion itself (package ingest)
// starts from the blob trigger that the upload causes.
package documents

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bondingai/platform/shared/analytics"
	"github.com/bondingai/platform/shared/blobstore"
	"github.com/bondingai/platform/shared/customhandler"
	"github.com/bondingai/platform/shared/pagination"
	"github.com/bondingai/platform/shared/store"
)

// Errors the HTTP layer maps to status codes.
var (
	ErrEmptyFile     = errors.New("the file is empty")
	ErrFileTooLarge  = errors.New("the file is larger than the upload limit")
	ErrInvalidCursor = errors.New("the cursor is invalid")
	// ErrDocumentLimit is returned when the organization already has
	// MaxDocuments documents.
	ErrDocumentLimit = errors.New("the organization has reached its document limit")
)

// Service runs document operations for one organization at a time.
type Service struct {
	Store *store.Store
	Blobs *blobstore.Store
	// MaxUploadBytes caps one file.
	MaxUploadBytes int64
	// MaxDocuments caps the organization's documents, failed ones
	// excluded; 0 means no cap.
	MaxDocuments int
	// Recorder receives a document_uploaded usage event per new upload;
	// nil records none.
	Recorder *analytics.Recorder
}

// Container is the Blob Storage container of uploaded documents. The
// IngestDocument function's blobTrigger path starts with the same name.
const Container = "documents"

// BlobName returns where the document's file is stored in the container:
// {org_id}/{document_id}/{filename}. The blob trigger's path pattern
// reads the ids back from it.
func BlobName(orgID, documentID uuid.UUID, filename string) string {
	return orgID.String() + "/" + documentID.String() + "/" + filename
}

// Upload stores content as a new document of orgID and returns it with
// created set. When the organization already has a live document with the
// same content it returns that one with created false and stores nothing,
// so identical content is never indexed twice.
func (s *Service) Upload(ctx context.Context, orgID, userID uuid.UUID, filename string, content io.Reader) (*store.Document, bool, error) {
	filename, err := SanitizeFilename(filename)
	if err != nil {
		return nil, false, err
	}

	// Spool to a temporary file while hashing, so a large upload is never
	// held in memory and its hash is known before anything is stored.
	spool, err := os.CreateTemp("", "bondingai-upload-*")
	if err != nil {
		return nil, false, fmt.Errorf("create upload spool file: %w", err)
	}
	defer func() {
		spool.Close()
		os.Remove(spool.Name())
	}()
	hash := sha256.New()
	size, err := io.Copy(io.MultiWriter(spool, hash), io.LimitReader(content, s.MaxUploadBytes+1))
	if err != nil {
		return nil, false, fmt.Errorf("read upload: %w", err)
	}
	switch {
	case size == 0:
		return nil, false, ErrEmptyFile
	case size > s.MaxUploadBytes:
		return nil, false, fmt.Errorf("%w of %d bytes", ErrFileTooLarge, s.MaxUploadBytes)
	}
	head := make([]byte, min(size, sniffLength))
	if _, err := spool.ReadAt(head, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, false, fmt.Errorf("read upload: %w", err)
	}
	contentType, err := detectContentType(filename, head)
	if err != nil {
		return nil, false, err
	}

	doc := &store.Document{
		ID: uuid.New(), OrgID: orgID, UploadedBy: &userID, Filename: filename,
		ContentType: contentType, SizeBytes: size, SHA256: hash.Sum(nil),
	}
	doc.BlobName = BlobName(orgID, doc.ID, filename)
	existing, err := s.create(ctx, doc)
	if err != nil || existing != nil {
		return existing, false, err
	}

	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		return nil, false, fmt.Errorf("rewind upload: %w", err)
	}
	metadata := map[string]string{"org_id": orgID.String(), "document_id": doc.ID.String()}
	if err := s.Blobs.Upload(ctx, doc.BlobName, spool, contentType, metadata); err != nil {
		// Without its blob the record would stay pending forever.
		if cleanupErr := s.deleteRecord(context.WithoutCancel(ctx), orgID, doc.ID); cleanupErr != nil {
			customhandler.Logger(ctx).Error("remove record of failed upload", slog.String("document_id", doc.ID.String()), slog.Any("error", cleanupErr))
		}
		return nil, false, err
	}
	customhandler.Logger(ctx).Info("document uploaded", slog.String("document_id", doc.ID.String()), slog.Int64("size_bytes", size))
	s.Recorder.Record(ctx, analytics.Event{OrgID: orgID, UserID: userID, Type: analytics.EventDocumentUploaded, DocumentIDs: []uuid.UUID{doc.ID}})
	return doc, true, nil
}

// create inserts doc, or returns the live document with the same content.
func (s *Service) create(ctx context.Context, doc *store.Document) (*store.Document, error) {
	var existing *store.Document
	err := s.Store.InOrg(ctx, doc.OrgID, func(tx pgx.Tx) error {
		found, err := store.FindDocumentByContent(ctx, tx, doc.SHA256)
		if err == nil {
			existing = found
			return nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := s.checkDocumentLimit(ctx, tx); err != nil {
			return err
		}
		return store.CreateDocument(ctx, tx, doc)
	})
	if errors.Is(err, store.ErrDuplicateContent) {
		// A concurrent upload of the same content won the race.
		err = s.Store.InOrg(ctx, doc.OrgID, func(tx pgx.Tx) error {
			existing, err = store.FindDocumentByContent(ctx, tx, doc.SHA256)
			return err
		})
	}
	if err != nil {
		return nil, fmt.Errorf("create document record: %w", err)
	}
	return existing, nil
}

// checkDocumentLimit returns ErrDocumentLimit when the organization has
// MaxDocuments documents. It holds the organization's quota lock until tx
// ends, so that concurrent uploads are counted one after another.
func (s *Service) checkDocumentLimit(ctx context.Context, tx pgx.Tx) error {
	if s.MaxDocuments <= 0 {
		return nil
	}
	if err := store.LockDocumentQuota(ctx, tx); err != nil {
		return err
	}
	count, err := store.CountDocuments(ctx, tx)
	if err != nil {
		return err
	}
	if count >= s.MaxDocuments {
		return fmt.Errorf("%w of %d", ErrDocumentLimit, s.MaxDocuments)
	}
	return nil
}

// Get returns the document id of orgID, or store.ErrNotFound.
func (s *Service) Get(ctx context.Context, orgID, id uuid.UUID) (*store.Document, error) {
	var doc *store.Document
	err := s.Store.InOrg(ctx, orgID, func(tx pgx.Tx) error {
		var err error
		doc, err = store.GetDocument(ctx, tx, id)
		return err
	})
	return doc, err
}

// List returns up to limit documents of orgID, newest first, and the cursor
// of the next page ("" on the last page).
func (s *Service) List(ctx context.Context, orgID uuid.UUID, limit int, cursor string) ([]*store.Document, string, error) {
	after, err := pagination.Decode(cursor)
	if err != nil {
		return nil, "", ErrInvalidCursor
	}
	var docs []*store.Document
	err = s.Store.InOrg(ctx, orgID, func(tx pgx.Tx) error {
		var err error
		docs, err = store.ListDocuments(ctx, tx, limit+1, after)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(docs) > limit {
		docs = docs[:limit]
		last := docs[len(docs)-1]
		next = pagination.Encode(pagination.Cursor{CreatedAt: last.CreatedAt, ID: last.ID})
	}
	return docs, next, nil
}

// Delete removes the document's blob, then its record with every chunk,
// vector and job. The blob goes first: if the record delete then fails, a
// retry finds the record and finishes, while the reverse order could leave
// a blob no record points to.
func (s *Service) Delete(ctx context.Context, orgID, id uuid.UUID) error {
	doc, err := s.Get(ctx, orgID, id)
	if err != nil {
		return err
	}
	if err := s.Blobs.Delete(ctx, doc.BlobName); err != nil {
		return err
	}
	if err := s.deleteRecord(ctx, orgID, id); err != nil {
		return err
	}
	customhandler.Logger(ctx).Info("document deleted", slog.String("document_id", id.String()))
	return nil
}

func (s *Service) deleteRecord(ctx context.Context, orgID, id uuid.UUID) error {
	return s.Store.InOrg(ctx, orgID, func(tx pgx.Tx) error {
		return store.DeleteDocument(ctx, tx, id)
	})
}
