// Package conversations is the Conversations function: POST
// /api/conversations starts a conversation of the caller and GET
// /api/conversations lists the caller's conversations, newest first.
package conversations

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/bondingai/platform/shared/analytics"
	"github.com/bondingai/platform/shared/chat"
	"github.com/bondingai/platform/shared/customhandler"
	"github.com/bondingai/platform/shared/httpapi"
	"github.com/bondingai/platform/shared/platform"
	"github.com/bondingai/platform/shared/problem"
)

// Name is the function's folder name.
const Name = "Conversations"

// Page sizes of the list.
const (
	listLimitDefault = 20
	listLimitMax     = 100
)

type createRequest struct {
	Title string `json:"title"`
}

type listResponse struct {
	Conversations []chat.ConversationView `json:"conversations"`
	NextCursor    string                  `json:"next_cursor,omitempty"`
}

// Register adds the function to app.
func Register(app *customhandler.App, p *platform.Platform) {
	app.HandleHTTP(Name, "POST /api/conversations", p.Authenticated(create(p)))
	app.HandleHTTP(Name, "GET /api/conversations", p.Authenticated(list(p)))
}

func create(p *platform.Platform) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		caller, _ := httpapi.PrincipalFromContext(r.Context())

		// The body is optional: an empty body starts an untitled
		// conversation, which the first question names.
		var req createRequest
		if r.ContentLength != 0 && !emptyBody(r) {
			if !httpapi.DecodeJSON(w, r, &req) {
				return
			}
		}

		c, err := p.Chat.Create(r.Context(), caller.OrgID, caller.UserID, req.Title)
		if errors.Is(err, chat.ErrInvalidTitle) {
			problem.Write(w, r, http.StatusBadRequest, chat.Detail(err))
			return
		}
		if err != nil {
			httpapi.InternalError(w, r, "create conversation", err)
			return
		}
		p.Recorder.Record(r.Context(), analytics.Event{OrgID: caller.OrgID, UserID: caller.UserID, Type: analytics.EventConversationStarted})
		w.Header().Set("Location", "/api/conversations/"+c.ID.String())
		httpapi.WriteJSON(w, http.StatusCreated, chat.NewConversationView(c, nil))
	}
}

// emptyBody reports whether a request with unknown length has no body,
// reading at most one byte; the body is restored for DecodeJSON otherwise.
func emptyBody(r *http.Request) bool {
	if r.Body == nil || r.Body == http.NoBody {
		return true
	}
	first := make([]byte, 1)
	n, _ := io.ReadFull(r.Body, first)
	if n == 0 {
		return true
	}
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(strings.NewReader(string(first[:n])), r.Body), r.Body}
	return false
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

		found, next, err := p.Chat.List(r.Context(), caller.OrgID, caller.UserID, limit, r.URL.Query().Get("cursor"))
		if errors.Is(err, chat.ErrInvalidCursor) {
			problem.Write(w, r, http.StatusBadRequest, "The cursor is invalid; use the next_cursor value of a previous page.")
			return
		}
		if err != nil {
			httpapi.InternalError(w, r, "list conversations", err)
			return
		}

		response := listResponse{Conversations: make([]chat.ConversationView, 0, len(found)), NextCursor: next}
		for _, c := range found {
			response.Conversations = append(response.Conversations, chat.NewConversationView(c, nil))
		}
		httpapi.WriteJSON(w, http.StatusOK, response)
	}
}
