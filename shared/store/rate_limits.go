package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// IncrementRateLimit adds one request to the organization's counter for
// bucket in the window that starts at windowStart and returns the new
// count. The upsert is atomic, so concurrent requests on any instance each
// see a distinct count. When it opens a new window it deletes the bucket's
// earlier windows, which no limit reads any more.
func IncrementRateLimit(ctx context.Context, tx pgx.Tx, bucket string, windowStart time.Time) (int, error) {
	var count int
	err := tx.QueryRow(ctx, `
		INSERT INTO rate_limit_counters (org_id, bucket, window_start, count)
		VALUES (current_org_id(), $1, $2, 1)
		ON CONFLICT (org_id, bucket, window_start) DO UPDATE SET count = rate_limit_counters.count + 1
		RETURNING count`, bucket, windowStart).Scan(&count)
	if err != nil {
		return 0, fmt.Errorf("increment rate limit counter %s: %w", bucket, err)
	}
	if count == 1 {
		if _, err := tx.Exec(ctx, `DELETE FROM rate_limit_counters WHERE org_id = current_org_id() AND bucket = $1 AND window_start < $2`,
			bucket, windowStart); err != nil {
			return 0, fmt.Errorf("delete expired rate limit windows of %s: %w", bucket, err)
		}
	}
	return count, nil
}

// LockDocumentQuota serializes the organization's document creations until
// tx ends, so that concurrent uploads cannot each pass the quota check and
// together exceed it.
func LockDocumentQuota(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('document_quota:' || current_org_id()::text, 0))`); err != nil {
		return fmt.Errorf("lock document quota: %w", err)
	}
	return nil
}

// CountDocuments returns the number of the organization's documents that
// count against its document quota: every document except failed ones.
func CountDocuments(ctx context.Context, tx pgx.Tx) (int, error) {
	var count int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM documents WHERE status <> 'failed'`).Scan(&count); err != nil {
		return 0, fmt.Errorf("count documents: %w", err)
	}
	return count, nil
}
