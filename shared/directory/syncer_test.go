package directory

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/workos/workos-go/v4/pkg/events"
	"github.com/workos/workos-go/v4/pkg/usermanagement"

	"github.com/bondingai/platform/shared/store"
	"github.com/bondingai/platform/shared/store/storetest"
)

// fakeWorkOS serves GET /events and POST /user_management/sessions/revoke
// as the WorkOS API documents them: events oldest first after the cursor,
// at most limit per page.
type fakeWorkOS struct {
	mu       sync.Mutex
	events   []map[string]any
	revoked  []string
	requests int
}

func (f *fakeWorkOS) add(eventType string, data map[string]any) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := fmt.Sprintf("event_%04d", len(f.events)+1)
	f.events = append(f.events, map[string]any{
		"object": "event", "id": id, "event": eventType, "data": data,
		"created_at": time.Date(2026, 1, 1, 0, 0, len(f.events), 0, time.UTC).Format(time.RFC3339Nano),
	})
	return id
}

func (f *fakeWorkOS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer sk_test" {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	switch r.URL.Path {
	case "/events":
		f.requests++
		after := r.URL.Query().Get("after")
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		page := []map[string]any{}
		for _, e := range f.events {
			if after != "" && e["id"].(string) <= after {
				continue
			}
			if len(page) == limit {
				break
			}
			page = append(page, e)
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": page, "list_metadata": map[string]any{}})
	case "/user_management/sessions/revoke":
		var body struct {
			SessionID string `json:"session_id"`
		}
		json.NewDecoder(r.Body).Decode(&body)
		f.revoked = append(f.revoked, body.SessionID)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{}`))
	default:
		http.NotFound(w, r)
	}
}

type syncFixture struct {
	ctx    context.Context
	store  *store.Store
	fake   *fakeWorkOS
	syncer *Syncer
}

func newSyncFixture(t *testing.T) *syncFixture {
	t.Helper()
	s, _ := storetest.Open(t)
	fake := &fakeWorkOS{}
	server := httptest.NewServer(fake)
	t.Cleanup(server.Close)
	users := usermanagement.NewClient("sk_test")
	users.Endpoint = server.URL
	return &syncFixture{
		ctx:   context.Background(),
		store: s,
		fake:  fake,
		syncer: &Syncer{
			Store:    s,
			Events:   &events.Client{APIKey: "sk_test", Endpoint: server.URL, HTTPClient: server.Client()},
			Sessions: users,
			Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
			PageSize: 2,
		},
	}
}

func (f *syncFixture) run(t *testing.T) Result {
	t.Helper()
	result, err := f.syncer.Run(f.ctx)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !result.Locked {
		t.Fatal("Run did not take the sync lock")
	}
	return result
}

func at(minute int) string {
	return time.Date(2026, 1, 1, 10, minute, 0, 0, time.UTC).Format(time.RFC3339Nano)
}

func directoryUser(state string, minute int) map[string]any {
	return map[string]any{
		"object": "directory_user", "id": "directory_user_01", "directory_id": "directory_01",
		"organization_id": "org_01", "email": "Ada@Contoso.com", "first_name": "Ada", "last_name": "Lovelace",
		"state": state, "created_at": at(0), "updated_at": at(minute),
	}
}

// signedIn creates the platform rows the request path creates when a
// user first calls the API, and records the token's session.
func (f *syncFixture) signedIn(t *testing.T, userWorkOSID, email, sessionID string) (uuid.UUID, uuid.UUID) {
	t.Helper()
	orgID, err := f.store.EnsureOrganization(f.ctx, "org_01")
	if err != nil {
		t.Fatal(err)
	}
	userID, err := f.store.EnsureUserWithEmail(f.ctx, userWorkOSID, email)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.InOrg(f.ctx, orgID, func(tx pgx.Tx) error { return store.EnsureMembership(f.ctx, tx, orgID, userID, "member") }); err != nil {
		t.Fatal(err)
	}
	if err := f.store.RecordSession(f.ctx, sessionID, orgID, userID); err != nil {
		t.Fatal(err)
	}
	return orgID, userID
}

func (f *syncFixture) denial(t *testing.T, orgID, userID uuid.UUID) string {
	t.Helper()
	reason, err := f.store.AccessDenial(f.ctx, orgID, userID)
	if err != nil {
		t.Fatal(err)
	}
	return reason
}

func (f *syncFixture) directoryUserState(t *testing.T, orgID uuid.UUID) (state string, deleted bool) {
	t.Helper()
	err := f.store.InOrg(f.ctx, orgID, func(tx pgx.Tx) error {
		return tx.QueryRow(f.ctx, `SELECT state, deleted_at IS NOT NULL FROM directory_users WHERE workos_id = 'directory_user_01'`).Scan(&state, &deleted)
	})
	if err != nil {
		t.Fatal(err)
	}
	return state, deleted
}

func TestSyncDeactivatedDirectoryUserDeniesAndRevokes(t *testing.T) {
	f := newSyncFixture(t)
	orgID, userID := f.signedIn(t, "user_01", "ada@contoso.com", "session_01")

	f.fake.add(events.DirectoryUserCreated, directoryUser("active", 1))
	f.run(t)
	if reason := f.denial(t, orgID, userID); reason != "" {
		t.Fatalf("denial after active directory user = %q, want none", reason)
	}

	last := f.fake.add(events.DirectoryUserUpdated, directoryUser("inactive", 2))
	result := f.run(t)
	if reason := f.denial(t, orgID, userID); reason != store.DenialDirectoryUserInactive {
		t.Errorf("denial after deactivation = %q, want %q", reason, store.DenialDirectoryUserInactive)
	}
	if result.Cursor != last {
		t.Errorf("cursor = %q, want %q", result.Cursor, last)
	}
	if result.SessionsRevoked != 1 || len(f.fake.revoked) != 1 || f.fake.revoked[0] != "session_01" {
		t.Errorf("revoked %d sessions %v, want session_01", result.SessionsRevoked, f.fake.revoked)
	}

	// A later run reads nothing new and revokes nothing again.
	again := f.run(t)
	if again.Read != 0 || again.SessionsRevoked != 0 {
		t.Errorf("second run read %d events and revoked %d sessions, want 0 and 0", again.Read, again.SessionsRevoked)
	}
}

func TestSyncReplayedEventsAreIdempotent(t *testing.T) {
	f := newSyncFixture(t)
	orgID, _ := f.signedIn(t, "user_01", "ada@contoso.com", "session_01")

	f.fake.add(events.DirectoryUserCreated, directoryUser("active", 1))
	f.fake.add(events.DirectoryUserUpdated, directoryUser("inactive", 2))
	first := f.run(t)
	if first.Applied != 2 {
		t.Fatalf("first run applied %d events, want 2", first.Applied)
	}

	// Resetting the cursor replays the stream, as a restored backup would.
	if err := f.store.InTx(f.ctx, func(tx pgx.Tx) error { return store.SetEventCursor(f.ctx, tx, Stream, "event_0000") }); err != nil {
		t.Fatal(err)
	}
	replay := f.run(t)
	if replay.Read != 2 || replay.Applied != 0 {
		t.Errorf("replay read %d and applied %d events, want 2 and 0", replay.Read, replay.Applied)
	}
	if state, _ := f.directoryUserState(t, orgID); state != "inactive" {
		t.Errorf("state after replay = %q, want inactive", state)
	}
}

func TestSyncOlderUpdateIsSkipped(t *testing.T) {
	f := newSyncFixture(t)
	orgID, userID := f.signedIn(t, "user_01", "ada@contoso.com", "session_01")

	// The deactivation (10:05) is read before a stale reactivation (10:03).
	f.fake.add(events.DirectoryUserUpdated, directoryUser("inactive", 5))
	f.fake.add(events.DirectoryUserUpdated, directoryUser("active", 3))
	result := f.run(t)
	if result.Read != 2 || result.Applied != 1 {
		t.Errorf("run read %d and applied %d events, want 2 and 1", result.Read, result.Applied)
	}
	if state, _ := f.directoryUserState(t, orgID); state != "inactive" {
		t.Errorf("state = %q, want inactive: the older event must not win", state)
	}
	if reason := f.denial(t, orgID, userID); reason != store.DenialDirectoryUserInactive {
		t.Errorf("denial = %q, want %q", reason, store.DenialDirectoryUserInactive)
	}
}

func TestSyncDeletedDirectoryUserStaysTombstone(t *testing.T) {
	f := newSyncFixture(t)
	orgID, userID := f.signedIn(t, "user_01", "ada@contoso.com", "session_01")

	f.fake.add(events.DirectoryUserCreated, directoryUser("active", 1))
	f.fake.add(events.DirectoryUserDeleted, directoryUser("active", 4))
	// A created event replayed with its old updated_at must not resurrect it.
	f.fake.add(events.DirectoryUserCreated, directoryUser("active", 1))
	f.run(t)

	state, deleted := f.directoryUserState(t, orgID)
	if !deleted {
		t.Errorf("directory user with state %q is not a tombstone after deletion", state)
	}
	if reason := f.denial(t, orgID, userID); reason != store.DenialDirectoryUserInactive {
		t.Errorf("denial = %q, want %q", reason, store.DenialDirectoryUserInactive)
	}
}

func TestSyncMembershipDeletedDenies(t *testing.T) {
	f := newSyncFixture(t)
	orgID, userID := f.signedIn(t, "user_01", "ada@contoso.com", "session_01")
	membership := map[string]any{
		"object": "organization_membership", "id": "om_01", "user_id": "user_01", "organization_id": "org_01",
		"status": "active", "role": map[string]any{"slug": "member"}, "created_at": at(0), "updated_at": at(1),
	}
	f.fake.add(events.OrganizationMembershipCreated, membership)
	f.run(t)
	if reason := f.denial(t, orgID, userID); reason != "" {
		t.Fatalf("denial with an active membership = %q, want none", reason)
	}

	f.fake.add(events.OrganizationMembershipDeleted, membership)
	result := f.run(t)
	if reason := f.denial(t, orgID, userID); reason != store.DenialMembershipRemoved {
		t.Errorf("denial = %q, want %q", reason, store.DenialMembershipRemoved)
	}
	if result.SessionsRevoked != 1 {
		t.Errorf("revoked %d sessions, want 1", result.SessionsRevoked)
	}
}

func TestSyncOrganizationAndUserDeleted(t *testing.T) {
	f := newSyncFixture(t)
	orgID, userID := f.signedIn(t, "user_01", "ada@contoso.com", "session_01")

	f.fake.add(events.UserDeleted, map[string]any{"object": "user", "id": "user_01", "email": "ada@contoso.com", "created_at": at(0), "updated_at": at(1)})
	f.run(t)
	if reason := f.denial(t, orgID, userID); reason != store.DenialUserDeleted {
		t.Errorf("denial after user.deleted = %q, want %q", reason, store.DenialUserDeleted)
	}

	f.fake.add(events.OrganizationDeleted, map[string]any{"object": "organization", "id": "org_01", "name": "Contoso", "created_at": at(0), "updated_at": at(2)})
	f.run(t)
	if reason := f.denial(t, orgID, userID); reason != store.DenialOrganizationDeleted {
		t.Errorf("denial after organization.deleted = %q, want %q", reason, store.DenialOrganizationDeleted)
	}
}

func TestSyncGroupsAndDirectoryDeletion(t *testing.T) {
	f := newSyncFixture(t)
	orgID, userID := f.signedIn(t, "user_01", "ada@contoso.com", "session_01")
	group := map[string]any{"object": "directory_group", "id": "directory_group_01", "directory_id": "directory_01",
		"organization_id": "org_01", "name": "Engineering", "created_at": at(0), "updated_at": at(1)}
	f.fake.add(events.DirectoryActivated, map[string]any{"object": "directory", "id": "directory_01", "organization_id": "org_01",
		"name": "Contoso Entra ID", "type": "azure scim v2.0", "state": "linked", "created_at": at(0), "updated_at": at(0)})
	f.fake.add(events.DirectoryUserCreated, directoryUser("active", 1))
	f.fake.add(events.DirectoryGroupCreated, group)
	f.fake.add(events.DirectoryGroupUserAdded, map[string]any{"directory_id": "directory_01", "user": directoryUser("active", 1), "group": group})
	f.run(t)

	var groups []string
	err := f.store.InOrg(f.ctx, orgID, func(tx pgx.Tx) error {
		var err error
		groups, err = store.DirectoryUserGroups(f.ctx, tx, "directory_user_01")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 1 || groups[0] != "directory_group_01" {
		t.Fatalf("groups = %v, want [directory_group_01]", groups)
	}

	f.fake.add(events.DirectoryDeleted, map[string]any{"object": "directory", "id": "directory_01", "organization_id": "org_01",
		"name": "Contoso Entra ID", "type": "azure scim v2.0", "state": "deleting", "created_at": at(0), "updated_at": at(6)})
	f.run(t)
	if _, deleted := f.directoryUserState(t, orgID); !deleted {
		t.Error("directory user is not a tombstone after dsync.deleted")
	}
	if reason := f.denial(t, orgID, userID); reason != store.DenialDirectoryUserInactive {
		t.Errorf("denial after dsync.deleted = %q, want %q", reason, store.DenialDirectoryUserInactive)
	}
	if len(f.fake.revoked) != 1 {
		t.Errorf("revoked sessions %v, want session_01", f.fake.revoked)
	}
}

func TestSyncMalformedEventIsSkipped(t *testing.T) {
	f := newSyncFixture(t)
	f.fake.add(events.DirectoryUserUpdated, map[string]any{"id": "directory_user_01"}) // no organization or updated_at
	last := f.fake.add(events.DirectoryUserCreated, directoryUser("active", 1))
	result := f.run(t)
	if result.Cursor != last || result.Applied != 1 {
		t.Errorf("cursor %q applied %d, want %q and 1", result.Cursor, result.Applied, last)
	}
}

func TestSyncSecondRunnerWaitsForLock(t *testing.T) {
	f := newSyncFixture(t)
	f.fake.add(events.DirectoryUserCreated, directoryUser("active", 1))
	locked, err := f.store.WithAdvisoryLock(f.ctx, lockKey, func() error {
		result, err := f.syncer.Run(f.ctx)
		if err != nil {
			return err
		}
		if result.Locked || result.Read != 0 {
			t.Errorf("run during another run: locked %v read %d, want false and 0", result.Locked, result.Read)
		}
		return nil
	})
	if err != nil || !locked {
		t.Fatalf("WithAdvisoryLock = %v, %v", locked, err)
	}
	if result := f.run(t); result.Read != 1 {
		t.Errorf("run after the lock was released read %d events, want 1", result.Read)
	}
}

func TestRequestSyncRunsInBackground(t *testing.T) {
	f := newSyncFixture(t)
	orgID, userID := f.signedIn(t, "user_01", "ada@contoso.com", "session_01")
	ctx, cancel := context.WithCancel(f.ctx)
	defer cancel()
	f.syncer.Start(ctx, time.Minute)

	f.fake.add(events.DirectoryUserDeleted, directoryUser("inactive", 1))
	f.syncer.RequestSync()
	deadline := time.Now().Add(10 * time.Second)
	for f.denial(t, orgID, userID) == "" {
		if time.Now().After(deadline) {
			t.Fatal("the requested sync did not deny the deleted directory user within 10 s")
		}
		time.Sleep(20 * time.Millisecond) // poll interval
	}
}

func TestSyncInactiveMembershipDeniesUntilReactivated(t *testing.T) {
	f := newSyncFixture(t)
	orgID, userID := f.signedIn(t, "user_01", "ada@contoso.com", "session_01")
	membership := func(status string, minute int) map[string]any {
		return map[string]any{
			"object": "organization_membership", "id": "om_01", "user_id": "user_01", "organization_id": "org_01",
			"status": status, "role": map[string]any{"slug": "member"}, "created_at": at(0), "updated_at": at(minute),
		}
	}

	f.fake.add(events.OrganizationMembershipUpdated, membership("inactive", 1))
	f.run(t)
	if reason := f.denial(t, orgID, userID); reason != store.DenialMembershipRemoved {
		t.Errorf("denial with an inactive membership = %q, want %q", reason, store.DenialMembershipRemoved)
	}

	f.fake.add(events.OrganizationMembershipUpdated, membership("active", 2))
	f.run(t)
	if reason := f.denial(t, orgID, userID); reason != "" {
		t.Errorf("denial after reactivation = %q, want none", reason)
	}
}

func TestSyncReactivatedDirectoryUserAllowed(t *testing.T) {
	f := newSyncFixture(t)
	orgID, userID := f.signedIn(t, "user_01", "ada@contoso.com", "session_01")
	f.fake.add(events.DirectoryUserUpdated, directoryUser("inactive", 1))
	f.fake.add(events.DirectoryUserUpdated, directoryUser("active", 2))
	f.run(t)
	if reason := f.denial(t, orgID, userID); reason != "" {
		t.Errorf("denial after reactivation = %q, want none", reason)
	}
}

func TestSyncLinksDirectoryUserByEmailAfterSignIn(t *testing.T) {
	f := newSyncFixture(t)
	// The directory user is synced before the person ever signs in, so no
	// platform user exists to link it to.
	f.fake.add(events.DirectoryUserUpdated, directoryUser("inactive", 1))
	f.run(t)

	orgID, userID := f.signedIn(t, "user_01", "ada@contoso.com", "session_01")
	if reason := f.denial(t, orgID, userID); reason != store.DenialDirectoryUserInactive {
		t.Errorf("denial for a user signing in after deactivation = %q, want %q", reason, store.DenialDirectoryUserInactive)
	}
}
