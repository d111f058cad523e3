// Command analytics-bench measures the analytics rollups on PostgreSQL.
// It generates usage events for many organizations over many days. Then it
// times the rollup of every hour from scratch (the catch-up path), and an
// incremental run after one more hour of events. Both use the Schedule and
// Run code of the AnalyticsSchedule and AnalyticsRollup functions.
// scripts/bench-analytics starts the dev cluster and runs it; it prints
// the command and a Markdown table.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bondingai/platform/shared/analytics"
	"github.com/bondingai/platform/shared/queue"
	"github.com/bondingai/platform/shared/store"
	"github.com/bondingai/platform/shared/store/storetest"
)

type options struct {
	adminURL      string
	organizations int
	events        int
	days          int
	usersPerOrg   int
	workers       int
}

func main() {
	var opts options
	flag.StringVar(&opts.adminURL, "admin-url", os.Getenv("BONDINGAI_TEST_ADMIN_DATABASE_URL"), "superuser URL of the PostgreSQL cluster to create the benchmark database in")
	flag.IntVar(&opts.organizations, "organizations", 50, "organizations the events are spread over")
	flag.IntVar(&opts.events, "events", 10_000_000, "usage events generated before the first rollup")
	flag.IntVar(&opts.days, "days", 30, "days the events are spread over")
	flag.IntVar(&opts.usersPerOrg, "users", 200, "distinct users per organization")
	flag.IntVar(&opts.workers, "workers", runtime.GOMAXPROCS(0), "rollup jobs run at once")
	flag.Parse()

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	slog.SetDefault(logger)
	if err := run(context.Background(), opts); err != nil {
		fmt.Fprintln(os.Stderr, "analytics-bench:", err)
		os.Exit(1)
	}
}

// memoryQueue collects the scheduler's jobs in place of Service Bus, so
// that the benchmark times the rollups and not a queue.
type memoryQueue struct {
	mu   sync.Mutex
	jobs []analytics.Job
}

func (q *memoryQueue) Send(_ context.Context, _ string, messages ...queue.Message) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, message := range messages {
		job, err := analytics.DecodeJob(message.Body)
		if err != nil {
			return err
		}
		q.jobs = append(q.jobs, job)
	}
	return nil
}

func (q *memoryQueue) Close(context.Context) error { return nil }

func (q *memoryQueue) take() []analytics.Job {
	q.mu.Lock()
	defer q.mu.Unlock()
	jobs := q.jobs
	q.jobs = nil
	return jobs
}

type result struct {
	name    string
	events  int64
	jobs    int
	elapsed time.Duration
}

func run(ctx context.Context, opts options) error {
	if opts.adminURL == "" {
		return errors.New("-admin-url is required (scripts/bench-analytics sets it)")
	}
	db, err := storetest.Create(ctx, opts.adminURL)
	if db != nil {
		defer func() {
			if err := db.Drop(context.Background()); err != nil {
				slog.Error("drop benchmark database", slog.String("database", db.Name), slog.Any("error", err))
			}
		}()
	}
	if err != nil {
		return err
	}
	s, err := store.Open(ctx, db.AppURL)
	if err != nil {
		return err
	}
	defer s.Close()
	owner, err := pgx.Connect(ctx, db.OwnerURL)
	if err != nil {
		return fmt.Errorf("connect as the schema owner: %w", err)
	}
	defer owner.Close(ctx)

	orgIDs := make([]uuid.UUID, opts.organizations)
	for i := range orgIDs {
		if orgIDs[i], err = s.EnsureOrganization(ctx, fmt.Sprintf("org_bench_%03d", i)); err != nil {
			return err
		}
	}

	// The events end 3 hours before the clock, so that after the scratch
	// run every hour but the last few is final.
	start := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -opts.days)
	now := start.AddDate(0, 0, opts.days).Add(3 * time.Hour)
	fmt.Printf("bondingAI analytics benchmark, %s, %d CPUs, %s\n\n", time.Now().UTC().Format(time.RFC3339), runtime.NumCPU(), runtime.Version())
	fmt.Printf("command: go run ./cmd/analytics-bench %s\n\n", strings.Join(os.Args[1:], " "))

	loadStarted := time.Now()
	if err := generateEvents(ctx, owner, orgIDs, opts, start, time.Duration(opts.days)*24*time.Hour, int64(opts.events)); err != nil {
		return err
	}
	fmt.Printf("generated %d events in %s\n\n", opts.events, time.Since(loadStarted).Round(time.Second))

	q := &memoryQueue{}
	clock := now
	rollups := &analytics.Rollups{
		Store: s, Queue: q, Lateness: analytics.LatenessDefault,
		MaxWindowsPerOrg: opts.days*24 + 24, Now: func() time.Time { return clock },
	}
	scratch, err := rollUp(ctx, rollups, q, opts.workers, int64(opts.events))
	if err != nil {
		return err
	}
	scratch.name = "from scratch"

	// One more hour of events, a tenth of them late (in the previous
	// hour), then the scheduler's next run an hour later.
	hourEvents := int64(opts.events / (opts.days * 24))
	lastHour := now.Truncate(time.Hour)
	if err := generateEvents(ctx, owner, orgIDs, opts, lastHour.Add(-time.Hour), 2*time.Hour, hourEvents); err != nil {
		return err
	}
	clock = now.Add(time.Hour)
	incremental, err := rollUp(ctx, rollups, q, opts.workers, hourEvents)
	if err != nil {
		return err
	}
	incremental.name = "incremental (1 hour later)"

	fmt.Printf("%d organizations, %d days, %d users per organization, %d workers\n\n", opts.organizations, opts.days, opts.usersPerOrg, opts.workers)
	fmt.Println("| rollup | events | jobs | time | events/s | jobs/s |")
	fmt.Println("|---|---:|---:|---:|---:|---:|")
	for _, r := range []result{scratch, incremental} {
		seconds := r.elapsed.Seconds()
		fmt.Printf("| %s | %d | %d | %s | %.0f | %.0f |\n", r.name, r.events, r.jobs, r.elapsed.Round(10*time.Millisecond), float64(r.events)/seconds, float64(r.jobs)/seconds)
	}
	return nil
}

// rollUp runs the scheduler and then every job it enqueued on workers
// goroutines, ordered by hour so that the workers rarely wait for one
// organization's lock.
func rollUp(ctx context.Context, rollups *analytics.Rollups, q *memoryQueue, workers int, events int64) (result, error) {
	started := time.Now()
	if _, err := rollups.Schedule(ctx); err != nil {
		return result{}, err
	}
	jobs := q.take()
	slices.SortFunc(jobs, func(a, b analytics.Job) int {
		return cmp.Or(a.WindowStart.Compare(b.WindowStart), strings.Compare(a.OrgID.String(), b.OrgID.String()))
	})

	next := make(chan analytics.Job)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for job := range next {
				if _, err := rollups.Run(ctx, job); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var err error
feed:
	for _, job := range jobs {
		select {
		case next <- job:
		case err = <-errs:
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errs:
		default:
		}
	}
	return result{events: events, jobs: len(jobs), elapsed: time.Since(started)}, err
}

// generateEvents inserts count events spread uniformly over the
// organizations and over [from, from+span), in batches, as the schema
// owner with one server-side INSERT per batch. Types are weighted like a
// chat product: 40% answers, 20% searches, 10% each of conversations,
// sign-ins, feedback and document events.
func generateEvents(ctx context.Context, owner *pgx.Conn, orgIDs []uuid.UUID, opts options, from time.Time, span time.Duration, count int64) error {
	const batch = 1_000_000
	for offset := int64(0); offset < count; offset += batch {
		n := min(batch, count-offset)
		_, err := owner.Exec(ctx, `
			INSERT INTO usage_events (org_id, user_id, type, occurred_at, model, prompt_tokens, completion_tokens,
				latency_ms, citation_count, pages, chunks, feedback_score, document_ids)
			SELECT org_id,
				md5(org_id::text || ':user:' || floor(random() * $5)::int)::uuid,
				type, $3::timestamptz + random() * $4::interval,
				CASE WHEN type = 'message_answered' THEN (ARRAY['gpt-4o', 'gpt-4o-mini'])[1 + floor(random() * 2)::int] END,
				CASE WHEN type = 'message_answered' THEN 200 + floor(random() * 3000)::int END,
				CASE WHEN type = 'message_answered' THEN 50 + floor(random() * 600)::int END,
				CASE WHEN type = 'message_answered' THEN 300 + floor(random() * random() * 20000)::int END,
				CASE WHEN type = 'message_answered' THEN 2 END,
				CASE WHEN type = 'document_ready' THEN 1 + floor(random() * 40)::int END,
				CASE WHEN type = 'document_ready' THEN 5 + floor(random() * 200)::int END,
				CASE WHEN type = 'feedback_given' THEN (ARRAY[1, 1, 1, -1])[1 + floor(random() * 4)::int] END,
				CASE WHEN type IN ('message_answered', 'document_ready') THEN ARRAY[
					md5(org_id::text || ':document:' || floor(random() * 50)::int)::uuid,
					md5(org_id::text || ':document:' || floor(random() * 50)::int)::uuid] ELSE '{}' END
			FROM (
				SELECT ($1::uuid[])[1 + (i % $2)] AS org_id,
					(ARRAY['message_answered', 'message_answered', 'message_answered', 'message_answered', 'search', 'search',
						'conversation_started', 'sign_in', 'feedback_given', 'document_ready'])[1 + floor(random() * 10)::int] AS type
				FROM generate_series(1, $6::bigint) AS i
			) AS generated`,
			orgIDs, len(orgIDs), from, span.String(), opts.usersPerOrg, n)
		if err != nil {
			return fmt.Errorf("generate %d usage events: %w", n, err)
		}
	}
	if _, err := owner.Exec(ctx, `ANALYZE usage_events`); err != nil {
		return fmt.Errorf("analyze usage events: %w", err)
	}
	return nil
}
