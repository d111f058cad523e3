package analytics

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bondingai/platform/shared/store"
)

// Recorder defaults, applied by NewRecorder.
const (
	RecorderBufferSizeDefault    = 10000
	RecorderBatchSizeDefault     = 500
	RecorderFlushIntervalDefault = time.Second
	// dropLogInterval limits the "events dropped" warning to one line per
	// interval while the buffer stays full.
	dropLogInterval = 10 * time.Second
)

// RecorderOptions configures a Recorder. Zero fields take the defaults.
type RecorderOptions struct {
	// BufferSize is the number of events held in memory before Record
	// starts dropping them.
	BufferSize int
	// BatchSize is the maximum number of events one flush writes.
	BatchSize int
	// FlushInterval is the longest an event waits in the buffer while the
	// batch is not full.
	FlushInterval time.Duration
	Logger        *slog.Logger
}

// Recorder stores usage events without slowing the caller: Record puts the
// event in a bounded buffer and a background goroutine writes batches to
// PostgreSQL, one multi-row INSERT per organization. When the buffer is
// full, Record drops the event, counts it and logs a warning at most every
// 10 seconds. A nil *Recorder drops every event silently.
type Recorder struct {
	store   *store.Store
	options RecorderOptions
	events  chan Event
	closing chan struct{}
	done    chan struct{}
	once    sync.Once

	dropped     atomic.Uint64
	failed      atomic.Uint64
	lastDropLog atomic.Int64
}

// NewRecorder starts a Recorder that writes to s. Close stops it.
func NewRecorder(s *store.Store, options RecorderOptions) *Recorder {
	if options.BufferSize <= 0 {
		options.BufferSize = RecorderBufferSizeDefault
	}
	if options.BatchSize <= 0 {
		options.BatchSize = RecorderBatchSizeDefault
	}
	if options.FlushInterval <= 0 {
		options.FlushInterval = RecorderFlushIntervalDefault
	}
	if options.Logger == nil {
		options.Logger = slog.Default()
	}
	r := &Recorder{
		store:   s,
		options: options,
		events:  make(chan Event, options.BufferSize),
		closing: make(chan struct{}),
		done:    make(chan struct{}),
	}
	go r.run()
	return r
}

// Record queues e for writing and returns at once. It never blocks: when the
// buffer is full the event is dropped and counted. Events without an
// organization or type are dropped as well. ctx is not retained.
func (r *Recorder) Record(ctx context.Context, e Event) {
	if r == nil || e.OrgID == uuid.Nil || e.Type == "" {
		return
	}
	if e.OccurredAt.IsZero() {
		e.OccurredAt = time.Now()
	}
	select {
	case <-r.closing:
		r.drop(ctx, "recorder closed")
		return
	default:
	}
	select {
	case r.events <- e:
	default:
		r.drop(ctx, "buffer full")
	}
}

func (r *Recorder) drop(ctx context.Context, reason string) {
	dropped := r.dropped.Add(1)
	now := time.Now().UnixNano()
	last := r.lastDropLog.Load()
	if now-last < int64(dropLogInterval) || !r.lastDropLog.CompareAndSwap(last, now) {
		return
	}
	r.options.Logger.WarnContext(ctx, "analytics recorder dropped usage events",
		slog.String("reason", reason), slog.Uint64("dropped_total", dropped), slog.Int("buffer_size", r.options.BufferSize))
}

// Dropped returns the number of events dropped because the buffer was full
// or the recorder was closed.
func (r *Recorder) Dropped() uint64 {
	if r == nil {
		return 0
	}
	return r.dropped.Load()
}

// Failed returns the number of events lost because PostgreSQL rejected
// their batch.
func (r *Recorder) Failed() uint64 {
	if r == nil {
		return 0
	}
	return r.failed.Load()
}

// Close writes every buffered event and stops the background goroutine. It
// waits until the final flush ends or ctx is done, and may be called more
// than once.
func (r *Recorder) Close(ctx context.Context) error {
	if r == nil {
		return nil
	}
	r.once.Do(func() { close(r.closing) })
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *Recorder) run() {
	defer close(r.done)
	ticker := time.NewTicker(r.options.FlushInterval)
	defer ticker.Stop()

	batch := make([]Event, 0, r.options.BatchSize)
	for {
		select {
		case e := <-r.events:
			batch = append(batch, e)
			if len(batch) >= r.options.BatchSize {
				r.flush(batch)
				batch = batch[:0]
			}
		case <-ticker.C:
			if len(batch) > 0 {
				r.flush(batch)
				batch = batch[:0]
			}
		case <-r.closing:
			// Record no longer queues events once closing is closed, except
			// for calls already past that check, so draining what the
			// channel holds now writes every accepted event but those few.
			for {
				select {
				case e := <-r.events:
					batch = append(batch, e)
					if len(batch) >= r.options.BatchSize {
						r.flush(batch)
						batch = batch[:0]
					}
				default:
					if len(batch) > 0 {
						r.flush(batch)
					}
					return
				}
			}
		}
	}
}

// flushTimeout bounds one batch write, so that a hung database cannot stop
// the recorder for long while the buffer fills.
const flushTimeout = 30 * time.Second

func (r *Recorder) flush(batch []Event) {
	ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
	defer cancel()

	byOrg := make(map[uuid.UUID][]store.UsageEvent)
	for _, e := range batch {
		byOrg[e.OrgID] = append(byOrg[e.OrgID], toStoreEvent(e))
	}
	for orgID, events := range byOrg {
		err := r.store.InOrg(ctx, orgID, func(tx pgx.Tx) error {
			return store.InsertUsageEvents(ctx, tx, orgID, events)
		})
		if err != nil {
			r.failed.Add(uint64(len(events)))
			r.options.Logger.Error("analytics recorder failed to write usage events",
				slog.String("org_id", orgID.String()), slog.Int("events", len(events)), slog.Any("error", err))
		}
	}
}

func toStoreEvent(e Event) store.UsageEvent {
	return store.UsageEvent{
		UserID:           e.UserID,
		Type:             string(e.Type),
		OccurredAt:       e.OccurredAt,
		Model:            e.Model,
		PromptTokens:     e.PromptTokens,
		CompletionTokens: e.CompletionTokens,
		LatencyMS:        e.LatencyMS,
		CitationCount:    e.CitationCount,
		Pages:            e.Pages,
		Chunks:           e.Chunks,
		DurationMS:       e.DurationMS,
		FeedbackScore:    e.FeedbackScore,
		DocumentIDs:      e.DocumentIDs,
	}
}
