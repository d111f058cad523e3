package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// UsageEvent is one row of usage_events. Zero numeric fields and an empty
// Model are stored as NULL, so "not measured" never counts as zero.
type UsageEvent struct {
	UserID           uuid.UUID
	Type             string
	OccurredAt       time.Time
	Model            string
	PromptTokens     int
	CompletionTokens int
	LatencyMS        int
	CitationCount    int
	Pages            int
	Chunks           int
	DurationMS       int
	FeedbackScore    int
	DocumentIDs      []uuid.UUID
}

// InsertUsageEvents appends events of orgID in one statement. COPY is not
// used because PostgreSQL rejects COPY FROM on tables with row-level
// security.
func InsertUsageEvents(ctx context.Context, tx pgx.Tx, orgID uuid.UUID, events []UsageEvent) error {
	n := len(events)
	var (
		userIDs          = make([]*uuid.UUID, n)
		types            = make([]string, n)
		occurredAt       = make([]time.Time, n)
		models           = make([]*string, n)
		promptTokens     = make([]*int32, n)
		completionTokens = make([]*int32, n)
		latencies        = make([]*int32, n)
		citations        = make([]*int32, n)
		pages            = make([]*int32, n)
		chunks           = make([]*int32, n)
		durations        = make([]*int32, n)
		scores           = make([]*int16, n)
		// PostgreSQL arrays cannot be ragged, so each event's document ids
		// travel as one text value in array-literal form.
		documentIDs = make([]string, n)
	)
	for i, e := range events {
		if e.UserID != uuid.Nil {
			id := e.UserID
			userIDs[i] = &id
		}
		types[i] = e.Type
		occurredAt[i] = e.OccurredAt
		if e.Model != "" {
			model := e.Model
			models[i] = &model
		}
		promptTokens[i] = nullableInt(e.PromptTokens)
		completionTokens[i] = nullableInt(e.CompletionTokens)
		latencies[i] = nullableInt(e.LatencyMS)
		citations[i] = nullableInt(e.CitationCount)
		pages[i] = nullableInt(e.Pages)
		chunks[i] = nullableInt(e.Chunks)
		durations[i] = nullableInt(e.DurationMS)
		if e.FeedbackScore != 0 {
			score := int16(e.FeedbackScore)
			scores[i] = &score
		}
		documentIDs[i] = uuidArrayLiteral(e.DocumentIDs)
	}
	_, err := tx.Exec(ctx, `
		INSERT INTO usage_events (org_id, user_id, type, occurred_at, model, prompt_tokens, completion_tokens,
			latency_ms, citation_count, pages, chunks, duration_ms, feedback_score, document_ids)
		SELECT $1, u.user_id, u.type, u.occurred_at, u.model, u.prompt_tokens, u.completion_tokens,
			u.latency_ms, u.citation_count, u.pages, u.chunks, u.duration_ms, u.feedback_score, u.document_ids::uuid[]
		FROM unnest($2::uuid[], $3::text[], $4::timestamptz[], $5::text[], $6::int[], $7::int[],
			$8::int[], $9::int[], $10::int[], $11::int[], $12::int[], $13::smallint[], $14::text[])
			AS u(user_id, type, occurred_at, model, prompt_tokens, completion_tokens,
				latency_ms, citation_count, pages, chunks, duration_ms, feedback_score, document_ids)`,
		orgID, userIDs, types, occurredAt, models, promptTokens, completionTokens,
		latencies, citations, pages, chunks, durations, scores, documentIDs)
	if err != nil {
		return fmt.Errorf("insert %d usage events of organization %s: %w", n, orgID, err)
	}
	return nil
}

func nullableInt(v int) *int32 {
	if v == 0 {
		return nil
	}
	n := int32(v)
	return &n
}

func uuidArrayLiteral(ids []uuid.UUID) string {
	literal := make([]byte, 0, 2+len(ids)*37)
	literal = append(literal, '{')
	for i, id := range ids {
		if i > 0 {
			literal = append(literal, ',')
		}
		literal = append(literal, id.String()...)
	}
	return string(append(literal, '}'))
}

// OrganizationIDs returns the id of every organization, for jobs that visit
// each one.
func (s *Store) OrganizationIDs(ctx context.Context) ([]uuid.UUID, error) {
	rows, err := s.pool.Query(ctx, `SELECT id FROM organizations ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list organizations: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, fmt.Errorf("list organizations: %w", err)
	}
	return ids, nil
}

// LockAnalyticsRollups holds a transaction-scoped advisory lock on orgID's
// rollups, so that two jobs of one organization never rewrite the same
// day's rows at once.
func LockAnalyticsRollups(ctx context.Context, tx pgx.Tx, orgID uuid.UUID) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('analytics_rollups:' || $1::text, 0))`, orgID); err != nil {
		return fmt.Errorf("lock analytics rollups of organization %s: %w", orgID, err)
	}
	return nil
}

// RollUpHour replaces orgID's hourly rollup rows for the hour starting at
// hourStart with values computed from usage_events, re-derives the rows of
// the hour's UTC day from the day's hourly rows, and adds the hour's users
// to the day's active users. latencyBounds are the exclusive upper bounds,
// in milliseconds and ascending, of the answer latency histogram buckets.
func RollUpHour(ctx context.Context, tx pgx.Tx, orgID uuid.UUID, hourStart time.Time, latencyBounds []int32) error {
	day := hourStart.UTC().Truncate(24 * time.Hour)
	batch := &pgx.Batch{}
	batch.Queue(`DELETE FROM analytics_rollups WHERE org_id = $1 AND granularity = 'hour' AND window_start = $2`, orgID, hourStart)
	batch.Queue(`
		WITH e AS MATERIALIZED (
			SELECT * FROM usage_events
			WHERE org_id = $1 AND occurred_at >= $2 AND occurred_at < $2 + interval '1 hour'
		)
		INSERT INTO analytics_rollups (org_id, granularity, window_start, metric, dimension, value)
		SELECT $1, 'hour', $2, metric, dimension, sum(value) FROM (
			SELECT 'events:' || type AS metric, '' AS dimension, 1::bigint AS value FROM e
			UNION ALL
			SELECT 'prompt_tokens', coalesce(model, ''), prompt_tokens FROM e WHERE prompt_tokens IS NOT NULL
			UNION ALL
			SELECT 'completion_tokens', coalesce(model, ''), completion_tokens FROM e WHERE completion_tokens IS NOT NULL
			UNION ALL
			SELECT 'latency_ms_bucket', coalesce(($3::int[])[width_bucket(latency_ms, $3::int[]) + 1]::text, '+Inf'), 1
			FROM e WHERE type = 'message_answered' AND latency_ms IS NOT NULL
			UNION ALL
			SELECT 'feedback', CASE WHEN feedback_score > 0 THEN 'up' ELSE 'down' END, 1
			FROM e WHERE type = 'feedback_given' AND feedback_score IS NOT NULL
			UNION ALL
			SELECT 'citations', cited::text, 1 FROM e CROSS JOIN LATERAL unnest(e.document_ids) AS cited
			WHERE type = 'message_answered'
			UNION ALL
			SELECT 'pages', '', pages FROM e WHERE type = 'document_ready' AND pages IS NOT NULL
			UNION ALL
			SELECT 'chunks', '', chunks FROM e WHERE type = 'document_ready' AND chunks IS NOT NULL
		) AS metrics
		GROUP BY metric, dimension`, orgID, hourStart, latencyBounds)
	batch.Queue(`DELETE FROM analytics_rollups WHERE org_id = $1 AND granularity = 'day' AND window_start = $2`, orgID, day)
	batch.Queue(`
		INSERT INTO analytics_rollups (org_id, granularity, window_start, metric, dimension, value)
		SELECT $1, 'day', $2, metric, dimension, sum(value) FROM analytics_rollups
		WHERE org_id = $1 AND granularity = 'hour' AND window_start >= $2 AND window_start < $2 + interval '1 day'
		GROUP BY metric, dimension`, orgID, day)
	// Document lifecycle events are recorded by ingestion, not by a person
	// using the platform, so they do not make a user active.
	batch.Queue(`
		INSERT INTO analytics_active_users (org_id, day, user_id)
		SELECT DISTINCT $1::uuid, $3::date, user_id FROM usage_events
		WHERE org_id = $1 AND occurred_at >= $2 AND occurred_at < $2 + interval '1 hour'
			AND user_id IS NOT NULL AND type NOT IN ('document_ready', 'document_failed')
		ON CONFLICT DO NOTHING`, orgID, hourStart, day)
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("roll up hour %s of organization %s: %w", hourStart.UTC().Format(time.RFC3339), orgID, err)
	}
	return nil
}

// MarkRollupWindow records that the hour starting at hourStart was
// computed at computedAt; final means later events can no longer change it.
func MarkRollupWindow(ctx context.Context, tx pgx.Tx, orgID uuid.UUID, hourStart, computedAt time.Time, final bool) error {
	_, err := tx.Exec(ctx, `
		INSERT INTO analytics_rollup_windows (org_id, window_start, computed_at, final) VALUES ($1, $2, $3, $4)
		ON CONFLICT (org_id, window_start) DO UPDATE SET computed_at = EXCLUDED.computed_at, final = EXCLUDED.final`,
		orgID, hourStart, computedAt, final)
	if err != nil {
		return fmt.Errorf("mark rollup hour %s of organization %s: %w", hourStart.UTC().Format(time.RFC3339), orgID, err)
	}
	return nil
}

// AnalyticsWatermark returns the time before which every hour of orgID has
// a final rollup, or ErrNotFound when the organization has none yet.
func AnalyticsWatermark(ctx context.Context, tx pgx.Tx, orgID uuid.UUID) (time.Time, error) {
	var watermark time.Time
	err := tx.QueryRow(ctx, `SELECT rolled_up_until FROM analytics_watermarks WHERE org_id = $1`, orgID).Scan(&watermark)
	if err != nil {
		return time.Time{}, fmt.Errorf("read analytics watermark of organization %s: %w", orgID, notFound(err))
	}
	return watermark.UTC(), nil
}

// InitAnalyticsWatermark stores the first watermark of orgID unless one
// exists, and returns the stored one.
func InitAnalyticsWatermark(ctx context.Context, tx pgx.Tx, orgID uuid.UUID, watermark time.Time) (time.Time, error) {
	_, err := tx.Exec(ctx, `
		INSERT INTO analytics_watermarks (org_id, rolled_up_until) VALUES ($1, $2)
		ON CONFLICT (org_id) DO NOTHING`, orgID, watermark)
	if err != nil {
		return time.Time{}, fmt.Errorf("initialize analytics watermark of organization %s: %w", orgID, err)
	}
	return AnalyticsWatermark(ctx, tx, orgID)
}

// AdvanceAnalyticsWatermark moves orgID's watermark past every consecutive
// final hour that starts at it, and returns the new watermark.
func AdvanceAnalyticsWatermark(ctx context.Context, tx pgx.Tx, orgID uuid.UUID) (time.Time, error) {
	var watermark time.Time
	err := tx.QueryRow(ctx, `
		WITH RECURSIVE final_run AS (
			SELECT rolled_up_until AS hour_start FROM analytics_watermarks WHERE org_id = $1
			UNION ALL
			SELECT final_run.hour_start + interval '1 hour' FROM final_run
			JOIN analytics_rollup_windows w ON w.org_id = $1 AND w.window_start = final_run.hour_start AND w.final
		)
		UPDATE analytics_watermarks SET rolled_up_until = (SELECT max(hour_start) FROM final_run)
		WHERE org_id = $1
		RETURNING rolled_up_until`, orgID).Scan(&watermark)
	if err != nil {
		return time.Time{}, fmt.Errorf("advance analytics watermark of organization %s: %w", orgID, notFound(err))
	}
	return watermark.UTC(), nil
}

// EarliestUsageEvent returns when orgID's oldest stored event occurred, or
// ErrNotFound when it has none.
func EarliestUsageEvent(ctx context.Context, tx pgx.Tx, orgID uuid.UUID) (time.Time, error) {
	var earliest *time.Time
	err := tx.QueryRow(ctx, `SELECT min(occurred_at) FROM usage_events WHERE org_id = $1`, orgID).Scan(&earliest)
	if err != nil {
		return time.Time{}, fmt.Errorf("read earliest usage event of organization %s: %w", orgID, err)
	}
	if earliest == nil {
		return time.Time{}, fmt.Errorf("read earliest usage event of organization %s: %w", orgID, ErrNotFound)
	}
	return earliest.UTC(), nil
}

// AnalyticsRetentionDays returns the retention_days of orgID's settings
// document, or fallback when the organization has not set it.
func AnalyticsRetentionDays(ctx context.Context, tx pgx.Tx, orgID uuid.UUID, fallback int) (int, error) {
	var days *int32
	err := tx.QueryRow(ctx, `
		SELECT (SELECT (document->>'retention_days')::int FROM organization_settings WHERE org_id = $1)`,
		orgID).Scan(&days)
	if err != nil {
		return 0, fmt.Errorf("read retention days of organization %s: %w", orgID, err)
	}
	if days == nil || *days <= 0 {
		return fallback, nil
	}
	return int(*days), nil
}

// DeleteUsageEventsBefore deletes orgID's events that occurred before
// cutoff and returns how many it deleted.
func DeleteUsageEventsBefore(ctx context.Context, tx pgx.Tx, orgID uuid.UUID, cutoff time.Time) (int64, error) {
	tag, err := tx.Exec(ctx, `DELETE FROM usage_events WHERE org_id = $1 AND occurred_at < $2`, orgID, cutoff)
	if err != nil {
		return 0, fmt.Errorf("delete usage events of organization %s before %s: %w", orgID, cutoff.UTC().Format(time.RFC3339), err)
	}
	return tag.RowsAffected(), nil
}

// AnalyticsRollup is one rollup row.
type AnalyticsRollup struct {
	WindowStart time.Time
	Metric      string
	Dimension   string
	Value       int64
}

// ReadAnalyticsRollups returns orgID's rollup rows of granularity (hour or
// day) whose window starts in [from, to), oldest first. Citation rows are
// left out: CitedDocuments reads them.
func ReadAnalyticsRollups(ctx context.Context, tx pgx.Tx, orgID uuid.UUID, granularity string, from, to time.Time) ([]AnalyticsRollup, error) {
	rows, err := tx.Query(ctx, `
		SELECT window_start, metric, dimension, value FROM analytics_rollups
		WHERE org_id = $1 AND granularity = $2 AND window_start >= $3 AND window_start < $4 AND metric <> 'citations'
		ORDER BY window_start, metric, dimension`, orgID, granularity, from, to)
	if err != nil {
		return nil, fmt.Errorf("read %s rollups of organization %s: %w", granularity, orgID, err)
	}
	rollups, err := pgx.CollectRows(rows, pgx.RowToStructByPos[AnalyticsRollup])
	if err != nil {
		return nil, fmt.Errorf("read %s rollups of organization %s: %w", granularity, orgID, err)
	}
	return rollups, nil
}

// CitedDocument is a document with the number of answer citations in a
// period. Filename is empty when the document was deleted.
type CitedDocument struct {
	DocumentID uuid.UUID
	Filename   string
	Citations  int64
}

// CitedDocuments returns orgID's limit most-cited documents over the
// granularity rollups whose window starts in [from, to).
func CitedDocuments(ctx context.Context, tx pgx.Tx, orgID uuid.UUID, granularity string, from, to time.Time, limit int) ([]CitedDocument, error) {
	rows, err := tx.Query(ctx, `
		SELECT r.dimension::uuid, coalesce(d.filename, ''), sum(r.value)::bigint
		FROM analytics_rollups r
		LEFT JOIN documents d ON d.org_id = r.org_id AND d.id = r.dimension::uuid
		WHERE r.org_id = $1 AND r.granularity = $2 AND r.window_start >= $3 AND r.window_start < $4 AND r.metric = 'citations'
		GROUP BY 1, 2
		ORDER BY 3 DESC, 1
		LIMIT $5`, orgID, granularity, from, to, limit)
	if err != nil {
		return nil, fmt.Errorf("read cited documents of organization %s: %w", orgID, err)
	}
	documents, err := pgx.CollectRows(rows, pgx.RowToStructByPos[CitedDocument])
	if err != nil {
		return nil, fmt.Errorf("read cited documents of organization %s: %w", orgID, err)
	}
	return documents, nil
}

// PeriodCount is a count for the period starting at Start.
type PeriodCount struct {
	Start time.Time
	Count int64
}

// CountActiveUsers returns orgID's distinct active users per period (day,
// week or month; weeks start on Monday) over the UTC days in [from, to).
// Each period counts only the days inside [from, to).
func CountActiveUsers(ctx context.Context, tx pgx.Tx, orgID uuid.UUID, period string, from, to time.Time) ([]PeriodCount, error) {
	rows, err := tx.Query(ctx, `
		SELECT date_trunc($2, day::timestamp) AT TIME ZONE 'UTC', count(DISTINCT user_id)
		FROM analytics_active_users
		WHERE org_id = $1 AND day >= $3::date AND day < $4::date
		GROUP BY 1 ORDER BY 1`, orgID, period, from.UTC(), to.UTC())
	if err != nil {
		return nil, fmt.Errorf("count %s active users of organization %s: %w", period, orgID, err)
	}
	counts, err := pgx.CollectRows(rows, pgx.RowToStructByPos[PeriodCount])
	if err != nil {
		return nil, fmt.Errorf("count %s active users of organization %s: %w", period, orgID, err)
	}
	return counts, nil
}

// CountDistinctActiveUsers returns orgID's distinct active users over the
// UTC days in [from, to).
func CountDistinctActiveUsers(ctx context.Context, tx pgx.Tx, orgID uuid.UUID, from, to time.Time) (int64, error) {
	var count int64
	err := tx.QueryRow(ctx, `
		SELECT count(DISTINCT user_id) FROM analytics_active_users
		WHERE org_id = $1 AND day >= $2::date AND day < $3::date`, orgID, from.UTC(), to.UTC()).Scan(&count)
	if err != nil {
		return 0, fmt.Errorf("count active users of organization %s: %w", orgID, err)
	}
	return count, nil
}
