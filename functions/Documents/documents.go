// Package documents is the Documents function: POST /api/documents uploads
// a file (multipart field "file") and GET /api/documents lists the
// organization's documents, newest first.
package documents

import (
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"

	"github.com/bondingai/platform/shared/customhandler"
	"github.com/bondingai/platform/shared/documents"
	"github.com/bondingai/platform/shared/httpapi"
	"github.com/bondingai/platform/shared/platform"
	"github.com/bondingai/platform/shared/problem"
	"github.com/bondingai/platform/shared/ratelimit"
)

// Name is the function's folder name.
const Name = "Documents"

// Page sizes of the list.
const (
	listLimitDefault = 50
	listLimitMax     = 200
)

// multipartOverheadBytes allows for the multipart boundaries and part
// headers around the file.
const multipartOverheadBytes = 64 << 10

// Register adds the function to app.
func Register(app *customhandler.App, p *platform.Platform) {
	app.HandleHTTP(Name, "POST /api/documents", p.AuthenticatedUpload(multipartOverheadBytes, p.RateLimits.Middleware(ratelimit.ActionUpload)(upload(p))))
	app.HandleHTTP(Name, "GET /api/documents", p.Authenticated(list(p)))
}

func upload(p *platform.Platform) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		caller, _ := httpapi.PrincipalFromContext(r.Context())

		r.Body = http.MaxBytesReader(w, r.Body, p.Config.MaxUploadBytes+multipartOverheadBytes)
		part, err := filePart(r)
		if err != nil {
			writeUploadError(w, r, p, err)
			return
		}
		defer part.Close()

		doc, created, err := p.Documents.Upload(r.Context(), caller.OrgID, caller.UserID, part.FileName(), part)
		if err != nil {
			writeUploadError(w, r, p, err)
			return
		}

		w.Header().Set("Location", "/api/documents/"+doc.ID.String())
		if !created {
			// Identical content is already stored: return that document.
			httpapi.WriteJSON(w, http.StatusOK, documents.NewView(doc))
			return
		}
		httpapi.WriteJSON(w, http.StatusAccepted, documents.NewView(doc))
	}
}

var errNoFilePart = errors.New(`the request has no multipart field "file"`)

// filePart returns the first part named "file" of a multipart/form-data
// body, streaming it rather than buffering the form.
func filePart(r *http.Request) (*multipart.Part, error) {
	reader, err := r.MultipartReader()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNotMultipart, err)
	}
	for {
		part, err := reader.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, errNoFilePart
		}
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %v", errNotMultipart, err)
		}
		if part.FormName() == "file" {
			return part, nil
		}
		part.Close()
	}
}

var errNotMultipart = errors.New("the request must be multipart/form-data")

func writeUploadError(w http.ResponseWriter, r *http.Request, p *platform.Platform, err error) {
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge), errors.Is(err, documents.ErrFileTooLarge):
		problem.Write(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("The file is larger than the upload limit of %d bytes.", p.Config.MaxUploadBytes))
	case errors.Is(err, documents.ErrUnsupportedType):
		problem.Write(w, r, http.StatusUnsupportedMediaType, documents.ErrUnsupportedType.Error()+".")
	case errors.Is(err, errNotMultipart), errors.Is(err, errNoFilePart):
		problem.Write(w, r, http.StatusBadRequest, `Send the document as multipart/form-data with the file in a field named "file".`)
	case errors.Is(err, documents.ErrDocumentLimit):
		problem.Write(w, r, http.StatusForbidden, fmt.Sprintf("The organization has reached its limit of %d documents. Delete documents before uploading more.", p.Config.Limits.MaxDocumentsPerOrganization))
	case errors.Is(err, documents.ErrEmptyFile):
		problem.Write(w, r, http.StatusBadRequest, "The file is empty.")
	case errors.Is(err, documents.ErrInvalidFilename):
		problem.Write(w, r, http.StatusBadRequest, "The file name is empty or contains no usable characters.")
	default:
		httpapi.InternalError(w, r, "upload document", err)
	}
}

type listResponse struct {
	Documents  []documents.View `json:"documents"`
	NextCursor string           `json:"next_cursor,omitempty"`
}

func list(p *platform.Platform) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		caller, _ := httpapi.PrincipalFromContext(r.Context())

		limit := listLimitDefault
		if raw := r.URL.Query().Get("limit"); raw != "" {
			n, err := strconv.Atoi(raw)
			if err != nil || n < 1 || n > listLimitMax {
				problem.Write(w, r, http.StatusBadRequest, fmt.Sprintf("limit must be an integer from 1 to %d.", listLimitMax))
				return
			}
			limit = n
		}

		docs, next, err := p.Documents.List(r.Context(), caller.OrgID, limit, r.URL.Query().Get("cursor"))
		if errors.Is(err, documents.ErrInvalidCursor) {
			problem.Write(w, r, http.StatusBadRequest, "The cursor is invalid; use the next_cursor value of a previous page.")
			return
		}
		if err != nil {
			httpapi.InternalError(w, r, "list documents", err)
			return
		}

		response := listResponse{Documents: make([]documents.View, 0, len(docs)), NextCursor: next}
		for _, d := range docs {
			response.Documents = append(response.Documents, documents.NewView(d))
		}
		httpapi.WriteJSON(w, http.StatusOK, response)
	}
}
