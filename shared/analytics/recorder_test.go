package analytics_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bondingai/platform/shared/analytics"
	"github.com/bondingai/platform/shared/store/storetest"
)

func TestRecorderFlushesOnClose(t *testing.T) {
	f := newFixture(t, day)
	orgID := f.organization("org_contoso")
	// Neither the batch size nor the interval is reached: only Close
	// writes the events.
	recorder := analytics.NewRecorder(f.store, analytics.RecorderOptions{BatchSize: 1000, FlushInterval: time.Hour})
	for range 10 {
		recorder.Record(context.Background(), analytics.Event{OrgID: orgID, UserID: uuid.New(), Type: analytics.EventSearch})
	}
	if err := recorder.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := f.ownerInt(`SELECT count(*) FROM usage_events WHERE org_id = $1`, orgID); got != 10 {
		t.Errorf("%d events stored after Close, want 10", got)
	}

	recorder.Record(context.Background(), analytics.Event{OrgID: orgID, Type: analytics.EventSearch})
	if recorder.Dropped() != 1 {
		t.Errorf("Dropped = %d after Record on a closed recorder, want 1", recorder.Dropped())
	}
	if err := recorder.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestRecorderDropsWhenBufferFull(t *testing.T) {
	f := newFixture(t, day)
	orgID := f.organization("org_contoso")
	ctx := context.Background()

	// The schema owner locks the table, so the recorder's first write
	// waits and the buffer fills up behind it.
	owner, err := pgx.Connect(ctx, f.db.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	lock, err := owner.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lock.Exec(ctx, `LOCK TABLE usage_events IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}

	const bufferSize, total = 4, 200
	recorder := analytics.NewRecorder(f.store, analytics.RecorderOptions{BufferSize: bufferSize, BatchSize: 1, FlushInterval: time.Hour})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range total {
			recorder.Record(ctx, analytics.Event{OrgID: orgID, UserID: uuid.New(), Type: analytics.EventSearch})
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Record blocked while the database was locked")
	}

	// At most the buffer and the batch being written were accepted.
	dropped := recorder.Dropped()
	if dropped < total-bufferSize-1 {
		t.Errorf("Dropped = %d, want at least %d", dropped, total-bufferSize-1)
	}

	if err := lock.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	closeCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := recorder.Close(closeCtx); err != nil {
		t.Fatal(err)
	}
	stored := f.ownerInt(`SELECT count(*) FROM usage_events WHERE org_id = $1`, orgID)
	if stored != int64(total)-int64(dropped) {
		t.Errorf("%d events stored, want %d accepted ones", stored, int64(total)-int64(dropped))
	}
}

func TestRecorderIgnoresIncompleteEvents(t *testing.T) {
	f := newFixture(t, day)
	orgID := f.organization("org_contoso")
	recorder := analytics.NewRecorder(f.store, analytics.RecorderOptions{})
	recorder.Record(context.Background(), analytics.Event{Type: analytics.EventSearch})
	recorder.Record(context.Background(), analytics.Event{OrgID: orgID})
	var nilRecorder *analytics.Recorder
	nilRecorder.Record(context.Background(), analytics.Event{OrgID: orgID, Type: analytics.EventSearch})
	if err := recorder.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := f.ownerInt(`SELECT count(*) FROM usage_events`); got != 0 {
		t.Errorf("%d events stored, want 0", got)
	}
}

// BenchmarkRecorderRecord measures the cost Record adds to a request,
// with a buffer that holds every event ("accepted") and with the default
// buffer, which a tight loop overflows ("default buffer"). The writer runs
// against PostgreSQL meanwhile; the dropped/op metric reports the events
// it could not keep up with.
func BenchmarkRecorderRecord(b *testing.B) {
	s, _ := storetest.Open(b)
	orgID, err := s.EnsureOrganization(context.Background(), "org_bench")
	if err != nil {
		b.Fatal(err)
	}
	event := analytics.Event{OrgID: orgID, UserID: uuid.New(), Type: analytics.EventMessageAnswered,
		Model: "gpt-4o", PromptTokens: 1200, CompletionTokens: 300, LatencyMS: 2100, CitationCount: 2,
		DocumentIDs: []uuid.UUID{uuid.New(), uuid.New()}}
	ctx := context.Background()

	for _, c := range []struct {
		name       string
		bufferSize func(n int) int
	}{
		{"accepted", func(n int) int { return n + 1 }},
		{"default buffer", func(int) int { return 0 }},
	} {
		b.Run(c.name, func(b *testing.B) {
			recorder := analytics.NewRecorder(s, analytics.RecorderOptions{BufferSize: c.bufferSize(b.N)})
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					recorder.Record(ctx, event)
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(recorder.Dropped())/float64(b.N), "dropped/op")
			closeCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
			defer cancel()
			if err := recorder.Close(closeCtx); err != nil {
				b.Fatal(err)
			}
		})
	}
}
