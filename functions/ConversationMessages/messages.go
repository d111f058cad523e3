// Package conversationmessages is the ConversationMessages function: POST
// /api/conversations/{id}/messages with {"content": "..."} asks a question
// in one of the caller's conversations and returns the grounded answer
// with its checked citations. With Accept: text/event-stream the answer
// streams as Server-Sent Events:
//
//	event: context  {"query", "sources"}: the passages the answer uses
//	event: delta    {"text"}: the next piece of the answer
//	event: done     the reply, as the JSON response carries it
//	event: error    {"detail"}: the answer failed after the stream began
package conversationmessages

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/bondingai/platform/shared/chat"
	"github.com/bondingai/platform/shared/customhandler"
	"github.com/bondingai/platform/shared/httpapi"
	"github.com/bondingai/platform/shared/platform"
	"github.com/bondingai/platform/shared/problem"
	"github.com/bondingai/platform/shared/ratelimit"
	"github.com/bondingai/platform/shared/retrieval"
	"github.com/bondingai/platform/shared/store"
)

// Name is the function's folder name.
const Name = "ConversationMessages"

const notFoundDetail = "No conversation of yours has this id."

type request struct {
	Content string `json:"content"`
}

// Register adds the function to app.
func Register(app *customhandler.App, p *platform.Platform) {
	app.HandleHTTP(Name, "POST /api/conversations/{id}/messages", p.Authenticated(p.RateLimits.Middleware(ratelimit.ActionChat)(ask(p))))
}

func ask(p *platform.Platform) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		caller, _ := httpapi.PrincipalFromContext(r.Context())
		id, err := uuid.Parse(r.PathValue("id"))
		if err != nil {
			problem.Write(w, r, http.StatusNotFound, notFoundDetail)
			return
		}
		var req request
		if !httpapi.DecodeJSON(w, r, &req) {
			return
		}

		var stream *eventStream
		var observer chat.Observer
		if wantsEventStream(r) {
			stream = &eventStream{w: w, controller: http.NewResponseController(w)}
			observer = stream.observer()
		}

		reply, err := p.Chat.Ask(r.Context(), caller.OrgID, caller.UserID, id, req.Content, observer)
		if err != nil {
			if stream != nil && stream.started {
				customhandler.Logger(r.Context()).Error("streamed answer failed", slog.String("conversation_id", id.String()), slog.Any("error", err))
				stream.send("error", map[string]string{"detail": "The answer failed because of an internal error. Retry later or contact your administrator."})
				return
			}
			writeError(w, r, err)
			return
		}

		p.Recorder.Record(r.Context(), answeredEvent(caller, reply))
		view := chat.NewReplyView(reply)
		if stream != nil {
			stream.send("done", view)
			return
		}
		w.Header().Set("Location", "/api/conversations/"+id.String())
		httpapi.WriteJSON(w, http.StatusCreated, view)
	}
}

func writeError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, chat.ErrInvalidContent):
		problem.Write(w, r, http.StatusBadRequest, chat.Detail(err))
	case errors.Is(err, store.ErrNotFound):
		problem.Write(w, r, http.StatusNotFound, notFoundDetail)
	case errors.Is(err, retrieval.ErrInvalidQuery):
		problem.Write(w, r, http.StatusBadRequest, "The question cannot be searched: "+err.Error()+".")
	default:
		httpapi.InternalError(w, r, "answer question", err)
	}
}

// wantsEventStream reports whether the Accept header names
// text/event-stream.
func wantsEventStream(r *http.Request) bool {
	for _, accepted := range strings.Split(r.Header.Get("Accept"), ",") {
		mediaType, _, err := mime.ParseMediaType(strings.TrimSpace(accepted))
		if err == nil && mediaType == "text/event-stream" {
			return true
		}
	}
	return false
}

// eventStream writes Server-Sent Events, sending the headers with the
// first event so that errors found before it can still be problem
// responses.
type eventStream struct {
	w          http.ResponseWriter
	controller *http.ResponseController
	started    bool
}

func (s *eventStream) observer() chat.Observer {
	return chat.Observer{
		OnContext: func(query string, sources []chat.Source) error {
			return s.send("context", chat.ContextView{Query: query, Sources: sources})
		},
		OnDelta: func(text string) error {
			return s.send("delta", map[string]string{"text": text})
		},
	}
}

// send writes one event and flushes it to the client.
func (s *eventStream) send(event string, data any) error {
	if !s.started {
		header := s.w.Header()
		header.Set("Content-Type", "text/event-stream")
		header.Set("Cache-Control", "no-cache")
		header.Set("X-Accel-Buffering", "no")
		s.w.WriteHeader(http.StatusOK)
		s.started = true
	}
	payload, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("encode %s event: %w", event, err)
	}
	if _, err := fmt.Fprintf(s.w, "event: %s\ndata: %s\n\n", event, payload); err != nil {
		return fmt.Errorf("write %s event: %w", event, err)
	}
	if err := s.controller.Flush(); err != nil {
		return fmt.Errorf("flush %s event: %w", event, err)
	}
	return nil
}
