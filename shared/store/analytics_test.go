package store_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bondingai/platform/shared/store"
)

func TestUsageEventsInsertAndIsolation(t *testing.T) {
	f := newFixture(t)
	at := time.Date(2026, 11, 10, 9, 15, 0, 0, time.UTC)
	cited := []uuid.UUID{uuid.New(), uuid.New()}
	err := f.s.InOrg(f.ctx, f.orgA, func(tx pgx.Tx) error {
		return store.InsertUsageEvents(f.ctx, tx, f.orgA, []store.UsageEvent{
			{UserID: f.user, Type: "message_answered", OccurredAt: at, Model: "gpt-4o", PromptTokens: 900, LatencyMS: 1500, DocumentIDs: cited},
			{Type: "document_ready", OccurredAt: at, Pages: 3, Chunks: 12},
		})
	})
	if err != nil {
		t.Fatal(err)
	}

	// Zero fields are stored as NULL and document ids survive the trip.
	var userIDs, models, completionTokens, documentIDs int
	var storedCited []uuid.UUID
	err = f.s.InOrg(f.ctx, f.orgA, func(tx pgx.Tx) error {
		if err := tx.QueryRow(f.ctx, `SELECT count(user_id), count(model), count(completion_tokens), sum(cardinality(document_ids))
			FROM usage_events`).Scan(&userIDs, &models, &completionTokens, &documentIDs); err != nil {
			return err
		}
		return tx.QueryRow(f.ctx, `SELECT document_ids FROM usage_events WHERE type = 'message_answered'`).Scan(&storedCited)
	})
	if err != nil {
		t.Fatal(err)
	}
	if userIDs != 1 || models != 1 || completionTokens != 0 || documentIDs != 2 {
		t.Errorf("user ids %d, models %d, completion tokens %d, document ids %d; want 1, 1, 0, 2", userIDs, models, completionTokens, documentIDs)
	}
	if len(storedCited) != 2 || storedCited[0] != cited[0] || storedCited[1] != cited[1] {
		t.Errorf("document ids = %v, want %v", storedCited, cited)
	}

	// Another organization's transaction neither sees nor writes them.
	var visible int
	err = f.s.InOrg(f.ctx, f.orgB, func(tx pgx.Tx) error {
		return tx.QueryRow(f.ctx, `SELECT count(*) FROM usage_events`).Scan(&visible)
	})
	if err != nil || visible != 0 {
		t.Errorf("organization B sees %d events (err %v), want 0", visible, err)
	}
	err = f.s.InOrg(f.ctx, f.orgB, func(tx pgx.Tx) error {
		return store.InsertUsageEvents(f.ctx, tx, f.orgA, []store.UsageEvent{{Type: "search", OccurredAt: at}})
	})
	if err == nil || !strings.Contains(err.Error(), "row-level security") {
		t.Errorf("insert for organization A inside B's transaction: %v, want a row-level security violation", err)
	}
}

func TestUsageEventsRejectUnknownType(t *testing.T) {
	f := newFixture(t)
	err := f.s.InOrg(f.ctx, f.orgA, func(tx pgx.Tx) error {
		return store.InsertUsageEvents(f.ctx, tx, f.orgA, []store.UsageEvent{{Type: "page_viewed", OccurredAt: time.Now()}})
	})
	if err == nil {
		t.Error("an unknown event type was stored")
	}
}

func TestAnalyticsWatermarkAdvancesOverFinalHours(t *testing.T) {
	f := newFixture(t)
	start := time.Date(2026, 11, 10, 0, 0, 0, 0, time.UTC)
	var watermark time.Time
	err := f.s.InOrg(f.ctx, f.orgA, func(tx pgx.Tx) error {
		if _, err := store.AnalyticsWatermark(f.ctx, tx, f.orgA); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("watermark before initialization: %v, want ErrNotFound", err)
		}
		if _, err := store.InitAnalyticsWatermark(f.ctx, tx, f.orgA, start); err != nil {
			return err
		}
		// Hours 0 and 1 are final, hour 2 is not, hour 3 is final: the
		// watermark stops at the first hour that is not final.
		for hour, final := range []bool{true, true, false, true} {
			if err := store.MarkRollupWindow(f.ctx, tx, f.orgA, start.Add(time.Duration(hour)*time.Hour), start, final); err != nil {
				return err
			}
		}
		var err error
		watermark, err = store.AdvanceAnalyticsWatermark(f.ctx, tx, f.orgA)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := start.Add(2 * time.Hour); !watermark.Equal(want) {
		t.Errorf("watermark = %s, want %s", watermark, want)
	}
}

func TestAnalyticsRetentionDaysFromSettings(t *testing.T) {
	f := newFixture(t)
	read := func(org uuid.UUID) int {
		t.Helper()
		var days int
		err := f.s.InOrg(f.ctx, org, func(tx pgx.Tx) error {
			var err error
			days, err = store.AnalyticsRetentionDays(f.ctx, tx, org, 90)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return days
	}
	if got := read(f.orgA); got != 90 {
		t.Errorf("retention without settings = %d, want the fallback 90", got)
	}
	err := f.s.InOrg(f.ctx, f.orgA, func(tx pgx.Tx) error {
		_, err := store.PutOrganizationSettings(f.ctx, tx, f.orgA, f.user, []byte(`{"retention_days": 30}`), 0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := read(f.orgA); got != 30 {
		t.Errorf("retention with retention_days 30 = %d", got)
	}
	if got := read(f.orgB); got != 90 {
		t.Errorf("another organization's retention = %d, want 90", got)
	}
}
