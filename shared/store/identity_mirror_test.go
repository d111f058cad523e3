package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bondingai/platform/shared/store"
	"github.com/bondingai/platform/shared/store/storetest"
)

func TestIdentityMirrorTenantIsolation(t *testing.T) {
	ctx := context.Background()
	s, _ := storetest.Open(t)
	contoso, err := s.EnsureOrganization(ctx, "org_contoso")
	if err != nil {
		t.Fatal(err)
	}
	fabrikam, err := s.EnsureOrganization(ctx, "org_fabrikam")
	if err != nil {
		t.Fatal(err)
	}
	updatedAt := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)

	err = s.InOrg(ctx, contoso, func(tx pgx.Tx) error {
		if _, _, err := store.UpsertDirectoryUser(ctx, tx, store.MirroredDirectoryUser{
			MirroredObject: store.MirroredObject{WorkOSID: "directory_user_contoso", UpdatedAt: updatedAt},
			OrgID:          contoso, DirectoryWorkOSID: "directory_contoso", Email: "ada@contoso.com", State: "active",
		}); err != nil {
			return err
		}
		_, err := store.UpsertDirectoryGroup(ctx, tx, store.MirroredDirectoryGroup{
			MirroredObject: store.MirroredObject{WorkOSID: "directory_group_contoso", UpdatedAt: updatedAt},
			OrgID:          contoso, DirectoryWorkOSID: "directory_contoso", Name: "Engineering",
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	for _, table := range []string{"directory_users", "directory_groups"} {
		var visible int
		err := s.InOrg(ctx, fabrikam, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&visible)
		})
		if err != nil {
			t.Fatal(err)
		}
		if visible != 0 {
			t.Errorf("another organization sees %d rows of %s, want 0", visible, table)
		}
	}

	// Writing a row for another organization violates the policy.
	err = s.InOrg(ctx, fabrikam, func(tx pgx.Tx) error {
		_, err := store.UpsertDirectoryGroup(ctx, tx, store.MirroredDirectoryGroup{
			MirroredObject: store.MirroredObject{WorkOSID: "directory_group_forged", UpdatedAt: updatedAt},
			OrgID:          contoso, DirectoryWorkOSID: "directory_contoso", Name: "Forged",
		})
		return err
	})
	if err == nil {
		t.Error("writing a directory group of another organization succeeded")
	}
}

func TestEventCursorAndWebhookEvents(t *testing.T) {
	ctx := context.Background()
	s, _ := storetest.Open(t)

	var cursor string
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		var err error
		if cursor, err = store.EventCursor(ctx, tx, "identity"); err != nil {
			return err
		}
		return store.SetEventCursor(ctx, tx, "identity", "event_02")
	})
	if err != nil || cursor != "" {
		t.Fatalf("initial cursor = %q, %v, want empty", cursor, err)
	}
	err = s.InTx(ctx, func(tx pgx.Tx) error {
		var err error
		cursor, err = store.EventCursor(ctx, tx, "identity")
		return err
	})
	if err != nil || cursor != "event_02" {
		t.Errorf("cursor = %q, %v, want event_02", cursor, err)
	}

	first, err := s.RecordWebhookEvent(ctx, "event_01", "dsync.user.updated")
	if err != nil || !first {
		t.Fatalf("first record = %v, %v, want new", first, err)
	}
	again, err := s.RecordWebhookEvent(ctx, "event_01", "dsync.user.updated")
	if err != nil || again {
		t.Errorf("second record = %v, %v, want duplicate", again, err)
	}
	marked, err := s.MarkWebhookEventsSynced(ctx, time.Now().Add(time.Second))
	if err != nil || marked != 1 {
		t.Errorf("marked %d, %v, want 1", marked, err)
	}
	if waiting, err := s.UnsyncedWebhookEvents(ctx); err != nil || waiting != 0 {
		t.Errorf("unsynced = %d, %v, want 0", waiting, err)
	}
}
