package store_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bondingai/platform/shared/store"
	"github.com/bondingai/platform/shared/store/storetest"
)

func TestClaimRefreshRunsOnceForConcurrentCallers(t *testing.T) {
	s, _ := storetest.Open(t)
	ctx := context.Background()
	hash := sha256.Sum256([]byte("refresh-token-concurrent"))

	var calls atomic.Int64
	entered := make(chan struct{})
	release := make(chan struct{})
	refresh := func(context.Context) ([]byte, error) {
		if calls.Add(1) == 1 {
			close(entered)
			<-release
		}
		return []byte("new tokens"), nil
	}

	const callers = 5
	results := make([][]byte, callers)
	reusedFlags := make([]bool, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			if i > 0 {
				<-entered // the others arrive while the first one refreshes
			}
			results[i], reusedFlags[i], errs[i] = s.ClaimRefresh(ctx, hash[:], 10*time.Second, refresh)
		})
	}
	<-entered
	close(release)
	wg.Wait()

	if got := calls.Load(); got != 1 {
		t.Fatalf("refresh ran %d times, want 1", got)
	}
	reusedCount := 0
	for i := range callers {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if string(results[i]) != "new tokens" {
			t.Errorf("caller %d got %q, want the first caller's result", i, results[i])
		}
		if reusedFlags[i] {
			reusedCount++
		}
	}
	if reusedCount != callers-1 {
		t.Errorf("%d callers reused the result, want %d", reusedCount, callers-1)
	}
}

func TestClaimRefreshRetriesAfterFailure(t *testing.T) {
	s, _ := storetest.Open(t)
	ctx := context.Background()
	hash := sha256.Sum256([]byte("refresh-token-failure"))
	failure := errors.New("identity provider unavailable")

	_, _, err := s.ClaimRefresh(ctx, hash[:], 10*time.Second, func(context.Context) ([]byte, error) { return nil, failure })
	if !errors.Is(err, failure) {
		t.Fatalf("first claim error = %v, want the refresh error", err)
	}
	result, reused, err := s.ClaimRefresh(ctx, hash[:], 10*time.Second, func(context.Context) ([]byte, error) { return []byte("second"), nil })
	if err != nil {
		t.Fatal(err)
	}
	if reused || string(result) != "second" {
		t.Errorf("second claim = %q reused=%v, want a fresh refresh", result, reused)
	}
}

func TestClaimRefreshExpiresAfterGrace(t *testing.T) {
	s, _ := storetest.Open(t)
	ctx := context.Background()
	hash := sha256.Sum256([]byte("refresh-token-grace"))

	if _, _, err := s.ClaimRefresh(ctx, hash[:], time.Millisecond, func(context.Context) ([]byte, error) { return []byte("first"), nil }); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		result, reused, err := s.ClaimRefresh(ctx, hash[:], time.Millisecond, func(context.Context) ([]byte, error) { return []byte("after grace"), nil })
		if err != nil {
			t.Fatal(err)
		}
		if !reused {
			if string(result) != "after grace" {
				t.Errorf("result = %q, want the new refresh", result)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("stored refresh still reused 5 s after a 1 ms grace period")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestClaimRefreshRejectsShortHash(t *testing.T) {
	s, _ := storetest.Open(t)
	_, _, err := s.ClaimRefresh(context.Background(), []byte("short"), time.Second, func(context.Context) ([]byte, error) {
		t.Error("refresh ran for an invalid hash")
		return nil, nil
	})
	if err == nil {
		t.Fatal("ClaimRefresh accepted a 5-byte hash")
	}
}

func TestEnsureUserWithEmailUpdatesEmail(t *testing.T) {
	s, _ := storetest.Open(t)
	ctx := context.Background()
	first, err := s.EnsureUserWithEmail(ctx, "user_email", "old@contoso.example")
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.EnsureUserWithEmail(ctx, "user_email", "new@contoso.example")
	if err != nil {
		t.Fatal(err)
	}
	if first != second {
		t.Fatalf("ids differ: %s and %s", first, second)
	}
	user, err := s.User(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	if user.Email != "new@contoso.example" || user.WorkOSID != "user_email" {
		t.Errorf("user = %+v, want the new email", user)
	}
}

func TestOrganizationNameAndNotFound(t *testing.T) {
	s, _ := storetest.Open(t)
	ctx := context.Background()
	id, err := s.EnsureOrganization(ctx, "org_named")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetOrganizationName(ctx, id, "Contoso"); err != nil {
		t.Fatal(err)
	}
	org, err := s.Organization(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if org.Name != "Contoso" || org.WorkOSID != "org_named" {
		t.Errorf("organization = %+v", org)
	}
	if _, err := s.Organization(ctx, [16]byte{1}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing organization error = %v, want ErrNotFound", err)
	}
}
