package workosstandin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// Event names the stand-in emits. The names and payloads follow the WorkOS
// events reference (https://workos.com/docs/events); session.revoked has no
// constant in workos-go v4.46.1, so clients compare it as a string.
const (
	EventUserCreated                = "user.created"
	EventUserUpdated                = "user.updated"
	EventUserDeleted                = "user.deleted"
	EventOrganizationCreated        = "organization.created"
	EventOrganizationUpdated        = "organization.updated"
	EventOrganizationDeleted        = "organization.deleted"
	EventOrganizationDomainCreated  = "organization_domain.created"
	EventOrganizationDomainVerified = "organization_domain.verified"
	EventOrganizationDomainDeleted  = "organization_domain.deleted"
	EventMembershipCreated          = "organization_membership.created"
	EventMembershipUpdated          = "organization_membership.updated"
	EventMembershipDeleted          = "organization_membership.deleted"
	EventDirectoryActivated         = "dsync.activated"
	EventDirectoryDeleted           = "dsync.deleted"
	EventDirectoryUserCreated       = "dsync.user.created"
	EventDirectoryUserUpdated       = "dsync.user.updated"
	EventDirectoryUserDeleted       = "dsync.user.deleted"
	EventDirectoryGroupCreated      = "dsync.group.created"
	EventDirectoryGroupUpdated      = "dsync.group.updated"
	EventDirectoryGroupDeleted      = "dsync.group.deleted"
	EventDirectoryGroupUserAdded    = "dsync.group.user_added"
	EventDirectoryGroupUserRemoved  = "dsync.group.user_removed"
	EventSessionCreated             = "session.created"
	EventSessionRevoked             = "session.revoked"
)

// eventRetention is how long the Events API keeps an event, the 30 days
// WorkOS documents (https://workos.com/docs/events).
const eventRetention = 30 * 24 * time.Hour

// Event is one entry of the Events API and the body of a webhook delivery.
// Webhooks and the Events API carry the same event IDs, as in WorkOS.
type Event struct {
	Object    string          `json:"object"`
	ID        string          `json:"id"`
	Event     string          `json:"event"`
	Data      json.RawMessage `json:"data"`
	CreatedAt string          `json:"created_at"`
	Context   map[string]any  `json:"context"`
}

// storedEvent is an event with the organization it belongs to, which the
// organization_id filter of GET /events matches. WorkOS does not put the
// organization into the event envelope.
type storedEvent struct {
	Event          Event  `json:"event"`
	OrganizationID string `json:"organization_id,omitempty"`
}

// emitLocked appends an event to the stream and hands it to the webhook
// sender. The caller holds the store lock, so events are in the order of the
// state changes that caused them.
func (s *Server) emitLocked(st *state, name, organization string, data any) {
	encoded, err := json.Marshal(data)
	if err != nil {
		// The payloads are the stand-in's own structs, which always encode.
		panic(fmt.Sprintf("encode %s event: %v", name, err))
	}
	event := Event{
		Object:    "event",
		ID:        newID("event"),
		Event:     name,
		Data:      encoded,
		CreatedAt: formatTimestamp(s.now()),
		Context:   map[string]any{},
	}
	if name == EventSessionCreated || name == EventSessionRevoked {
		event.Context["client_id"] = s.clientID
	}
	st.Events = append(st.Events, &storedEvent{Event: event, OrganizationID: organization})
	s.webhooks.send(event, st.WebhookEndpoints)

	// Events are in creation order, so the expired ones are a prefix.
	cutoff := s.now().Add(-eventRetention)
	expired := 0
	for _, stored := range st.Events {
		created, err := time.Parse(timestampLayout, stored.Event.CreatedAt)
		if err != nil || !created.Before(cutoff) {
			break
		}
		expired++
	}
	st.Events = st.Events[expired:]
}

// Events returns every event emitted so far, oldest first.
func (s *Server) Events() []Event {
	var events []Event
	s.store.read(func(st *state) {
		for _, stored := range st.Events {
			events = append(events, stored.Event)
		}
	})
	return events
}

// handleListEvents serves GET /events as workos-go v4's events.ListEvents
// calls it: repeated events parameters (events[] is accepted too), limit,
// after, range_start, range_end and organization_id. Events come oldest
// first, which is the only order WorkOS serves.
func (s *Server) handleListEvents(w http.ResponseWriter, r *http.Request) {
	values := r.URL.Query()
	names := append(values["events"], values["events[]"]...)
	after := values.Get("after")
	organization := values.Get("organization_id")

	var invalid []fieldError
	if len(names) == 0 {
		// NOTE: WorkOS requires at least one event name; the exact field code
		// of its 422 response is not verified.
		invalid = append(invalid, fieldError{Field: "events", Code: "events_required"})
	}
	limit := listLimitDefault
	if raw := values.Get("limit"); raw != "" {
		parsed, err := strconv.Atoi(raw)
		if err != nil || parsed < 1 || parsed > listLimitMax {
			invalid = append(invalid, fieldError{Field: "limit", Code: "limit_invalid"})
		} else {
			limit = parsed
		}
	}
	rangeStart, ok := parseRangeTime(values.Get("range_start"))
	if !ok {
		invalid = append(invalid, fieldError{Field: "range_start", Code: "range_start_invalid"})
	}
	rangeEnd, ok := parseRangeTime(values.Get("range_end"))
	if !ok {
		invalid = append(invalid, fieldError{Field: "range_end", Code: "range_end_invalid"})
	}
	if after != "" && !rangeStart.IsZero() {
		invalid = append(invalid, fieldError{Field: "range_start", Code: "range_start_and_after_both_set"})
	}
	if len(invalid) > 0 {
		writeValidationFailed(w, invalid...)
		return
	}

	page := []Event{}
	s.store.read(func(st *state) {
		for _, stored := range st.Events {
			event := stored.Event
			if after != "" && event.ID <= after {
				continue
			}
			if !slices.Contains(names, event.Event) {
				continue
			}
			if organization != "" && stored.OrganizationID != organization {
				continue
			}
			created, _ := time.Parse(timestampLayout, event.CreatedAt)
			if !rangeStart.IsZero() && created.Before(rangeStart) {
				continue
			}
			if !rangeEnd.IsZero() && !created.Before(rangeEnd) {
				continue
			}
			page = append(page, event)
			if len(page) == limit {
				return
			}
		}
	})

	// The after cursor is the last event returned, so a poller resumes from
	// it; an empty page keeps the cursor the client sent.
	var cursor *string
	if len(page) > 0 {
		last := page[len(page)-1].ID
		cursor = &last
	} else if after != "" {
		cursor = &after
	}
	writeJSON(w, http.StatusOK, listResponse[Event]{
		Object:       "list",
		Data:         page,
		ListMetadata: listMetadata{After: cursor},
	})
}

// parseRangeTime parses an RFC 3339 range bound; empty is no bound.
func parseRangeTime(raw string) (time.Time, bool) {
	if raw == "" {
		return time.Time{}, true
	}
	t, err := time.Parse(time.RFC3339Nano, raw)
	return t, err == nil
}
