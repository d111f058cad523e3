// Package directory keeps the identity mirror in PostgreSQL in step with
// WorkOS. It reads the WorkOS Events API from a cursor stored in the
// database, applies each event idempotently, and revokes the AuthKit
// sessions of deprovisioned users. Webhooks only make a run happen sooner:
// the Events API is the source of truth because it is ordered and can be
// read again, which webhook deliveries are not.
package directory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/workos/workos-go/v4/pkg/events"
	"github.com/workos/workos-go/v4/pkg/usermanagement"
	"github.com/workos/workos-go/v4/pkg/workos_errors"

	"github.com/bondingai/platform/shared/store"
)

// Defaults, applied by Run when a field is zero.
const (
	// PageSizeDefault is the Events API maximum page size.
	PageSizeDefault = 100
	// MaxPagesDefault bounds one run to 50 pages (5000 events), so a run
	// ends well inside the function timeout; the next run continues.
	MaxPagesDefault = 50
	// revocationBatch bounds the sessions one run revokes.
	revocationBatch = 100
)

// Stream is the name of the cursor row the sync keeps.
const Stream = "identity"

// lockKey is the advisory lock that keeps one sync run at a time across
// every handler instance: the first 8 bytes of SHA-256("identity-sync").
const lockKey int64 = 0x4f1c_2b3e_7d5a_1190

// EventLister reads the WorkOS Events API; *events.Client implements it.
type EventLister interface {
	ListEvents(ctx context.Context, opts events.ListEventsOpts) (events.ListEventsResponse, error)
}

// SessionRevoker revokes AuthKit sessions; *usermanagement.Client
// implements it.
type SessionRevoker interface {
	RevokeSession(ctx context.Context, opts usermanagement.RevokeSessionOpts) error
}

// Syncer applies WorkOS events to the identity mirror.
type Syncer struct {
	Store    *store.Store
	Events   EventLister
	Sessions SessionRevoker
	Logger   *slog.Logger
	// PageSize is the number of events per Events API request, at most 100.
	PageSize int
	// MaxPages bounds the pages one run reads.
	MaxPages int

	requests chan struct{}
}

// Result summarizes one run.
type Result struct {
	// Locked is false when another instance was running the sync, and this
	// run did nothing.
	Locked bool
	// Read counts events read, Applied those that changed the mirror.
	Read, Applied int
	// Cursor is the id of the last applied event after the run.
	Cursor string
	// SessionsRevoked counts AuthKit sessions revoked in WorkOS.
	SessionsRevoked int
}

// Run reads every event after the stored cursor, applies it and advances
// the cursor in the same transaction, then revokes the sessions that
// deprovisioning marked. Only one run at a time proceeds across instances;
// the others return at once with Locked false.
func (s *Syncer) Run(ctx context.Context) (Result, error) {
	var result Result
	startedAt := time.Now()
	locked, err := s.Store.WithAdvisoryLock(ctx, lockKey, func() error {
		result.Locked = true
		if err := s.readEvents(ctx, &result); err != nil {
			return err
		}
		revoked, err := s.revokeSessions(ctx)
		result.SessionsRevoked = revoked
		return err
	})
	if err != nil {
		return result, err
	}
	if locked {
		if _, err := s.Store.MarkWebhookEventsSynced(ctx, startedAt); err != nil {
			return result, err
		}
	}
	return result, nil
}

func (s *Syncer) readEvents(ctx context.Context, result *Result) error {
	pageSize := s.PageSize
	if pageSize <= 0 {
		pageSize = PageSizeDefault
	}
	maxPages := s.MaxPages
	if maxPages <= 0 {
		maxPages = MaxPagesDefault
	}

	var cursor string
	err := s.Store.InTx(ctx, func(tx pgx.Tx) error {
		var err error
		cursor, err = store.EventCursor(ctx, tx, Stream)
		return err
	})
	if err != nil {
		return err
	}
	result.Cursor = cursor

	// TODO: WorkOS keeps events for 30 days, so a sync that stops for
	// longer misses changes; a full reconciliation through the Directory
	// Sync list endpoints would repair the mirror and is not built yet.
	for page := 0; page < maxPages; page++ {
		response, err := s.Events.ListEvents(ctx, events.ListEventsOpts{Events: EventTypes, Limit: pageSize, After: cursor})
		if err != nil {
			return fmt.Errorf("list WorkOS events after %q: %w", cursor, err)
		}
		for _, event := range response.Data {
			applied, err := s.apply(ctx, event)
			if err != nil {
				return err
			}
			result.Read++
			if applied {
				result.Applied++
			}
			cursor = event.ID
			result.Cursor = cursor
		}
		if len(response.Data) < pageSize {
			return nil
		}
	}
	s.logger().Info("identity sync stopped at the page limit; the next run continues", slog.Int("max_pages", maxPages), slog.String("cursor", cursor))
	return nil
}

// revokeSessions revokes in WorkOS the sessions deprovisioning marked. A
// failure leaves the session marked, so the next run retries it.
func (s *Syncer) revokeSessions(ctx context.Context) (int, error) {
	if s.Sessions == nil {
		return 0, nil
	}
	ids, err := s.Store.PendingSessionRevocations(ctx, revocationBatch)
	if err != nil {
		return 0, err
	}
	revoked := 0
	for _, id := range ids {
		err := s.Sessions.RevokeSession(ctx, usermanagement.RevokeSessionOpts{SessionID: id})
		var httpErr workos_errors.HTTPError
		if errors.As(err, &httpErr) && httpErr.Code == http.StatusNotFound {
			// WorkOS returns 404 for a session that expired or was revoked.
			err = nil
		}
		if err != nil {
			s.logger().Warn("revoke session failed; the next sync run retries", slog.String("session_id", id), slog.Any("error", err))
			continue
		}
		if err := s.Store.MarkSessionRevoked(ctx, id); err != nil {
			return revoked, err
		}
		revoked++
	}
	return revoked, nil
}

// RequestSync requests a sync run from the background loop Start runs. It
// never blocks, and requests that arrive during a run fold into one more run.
func (s *Syncer) RequestSync() {
	if s.requests == nil {
		return
	}
	select {
	case s.requests <- struct{}{}:
	default:
	}
}

// Start runs the background loop that serves RequestSync until ctx ends. A
// webhook recorded while no instance was running stays unsynced in the
// database, so the loop also runs once at start when one is waiting. The
// timer function covers every other case.
func (s *Syncer) Start(ctx context.Context, runTimeout time.Duration) {
	s.requests = make(chan struct{}, 1)
	go func() {
		if waiting, err := s.Store.UnsyncedWebhookEvents(ctx); err == nil && waiting > 0 {
			s.RequestSync()
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-s.requests:
			}
			runCtx, cancel := context.WithTimeout(ctx, runTimeout)
			result, err := s.Run(runCtx)
			cancel()
			if err != nil {
				s.logger().Error("requested identity sync failed", slog.Any("error", err))
				continue
			}
			s.logger().Info("requested identity sync finished", slog.Bool("locked", result.Locked), slog.Int("events_read", result.Read),
				slog.Int("events_applied", result.Applied), slog.Int("sessions_revoked", result.SessionsRevoked))
		}
	}()
}

func (s *Syncer) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// ErrMalformedEvent marks an event the sync cannot decode. The run skips it
// and advances the cursor, because reading it again cannot succeed.
var ErrMalformedEvent = errors.New("malformed event")

// apply applies one event and advances the cursor in the same transaction,
// scoped to the event's organization when it has one.
func (s *Syncer) apply(ctx context.Context, event events.Event) (bool, error) {
	orgID, change, err := s.plan(ctx, event)
	if errors.Is(err, ErrMalformedEvent) {
		s.logger().Error("skipping a WorkOS event that cannot be applied", slog.String("event_id", event.ID),
			slog.String("event_type", event.Event), slog.Any("error", err))
		return false, s.Store.InTx(ctx, func(tx pgx.Tx) error { return store.SetEventCursor(ctx, tx, Stream, event.ID) })
	}
	if err != nil {
		return false, err
	}

	var applied bool
	run := func(tx pgx.Tx) error {
		var err error
		if applied, err = change(ctx, tx); err != nil {
			return fmt.Errorf("apply %s event %s: %w", event.Event, event.ID, err)
		}
		return store.SetEventCursor(ctx, tx, Stream, event.ID)
	}
	if orgID != uuid.Nil {
		err = s.Store.InOrg(ctx, orgID, run)
	} else {
		err = s.Store.InTx(ctx, run)
	}
	return applied, err
}
