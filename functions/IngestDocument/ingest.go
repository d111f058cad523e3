// Package ingestdocument is the IngestDocument function. Its blob trigger
// fires for every file uploaded to documents/{orgId}/{documentId}/{name};
// it extracts the text, chunks it and queues the embedding jobs.
package ingestdocument

import (
	"context"
	"log/slog"

	"github.com/google/uuid"

	"github.com/bondingai/platform/shared/customhandler"
	"github.com/bondingai/platform/shared/platform"
)

// Name is the function's folder name.
const Name = "IngestDocument"

// Register adds the function to app.
func Register(app *customhandler.App, p *platform.Platform) {
	app.HandleTrigger(Name, func(ctx context.Context, inv *customhandler.Invocation) (*customhandler.Result, error) {
		blob, err := customhandler.DecodeBlobTrigger(inv, "blob", "orgId", "documentId", "name")
		if err != nil {
			return nil, err
		}

		orgID, orgErr := uuid.Parse(blob.PathParams["orgId"])
		documentID, docErr := uuid.Parse(blob.PathParams["documentId"])
		if orgErr != nil || docErr != nil {
			// Only the upload API writes to this container, always under
			// {org_id}/{document_id}/; a blob elsewhere has no document
			// record to ingest into, and a retry cannot change that.
			customhandler.Logger(ctx).Warn("blob path is not an uploaded document; skipping", slog.String("uri", blob.URI))
			return &customhandler.Result{Logs: []string{"skipped a blob outside {org_id}/{document_id}/"}}, nil
		}

		if err := p.Ingest.IngestDocument(ctx, orgID, documentID, blob.Content); err != nil {
			return nil, err
		}
		return &customhandler.Result{}, nil
	})
}
