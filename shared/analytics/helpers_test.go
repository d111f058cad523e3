package analytics_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bondingai/platform/shared/analytics"
	"github.com/bondingai/platform/shared/queue"
	"github.com/bondingai/platform/shared/store"
	"github.com/bondingai/platform/shared/store/storetest"
)

// memoryQueue keeps sent messages in memory in place of Service Bus.
type memoryQueue struct {
	mu       sync.Mutex
	messages []queue.Message
}

func (q *memoryQueue) Send(_ context.Context, queueName string, messages ...queue.Message) error {
	if queueName != analytics.RollupQueue {
		panic("unexpected queue " + queueName)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.messages = append(q.messages, messages...)
	return nil
}

func (q *memoryQueue) Close(context.Context) error { return nil }

// take returns and forgets the messages sent so far.
func (q *memoryQueue) take() []queue.Message {
	q.mu.Lock()
	defer q.mu.Unlock()
	messages := q.messages
	q.messages = nil
	return messages
}

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

type fixture struct {
	t      *testing.T
	store  *store.Store
	db     *storetest.Database
	queue  *memoryQueue
	clock  *clock
	rollup *analytics.Rollups
	kpis   *analytics.KPIs
}

func newFixture(t *testing.T, now time.Time) *fixture {
	t.Helper()
	s, db := storetest.Open(t)
	f := &fixture{t: t, store: s, db: db, queue: &memoryQueue{}, clock: &clock{now: now}}
	f.rollup = &analytics.Rollups{Store: s, Queue: f.queue, Lateness: analytics.LatenessDefault, Now: f.clock.Now}
	f.kpis = &analytics.KPIs{Store: s}
	return f
}

func (f *fixture) organization(workosID string) uuid.UUID {
	f.t.Helper()
	id, err := f.store.EnsureOrganization(context.Background(), workosID)
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

// record stores events through a Recorder, the product path, and waits
// for them by closing it.
func (f *fixture) record(events ...analytics.Event) {
	f.t.Helper()
	recorder := analytics.NewRecorder(f.store, analytics.RecorderOptions{})
	for _, e := range events {
		recorder.Record(context.Background(), e)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := recorder.Close(ctx); err != nil {
		f.t.Fatal(err)
	}
	if recorder.Dropped() != 0 || recorder.Failed() != 0 {
		f.t.Fatalf("recorder dropped %d and failed %d events", recorder.Dropped(), recorder.Failed())
	}
}

// scheduleAndRun runs the scheduler, then every job it enqueued, and
// returns the jobs.
func (f *fixture) scheduleAndRun() []analytics.Job {
	f.t.Helper()
	ctx := context.Background()
	if _, err := f.rollup.Schedule(ctx); err != nil {
		f.t.Fatal(err)
	}
	var jobs []analytics.Job
	for _, message := range f.queue.take() {
		job, err := analytics.DecodeJob(message.Body)
		if err != nil {
			f.t.Fatal(err)
		}
		if message.ID != job.MessageID() {
			f.t.Errorf("message id %q, want %q", message.ID, job.MessageID())
		}
		if _, err := f.rollup.Run(ctx, job); err != nil {
			f.t.Fatal(err)
		}
		jobs = append(jobs, job)
	}
	return jobs
}

func (f *fixture) report(orgID uuid.UUID, from, to time.Time, granularity analytics.Granularity) *analytics.Report {
	f.t.Helper()
	report, err := f.kpis.Report(context.Background(), orgID, analytics.Query{From: from, To: to, Granularity: granularity})
	if err != nil {
		f.t.Fatal(err)
	}
	return report
}

// ownerInts runs sql as the schema owner, which row-level security does
// not filter, and returns the first column of each row as int64.
func (f *fixture) ownerInts(sql string, args ...any) []int64 {
	f.t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, f.db.OwnerURL)
	if err != nil {
		f.t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, sql, args...)
	if err != nil {
		f.t.Fatal(err)
	}
	values, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		f.t.Fatal(err)
	}
	return values
}

func (f *fixture) ownerInt(sql string, args ...any) int64 {
	f.t.Helper()
	values := f.ownerInts(sql, args...)
	if len(values) != 1 {
		f.t.Fatalf("%s returned %d rows, want 1", sql, len(values))
	}
	return values[0]
}

// rollupRows returns every rollup row of orgID as JSON lines, for
// comparing two runs.
func (f *fixture) rollupRows(orgID uuid.UUID) string {
	f.t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, f.db.OwnerURL)
	if err != nil {
		f.t.Fatal(err)
	}
	defer conn.Close(ctx)
	var rows []byte
	err = conn.QueryRow(ctx, `
		SELECT coalesce(json_agg(r ORDER BY granularity, window_start, metric, dimension), '[]')
		FROM (SELECT granularity, window_start, metric, dimension, value FROM analytics_rollups WHERE org_id = $1) r`,
		orgID).Scan(&rows)
	if err != nil {
		f.t.Fatal(err)
	}
	var check []json.RawMessage
	if err := json.Unmarshal(rows, &check); err != nil {
		f.t.Fatal(err)
	}
	return string(rows)
}

func (f *fixture) createDocument(orgID uuid.UUID, filename string) uuid.UUID {
	f.t.Helper()
	id := uuid.New()
	err := f.store.InOrg(context.Background(), orgID, func(tx pgx.Tx) error {
		return store.CreateDocument(context.Background(), tx, &store.Document{
			ID: id, OrgID: orgID, Filename: filename, ContentType: "application/pdf", SizeBytes: 1,
			SHA256: id[:], BlobName: orgID.String() + "/" + id.String() + "/" + filename,
		})
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}
