package store_test

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bondingai/platform/shared/store"
)

func TestIncrementRateLimitCountsPerOrganizationAndWindow(t *testing.T) {
	f := newFixture(t)
	window := time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)

	increment := func(org [16]byte, bucket string, start time.Time) int {
		t.Helper()
		var count int
		err := f.s.InOrg(f.ctx, org, func(tx pgx.Tx) error {
			var err error
			count, err = store.IncrementRateLimit(f.ctx, tx, bucket, start)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return count
	}

	if got := increment(f.orgA, "search:org", window); got != 1 {
		t.Errorf("first increment = %d, want 1", got)
	}
	if got := increment(f.orgA, "search:org", window); got != 2 {
		t.Errorf("second increment = %d, want 2", got)
	}
	if got := increment(f.orgB, "search:org", window); got != 1 {
		t.Errorf("other organization's first increment = %d, want 1", got)
	}
	if got := increment(f.orgA, "chat:org", window); got != 1 {
		t.Errorf("other bucket's first increment = %d, want 1", got)
	}
	if got := increment(f.orgA, "search:org", window.Add(time.Minute)); got != 1 {
		t.Errorf("next window's first increment = %d, want 1", got)
	}

	var rows int
	err := f.s.InOrg(f.ctx, f.orgA, func(tx pgx.Tx) error {
		return tx.QueryRow(f.ctx, `SELECT count(*) FROM rate_limit_counters WHERE bucket = 'search:org'`).Scan(&rows)
	})
	if err != nil {
		t.Fatal(err)
	}
	if rows != 1 {
		t.Errorf("search:org windows kept = %d, want 1 after the expired window is deleted", rows)
	}
}

func TestCountDocumentsSkipsFailedAndOtherOrganizations(t *testing.T) {
	f := newFixture(t)
	f.createDocument(t, f.orgA, "one")
	failed := f.createDocument(t, f.orgA, "two")
	f.createDocument(t, f.orgB, "three")
	err := f.s.InOrg(f.ctx, f.orgA, func(tx pgx.Tx) error {
		return store.MarkDocumentFailed(f.ctx, tx, failed.ID, "test")
	})
	if err != nil {
		t.Fatal(err)
	}

	var count int
	err = f.s.InOrg(f.ctx, f.orgA, func(tx pgx.Tx) error {
		var err error
		count, err = store.CountDocuments(f.ctx, tx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if count != 1 {
		t.Errorf("CountDocuments = %d, want 1", count)
	}
}
