// Package document is the Document function: GET /api/documents/{id}
// returns one document with its ingestion status, and DELETE removes it
// with its blob, chunks and vectors.
package document

import (
	"errors"
	"net/http"

	"github.com/google/uuid"

	"github.com/bondingai/platform/shared/customhandler"
	"github.com/bondingai/platform/shared/documents"
	"github.com/bondingai/platform/shared/httpapi"
	"github.com/bondingai/platform/shared/platform"
	"github.com/bondingai/platform/shared/problem"
	"github.com/bondingai/platform/shared/store"
)

// Name is the function's folder name.
const Name = "Document"

// Register adds the function to app.
func Register(app *customhandler.App, p *platform.Platform) {
	app.HandleHTTP(Name, "GET /api/documents/{id}", p.Authenticated(get(p)))
	app.HandleHTTP(Name, "DELETE /api/documents/{id}", p.Authenticated(remove(p)))
}

// documentID parses the {id} path value, writing a 404 when it is not a
// document id: an id that cannot exist is simply not found.
func documentID(w http.ResponseWriter, r *http.Request) (uuid.UUID, bool) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		problem.Write(w, r, http.StatusNotFound, "No document has this id.")
		return uuid.Nil, false
	}
	return id, true
}

func get(p *platform.Platform) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		caller, _ := httpapi.PrincipalFromContext(r.Context())
		id, ok := documentID(w, r)
		if !ok {
			return
		}

		doc, err := p.Documents.Get(r.Context(), caller.OrgID, id)
		if errors.Is(err, store.ErrNotFound) {
			problem.Write(w, r, http.StatusNotFound, "No document has this id.")
			return
		}
		if err != nil {
			httpapi.InternalError(w, r, "read document", err)
			return
		}
		httpapi.WriteJSON(w, http.StatusOK, documents.NewView(doc))
	}
}

func remove(p *platform.Platform) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		caller, _ := httpapi.PrincipalFromContext(r.Context())
		id, ok := documentID(w, r)
		if !ok {
			return
		}

		err := p.Documents.Delete(r.Context(), caller.OrgID, id)
		if errors.Is(err, store.ErrNotFound) {
			problem.Write(w, r, http.StatusNotFound, "No document has this id.")
			return
		}
		if err != nil {
			httpapi.InternalError(w, r, "delete document", err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}
