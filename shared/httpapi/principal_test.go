package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bondingai/platform/shared/identity"
	"github.com/bondingai/platform/shared/problem"
	"github.com/bondingai/platform/shared/store"
	"github.com/bondingai/platform/shared/store/storetest"
)

func serveAs(handler http.Handler, claims *identity.Claims) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, "/api/documents", nil)
	req = req.WithContext(identity.ContextWithClaims(req.Context(), claims))
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	return rec
}

func TestRequirePrincipalDeniesRemovedMembership(t *testing.T) {
	ctx := context.Background()
	s, _ := storetest.Open(t)
	resolver := &Resolver{Store: s}
	handler := resolver.RequirePrincipal(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := PrincipalFromContext(r.Context()); !ok {
			t.Error("no principal in the handler's context")
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	claims := &identity.Claims{UserID: "user_01", OrganizationID: "org_01", Role: "member", SessionID: "session_01"}

	if rec := serveAs(handler, claims); rec.Code != http.StatusNoContent {
		t.Fatalf("first request: status %d, want 204", rec.Code)
	}
	p, err := resolver.Resolve(ctx, claims)
	if err != nil {
		t.Fatal(err)
	}
	sessions, err := s.PendingSessionRevocations(ctx, 10)
	if err != nil || len(sessions) != 0 {
		t.Fatalf("pending revocations = %v, %v, want none", sessions, err)
	}

	err = s.InOrg(ctx, p.OrgID, func(tx pgx.Tx) error {
		if _, err := store.UpsertMembership(ctx, tx, store.MirroredMembership{
			MirroredObject: store.MirroredObject{WorkOSID: "om_01", UpdatedAt: time.Now(), Deleted: true},
			OrgID:          p.OrgID, UserID: p.UserID, Role: "member", Status: "active",
		}); err != nil {
			return err
		}
		_, err := store.RequestSessionRevocation(ctx, tx, p.OrgID, p.UserID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	rec := serveAs(handler, claims)
	if rec.Code != http.StatusForbidden {
		t.Fatalf("request after membership removal: status %d, want 403", rec.Code)
	}
	if rec.Header().Get("Content-Type") != problem.ContentType {
		t.Errorf("Content-Type = %q, want %q", rec.Header().Get("Content-Type"), problem.ContentType)
	}
	// The session the first request recorded is the one to revoke.
	sessions, err = s.PendingSessionRevocations(ctx, 10)
	if err != nil || len(sessions) != 1 || sessions[0] != "session_01" {
		t.Errorf("pending revocations = %v, %v, want [session_01]", sessions, err)
	}

	// A session first seen after the deprovisioning is marked when denied.
	later := &identity.Claims{UserID: "user_01", OrganizationID: "org_01", Role: "member", SessionID: "session_02"}
	if rec := serveAs(handler, later); rec.Code != http.StatusForbidden {
		t.Fatalf("request with a new session after membership removal: status %d, want 403", rec.Code)
	}
	sessions, err = s.PendingSessionRevocations(ctx, 10)
	if err != nil || len(sessions) != 2 {
		t.Errorf("pending revocations = %v, %v, want session_01 and session_02", sessions, err)
	}

	// Another user of the organization is unaffected.
	other := &identity.Claims{UserID: "user_02", OrganizationID: "org_01", Role: "member"}
	if rec := serveAs(handler, other); rec.Code != http.StatusNoContent {
		t.Errorf("other user: status %d, want 204", rec.Code)
	}
}

// BenchmarkRequirePrincipal measures the per-request cost of resolving a
// known caller and checking the deny list: one access_denial query.
func BenchmarkRequirePrincipal(b *testing.B) {
	s, _ := storetest.Open(b)
	resolver := &Resolver{Store: s}
	handler := resolver.RequirePrincipal(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	claims := &identity.Claims{UserID: "user_01", OrganizationID: "org_01", Role: "member", SessionID: "session_01"}
	if rec := serveAs(handler, claims); rec.Code != http.StatusNoContent {
		b.Fatalf("status %d, want 204", rec.Code)
	}
	b.ResetTimer()
	for b.Loop() {
		if rec := serveAs(handler, claims); rec.Code != http.StatusNoContent {
			b.Fatalf("status %d, want 204", rec.Code)
		}
	}
}

// BenchmarkDatabaseRoundTrip is the baseline for BenchmarkRequirePrincipal:
// one query that does no work on the same pool.
func BenchmarkDatabaseRoundTrip(b *testing.B) {
	s, _ := storetest.Open(b)
	ctx := context.Background()
	for b.Loop() {
		if err := s.Ping(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
