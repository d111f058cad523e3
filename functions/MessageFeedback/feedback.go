// Package messagefeedback is the MessageFeedback function: POST
// /api/messages/{id}/feedback with {"rating": "up"|"down", "comment": "..."}
// records the caller's rating of an answer in one of their conversations.
// A first rating answers 201, a changed one 200.
package messagefeedback

import (
	"errors"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/bondingai/platform/shared/analytics"
	"github.com/bondingai/platform/shared/chat"
	"github.com/bondingai/platform/shared/customhandler"
	"github.com/bondingai/platform/shared/httpapi"
	"github.com/bondingai/platform/shared/platform"
	"github.com/bondingai/platform/shared/problem"
	"github.com/bondingai/platform/shared/store"
)

// Name is the function's folder name.
const Name = "MessageFeedback"

const notFoundDetail = "No message of yours has this id."

type request struct {
	Rating  string `json:"rating"`
	Comment string `json:"comment"`
}

type response struct {
	MessageID  uuid.UUID `json:"message_id"`
	Rating     string    `json:"rating"`
	Comment    string    `json:"comment"`
	RecordedAt time.Time `json:"recorded_at"`
}

// Register adds the function to app.
func Register(app *customhandler.App, p *platform.Platform) {
	app.HandleHTTP(Name, "POST /api/messages/{id}/feedback", p.Authenticated(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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

		created, err := p.Chat.RecordFeedback(r.Context(), caller.OrgID, caller.UserID, id, req.Rating, req.Comment)
		switch {
		case errors.Is(err, chat.ErrInvalidFeedback):
			problem.Write(w, r, http.StatusBadRequest, chat.Detail(err))
			return
		case errors.Is(err, store.ErrNotFound):
			problem.Write(w, r, http.StatusNotFound, notFoundDetail)
			return
		case err != nil:
			httpapi.InternalError(w, r, "record feedback", err)
			return
		}

		// Only the first rating of a message counts; a changed rating
		// updates the stored feedback but records no second event.
		if created {
			p.Recorder.Record(r.Context(), analytics.Event{OrgID: caller.OrgID, UserID: caller.UserID, Type: analytics.EventFeedbackGiven, FeedbackScore: feedbackScore(req.Rating)})
		}
		status := http.StatusOK
		if created {
			status = http.StatusCreated
		}
		httpapi.WriteJSON(w, status, response{MessageID: id, Rating: req.Rating, Comment: req.Comment, RecordedAt: time.Now().UTC()})
	})))
}
