// Package workoswebhook is the WorkOSWebhook function: POST
// /api/webhooks/workos receives WorkOS webhook deliveries. It carries no
// access token; the WorkOS-Signature header authenticates it. A verified
// delivery is recorded once by event id and requests an identity sync run.
// The sync reads the Events API, so the delivered payload itself is never
// applied.
package workoswebhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/bondingai/platform/shared/customhandler"
	"github.com/bondingai/platform/shared/httpapi"
	"github.com/bondingai/platform/shared/platform"
	"github.com/bondingai/platform/shared/problem"
	"github.com/bondingai/platform/shared/webhook"
)

// Name is the function's folder name.
const Name = "WorkOSWebhook"

// maxBodyBytes caps a delivery. WorkOS events are a few kilobytes; a
// directory user with many custom attributes stays far below this.
const maxBodyBytes = 1 << 20

// EventRecorder stores a delivered event id and reports whether it is new;
// *store.Store implements it.
type EventRecorder interface {
	RecordWebhookEvent(ctx context.Context, eventID, eventType string) (bool, error)
}

// Handler serves webhook deliveries.
type Handler struct {
	Verifier *webhook.Verifier
	Events   EventRecorder
	// RequestSync requests an identity sync run without waiting for it.
	RequestSync func()
}

// Register adds the function to app.
func Register(app *customhandler.App, p *platform.Platform) {
	app.HandleHTTP(Name, "POST /api/webhooks/workos", p.Public(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := &Handler{Verifier: p.Webhooks, Events: p.Store, RequestSync: p.Directory.RequestSync}
		h.ServeHTTP(w, r)
	})))
}

type envelope struct {
	ID    string `json:"id"`
	Event string `json:"event"`
}

type response struct {
	// Duplicate is true when the event id was already recorded.
	Duplicate bool `json:"duplicate"`
}

// ServeHTTP verifies, records and acknowledges one delivery.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			problem.Write(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("The webhook body is larger than %d bytes.", maxBodyBytes))
			return
		}
		problem.Write(w, r, http.StatusBadRequest, "The webhook body could not be read.")
		return
	}

	// The signature covers the raw bytes, so they are verified before any
	// decoding.
	if err := h.Verifier.Verify(r.Header.Get(webhook.SignatureHeader), body); err != nil {
		customhandler.Logger(r.Context()).Warn("webhook rejected", slog.Any("error", err))
		problem.Write(w, r, http.StatusUnauthorized, "The WorkOS-Signature header is missing, malformed, outside the tolerance window or does not match the body.")
		return
	}

	var event envelope
	if err := json.Unmarshal(body, &event); err != nil || event.ID == "" || event.Event == "" {
		problem.Write(w, r, http.StatusBadRequest, "The webhook body is not a WorkOS event with an id and an event type.")
		return
	}

	isNew, err := h.Events.RecordWebhookEvent(r.Context(), event.ID, event.Event)
	if err != nil {
		// A 500 makes WorkOS deliver the event again later.
		httpapi.InternalError(w, r, "record webhook event", err)
		return
	}
	logger := customhandler.Logger(r.Context()).With(slog.String("event_id", event.ID), slog.String("event_type", event.Event))
	if !isNew {
		logger.Info("webhook event already recorded; not requesting another sync")
		httpapi.WriteJSON(w, http.StatusOK, response{Duplicate: true})
		return
	}
	h.RequestSync()
	logger.Info("webhook event recorded; identity sync requested")
	httpapi.WriteJSON(w, http.StatusOK, response{})
}
