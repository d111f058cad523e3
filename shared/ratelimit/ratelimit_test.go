package ratelimit_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/bondingai/platform/shared/httpapi"
	"github.com/bondingai/platform/shared/ratelimit"
	"github.com/bondingai/platform/shared/store"
	"github.com/bondingai/platform/shared/store/storetest"
)

type fixture struct {
	instances [2]*store.Store
	org       uuid.UUID
	otherOrg  uuid.UUID
	users     [2]uuid.UUID
}

// newFixture opens two pools on one database, as two instances of the
// function app would.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	first, db := storetest.Open(t)
	second, err := store.Open(ctx, db.AppURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(second.Close)

	f := &fixture{instances: [2]*store.Store{first, second}}
	if f.org, err = first.EnsureOrganization(ctx, "org_rate"); err != nil {
		t.Fatal(err)
	}
	if f.otherOrg, err = first.EnsureOrganization(ctx, "org_other"); err != nil {
		t.Fatal(err)
	}
	for i := range f.users {
		if f.users[i], err = first.EnsureUser(ctx, "user_rate_"+string(rune('a'+i))); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func fixedClock(at time.Time) func() time.Time {
	return func() time.Time { return at }
}

func TestAllowSharesUserLimitAcrossInstances(t *testing.T) {
	f := newFixture(t)
	at := time.Date(2026, 3, 1, 10, 0, 20, 0, time.UTC)
	policies := map[ratelimit.Action]ratelimit.Policy{
		ratelimit.ActionSearch: {
			PerUser:         ratelimit.Limit{Requests: 5, Window: time.Minute},
			PerOrganization: ratelimit.Limit{Requests: 1000, Window: time.Minute},
		},
	}
	limiters := [2]*ratelimit.Limiter{
		{Store: f.instances[0], Policies: policies, Now: fixedClock(at)},
		{Store: f.instances[1], Policies: policies, Now: fixedClock(at)},
	}

	const requests = 12
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		allowed  int
		rejected []ratelimit.Decision
	)
	for i := range requests {
		wg.Go(func() {
			decision, err := limiters[i%2].Allow(context.Background(), ratelimit.ActionSearch, f.org, f.users[0])
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if decision.Allowed {
				allowed++
			} else {
				rejected = append(rejected, decision)
			}
		})
	}
	wg.Wait()

	if allowed != 5 {
		t.Errorf("allowed = %d across two instances, want 5", allowed)
	}
	for _, decision := range rejected {
		if decision.Scope != ratelimit.ScopeUser {
			t.Errorf("rejected scope = %q, want %q", decision.Scope, ratelimit.ScopeUser)
		}
		if decision.RetryAfter != 40*time.Second {
			t.Errorf("RetryAfter = %s, want 40s to the end of the minute", decision.RetryAfter)
		}
	}

	// Another user of the same organization still has a full allowance.
	decision, err := limiters[1].Allow(context.Background(), ratelimit.ActionSearch, f.org, f.users[1])
	if err != nil {
		t.Fatal(err)
	}
	if !decision.Allowed {
		t.Error("another user was rejected by the first user's limit")
	}
}

func TestAllowSharesOrganizationLimitAcrossUsers(t *testing.T) {
	f := newFixture(t)
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	policies := map[ratelimit.Action]ratelimit.Policy{
		ratelimit.ActionChat: {
			PerUser:         ratelimit.Limit{Requests: 100, Window: time.Minute},
			PerOrganization: ratelimit.Limit{Requests: 3, Window: time.Hour},
		},
	}
	limiter := &ratelimit.Limiter{Store: f.instances[0], Policies: policies, Now: fixedClock(at)}
	other := &ratelimit.Limiter{Store: f.instances[1], Policies: policies, Now: fixedClock(at)}

	for i := range 3 {
		decision, err := []*ratelimit.Limiter{limiter, other}[i%2].Allow(context.Background(), ratelimit.ActionChat, f.org, f.users[i%2])
		if err != nil {
			t.Fatal(err)
		}
		if !decision.Allowed {
			t.Fatalf("request %d rejected within the organization limit", i+1)
		}
	}
	decision, err := other.Allow(context.Background(), ratelimit.ActionChat, f.org, f.users[1])
	if err != nil {
		t.Fatal(err)
	}
	if decision.Allowed {
		t.Fatal("fourth request allowed over the organization limit of 3")
	}
	if decision.Scope != ratelimit.ScopeOrganization {
		t.Errorf("scope = %q, want %q", decision.Scope, ratelimit.ScopeOrganization)
	}
	if decision.RetryAfter != time.Hour {
		t.Errorf("RetryAfter = %s, want 1h", decision.RetryAfter)
	}

	// The other organization and the next window are not affected.
	decision, err = limiter.Allow(context.Background(), ratelimit.ActionChat, f.otherOrg, f.users[0])
	if err != nil {
		t.Fatal(err)
	}
	if !decision.Allowed {
		t.Error("another organization was rejected by this organization's limit")
	}
	limiter.Now = fixedClock(at.Add(time.Hour))
	decision, err = limiter.Allow(context.Background(), ratelimit.ActionChat, f.org, f.users[0])
	if err != nil {
		t.Fatal(err)
	}
	if !decision.Allowed {
		t.Error("request in the next window was rejected")
	}
}

func TestAllowWithoutPolicyIsUnlimited(t *testing.T) {
	f := newFixture(t)
	limiter := &ratelimit.Limiter{Store: f.instances[0]}
	for range 3 {
		decision, err := limiter.Allow(context.Background(), ratelimit.ActionUpload, f.org, f.users[0])
		if err != nil {
			t.Fatal(err)
		}
		if !decision.Allowed {
			t.Fatal("action without a policy was rejected")
		}
	}
}

func TestMiddlewareRejectsWithRetryAfter(t *testing.T) {
	f := newFixture(t)
	at := time.Date(2026, 3, 1, 10, 0, 59, 500_000_000, time.UTC)
	limiter := &ratelimit.Limiter{
		Store: f.instances[0],
		Policies: map[ratelimit.Action]ratelimit.Policy{
			ratelimit.ActionUpload: {PerUser: ratelimit.Limit{Requests: 1, Window: time.Minute}},
		},
		Now: fixedClock(at),
	}
	handler := limiter.Middleware(ratelimit.ActionUpload)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusAccepted)
	}))
	serve := func() *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/api/documents", nil)
		r = r.WithContext(httpapi.ContextWithPrincipal(r.Context(), &httpapi.Principal{OrgID: f.org, UserID: f.users[0]}))
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, r)
		return w
	}

	if w := serve(); w.Code != http.StatusAccepted {
		t.Fatalf("first request status = %d, want 202", w.Code)
	}
	w := serve()
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("second request status = %d, want 429", w.Code)
	}
	if got := w.Header().Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After = %q, want 1 (half a second rounded up)", got)
	}
	if got := w.Header().Get("Content-Type"); got != "application/problem+json" {
		t.Errorf("Content-Type = %q, want application/problem+json", got)
	}
	var body struct {
		Status int    `json:"status"`
		Detail string `json:"detail"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("decode problem: %v", err)
	}
	if body.Status != http.StatusTooManyRequests {
		t.Errorf("problem status = %d, want 429", body.Status)
	}
	if body.Detail == "" {
		t.Error("problem detail is empty")
	}
}

func TestMiddlewareWithoutPrincipalFails(t *testing.T) {
	limiter := &ratelimit.Limiter{}
	handler := limiter.Middleware(ratelimit.ActionSearch)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		t.Error("handler ran without a principal")
	}))
	w := httptest.NewRecorder()
	handler.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/api/search", nil))
	if w.Code != http.StatusInternalServerError {
		t.Errorf("status = %d, want 500", w.Code)
	}
}
