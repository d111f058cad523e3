// Package conversation is the Conversation function: GET
// /api/conversations/{id} returns one of the caller's conversations with
// its messages, PATCH renames it and DELETE deletes it.
package conversation

import (
	"errors"
	"net/http"

	"github.com/google/uuid"

	"github.com/bondingai/platform/shared/chat"
	"github.com/bondingai/platform/shared/customhandler"
	"github.com/bondingai/platform/shared/httpapi"
	"github.com/bondingai/platform/shared/platform"
	"github.com/bondingai/platform/shared/problem"
	"github.com/bondingai/platform/shared/store"
)

// Name is the function's folder name.
const Name = "Conversation"

const notFoundDetail = "No conversation of yours has this id."

type patchRequest struct {
	Title *string `json:"title"`
}

// Register adds the function to app.
func Register(app *customhandler.App, p *platform.Platform) {
	app.HandleHTTP(Name, "GET /api/conversations/{id}", p.Authenticated(get(p)))
	app.HandleHTTP(Name, "PATCH /api/conversations/{id}", p.Authenticated(patch(p)))
	app.HandleHTTP(Name, "DELETE /api/conversations/{id}", p.Authenticated(remove(p)))
}

// conversationID parses the {id} path value, writing a 404 when it is not
// a conversation id.
func conversationID(w http.ResponseWriter, r *http.Request) (uuid.UUID, bool) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		problem.Write(w, r, http.StatusNotFound, notFoundDetail)
		return uuid.Nil, false
	}
	return id, true
}

func get(p *platform.Platform) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		caller, _ := httpapi.PrincipalFromContext(r.Context())
		id, ok := conversationID(w, r)
		if !ok {
			return
		}

		c, messages, err := p.Chat.Get(r.Context(), caller.OrgID, caller.UserID, id)
		if errors.Is(err, store.ErrNotFound) {
			problem.Write(w, r, http.StatusNotFound, notFoundDetail)
			return
		}
		if err != nil {
			httpapi.InternalError(w, r, "read conversation", err)
			return
		}
		if messages == nil {
			messages = []*store.Message{}
		}
		httpapi.WriteJSON(w, http.StatusOK, chat.NewConversationView(c, messages))
	}
}

func patch(p *platform.Platform) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		caller, _ := httpapi.PrincipalFromContext(r.Context())
		id, ok := conversationID(w, r)
		if !ok {
			return
		}
		var req patchRequest
		if !httpapi.DecodeJSON(w, r, &req) {
			return
		}
		if req.Title == nil {
			problem.Write(w, r, http.StatusBadRequest, `The request must set "title".`)
			return
		}

		c, err := p.Chat.Rename(r.Context(), caller.OrgID, caller.UserID, id, *req.Title)
		switch {
		case errors.Is(err, chat.ErrInvalidTitle):
			problem.Write(w, r, http.StatusBadRequest, chat.Detail(err))
			return
		case errors.Is(err, store.ErrNotFound):
			problem.Write(w, r, http.StatusNotFound, notFoundDetail)
			return
		case err != nil:
			httpapi.InternalError(w, r, "rename conversation", err)
			return
		}
		httpapi.WriteJSON(w, http.StatusOK, chat.NewConversationView(c, nil))
	}
}

func remove(p *platform.Platform) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		caller, _ := httpapi.PrincipalFromContext(r.Context())
		id, ok := conversationID(w, r)
		if !ok {
			return
		}

		err := p.Chat.Delete(r.Context(), caller.OrgID, caller.UserID, id)
		if errors.Is(err, store.ErrNotFound) {
			problem.Write(w, r, http.StatusNotFound, notFoundDetail)
			return
		}
		if err != nil {
			httpapi.InternalError(w, r, "delete conversation", err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}
