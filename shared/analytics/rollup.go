package analytics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bondingai/platform/shared/queue"
	"github.com/bondingai/platform/shared/store"
)

// RollupQueue is the Service Bus queue of rollup jobs.
const RollupQueue = "analytics-rollups"

// Rollup defaults.
const (
	// LatenessDefault is how long after an hour ends its events may still
	// arrive and be counted.
	LatenessDefault = 2 * time.Hour
	// RetentionDaysDefault applies to organizations whose settings leave
	// retention_days unset.
	RetentionDaysDefault = 90
	// MaxWindowsPerOrgDefault bounds the hours one scheduler run enqueues
	// for one organization (31 days); a longer backlog continues on the
	// next run.
	MaxWindowsPerOrgDefault = 31 * 24
)

// LatencyBucketsMS are the exclusive upper bounds, in milliseconds, of the
// answer latency histogram; a last bucket holds every slower answer. Chat
// answers take from a few hundred milliseconds to tens of seconds, so the
// bounds grow roughly geometrically over that range.
var LatencyBucketsMS = []int32{
	100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 4000, 5000, 7500, 10000, 15000, 20000, 30000, 60000,
}

// Job is one rollup job: one organization's hour.
type Job struct {
	OrgID       uuid.UUID `json:"org_id"`
	WindowStart time.Time `json:"window_start"`
}

// MessageID returns the job's Service Bus message id, the organization and
// the hour, so that duplicate detection drops a job enqueued twice.
//
// NOTE: duplicate detection also drops the scheduler's re-enqueue of a
// still-changing hour within the queue's detection window (10 minutes in
// the local queue). Such an hour is recomputed on a later run instead, and
// the watermark waits for that run.
func (j Job) MessageID() string {
	return j.OrgID.String() + "/" + j.WindowStart.UTC().Format(time.RFC3339)
}

// DecodeJob parses a rollup job message body.
func DecodeJob(body []byte) (Job, error) {
	var job Job
	if err := json.Unmarshal(body, &job); err != nil {
		return Job{}, fmt.Errorf("decode rollup job: %w", err)
	}
	if job.OrgID == uuid.Nil {
		return Job{}, errors.New("decode rollup job: org_id is missing")
	}
	if job.WindowStart.IsZero() || !job.WindowStart.Equal(job.WindowStart.Truncate(time.Hour)) {
		return Job{}, fmt.Errorf("decode rollup job for organization %s: window_start %q is not the start of an hour", job.OrgID, job.WindowStart)
	}
	job.WindowStart = job.WindowStart.UTC()
	return job, nil
}

// Rollups schedules and computes rollup jobs.
type Rollups struct {
	Store *store.Store
	Queue queue.Sender
	// Lateness is how long after an hour ends its events may still arrive;
	// the hour is recomputed until then.
	Lateness time.Duration
	// MaxWindowsPerOrg bounds the hours one Schedule call enqueues per
	// organization; zero means MaxWindowsPerOrgDefault.
	MaxWindowsPerOrg int
	// Now returns the current time; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

func (r *Rollups) now() time.Time {
	if r.Now != nil {
		return r.Now().UTC()
	}
	return time.Now().UTC()
}

func (r *Rollups) logger(ctx context.Context) *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.Default()
}

// Schedule enqueues, for every organization, a job for each hour from its
// watermark to the current hour: the hours that are not final yet, which
// late events may still change, and after downtime every missed hour. It
// returns the number of jobs sent.
func (r *Rollups) Schedule(ctx context.Context) (int, error) {
	orgIDs, err := r.Store.OrganizationIDs(ctx)
	if err != nil {
		return 0, err
	}
	sent := 0
	var errs []error
	for _, orgID := range orgIDs {
		jobs, err := r.PendingJobs(ctx, orgID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if len(jobs) == 0 {
			continue
		}
		messages := make([]queue.Message, len(jobs))
		for i, job := range jobs {
			body, _ := json.Marshal(job)
			messages[i] = queue.Message{ID: job.MessageID(), Body: body, ContentType: "application/json"}
		}
		if err := r.Queue.Send(ctx, RollupQueue, messages...); err != nil {
			errs = append(errs, fmt.Errorf("enqueue %d rollup jobs of organization %s: %w", len(jobs), orgID, err))
			continue
		}
		sent += len(jobs)
	}
	return sent, errors.Join(errs...)
}

// PendingJobs returns orgID's hours that need a rollup, oldest first: from
// its watermark to the current hour, at most MaxWindowsPerOrg of them. An
// organization seen for the first time starts at the earlier of its oldest
// event and the oldest hour late events may still reach. An organization
// without events has no pending jobs.
func (r *Rollups) PendingJobs(ctx context.Context, orgID uuid.UUID) ([]Job, error) {
	now := r.now()
	current := now.Truncate(time.Hour)
	limit := r.MaxWindowsPerOrg
	if limit <= 0 {
		limit = MaxWindowsPerOrgDefault
	}

	var jobs []Job
	err := r.Store.InOrg(ctx, orgID, func(tx pgx.Tx) error {
		watermark, err := store.AnalyticsWatermark(ctx, tx, orgID)
		if errors.Is(err, store.ErrNotFound) {
			var earliest time.Time
			earliest, err = store.EarliestUsageEvent(ctx, tx, orgID)
			if errors.Is(err, store.ErrNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			start := now.Add(-r.Lateness).Truncate(time.Hour)
			if earliest.Before(start) {
				start = earliest.Truncate(time.Hour)
			}
			watermark, err = store.InitAnalyticsWatermark(ctx, tx, orgID, start)
		}
		if err != nil {
			return err
		}
		for hour := watermark; !hour.After(current) && len(jobs) < limit; hour = hour.Add(time.Hour) {
			jobs = append(jobs, Job{OrgID: orgID, WindowStart: hour})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list pending rollup jobs of organization %s: %w", orgID, err)
	}
	return jobs, nil
}

// RunResult describes one computed job.
type RunResult struct {
	// Skipped is true when the hour was already final, before the
	// watermark, so the job changed nothing.
	Skipped bool
	// Final is true when the hour was computed after its lateness window.
	Final bool
	// Watermark is the organization's watermark after the job.
	Watermark time.Time
	// DeletedEvents counts the raw events deleted by retention.
	DeletedEvents int64
}

// Run computes job in one transaction. It replaces the hour's rollup rows
// and its day's rows, records whether the hour is final and advances the
// watermark. Then it deletes raw events that are both rolled up and older
// than the organization's retention period. Running a job again gives the
// same rows. A job for an hour before the watermark is skipped, because
// retention may already have deleted the hour's events.
func (r *Rollups) Run(ctx context.Context, job Job) (RunResult, error) {
	now := r.now()
	final := !job.WindowStart.Add(time.Hour + r.Lateness).After(now)
	var result RunResult

	err := r.Store.InOrg(ctx, job.OrgID, func(tx pgx.Tx) error {
		if err := store.LockAnalyticsRollups(ctx, tx, job.OrgID); err != nil {
			return err
		}
		watermark, err := store.AnalyticsWatermark(ctx, tx, job.OrgID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			// A job sent by hand before the scheduler saw the organization.
			watermark, err = store.InitAnalyticsWatermark(ctx, tx, job.OrgID, job.WindowStart)
			if err != nil {
				return err
			}
		case err != nil:
			return err
		}
		if job.WindowStart.Before(watermark) {
			result = RunResult{Skipped: true, Final: true, Watermark: watermark}
			return nil
		}

		if err := store.RollUpHour(ctx, tx, job.OrgID, job.WindowStart, LatencyBucketsMS); err != nil {
			return err
		}
		if err := store.MarkRollupWindow(ctx, tx, job.OrgID, job.WindowStart, now, final); err != nil {
			return err
		}
		if watermark, err = store.AdvanceAnalyticsWatermark(ctx, tx, job.OrgID); err != nil {
			return err
		}
		result = RunResult{Final: final, Watermark: watermark}

		retentionDays, err := store.AnalyticsRetentionDays(ctx, tx, job.OrgID, RetentionDaysDefault)
		if err != nil {
			return err
		}
		cutoff := now.AddDate(0, 0, -retentionDays)
		if watermark.Before(cutoff) {
			cutoff = watermark
		}
		result.DeletedEvents, err = store.DeleteUsageEventsBefore(ctx, tx, job.OrgID, cutoff)
		return err
	})
	if err != nil {
		return RunResult{}, fmt.Errorf("run rollup job %s: %w", job.MessageID(), err)
	}
	if result.DeletedEvents > 0 {
		r.logger(ctx).InfoContext(ctx, "analytics retention deleted usage events",
			slog.String("org_id", job.OrgID.String()), slog.Int64("deleted_events", result.DeletedEvents))
	}
	return result, nil
}
