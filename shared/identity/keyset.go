package identity

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/MicahParks/jwkset"
	"golang.org/x/sync/singleflight"
	"golang.org/x/time/rate"
)

// keySet is the JWKS cache behind the keyfunc. Known key IDs are read from
// memory. An unknown key ID triggers one JWKS fetch, shared by concurrent
// callers with the same key ID and allowed at most once per refetch interval.
// So tokens with made-up key IDs cause at most one fetch per interval.
// jwkset replaces the cached keys only after a fetch succeeds, so a failed
// fetch keeps the last good keys.
type keySet struct {
	// Storage is the jwkset HTTP client. Its KeyRead fetches the JWKS into
	// cache before it looks the key up again.
	jwkset.Storage
	cache   *jwkset.MemoryJWKSet
	limiter *rate.Limiter
	group   singleflight.Group
	url     string
	logger  *slog.Logger
}

// fetchOutcome receives the error of a JWKS fetch that keySet.KeyRead
// started. jwkset reports fetch errors only through the refresh error
// handler, which finds this value in the fetch context.
type fetchOutcome struct {
	err error
}

type fetchOutcomeKey struct{}

// refreshError handles every failed JWKS fetch: the one at start-up, the
// periodic ones and the ones started by an unknown key ID.
func (k *keySet) refreshError(ctx context.Context, err error) {
	if outcome, ok := ctx.Value(fetchOutcomeKey{}).(*fetchOutcome); ok {
		outcome.err = err
	}
	k.logger.WarnContext(ctx, "JWKS fetch failed, keeping the last good keys", "jwks_url", k.url, "error", err)
}

// KeyRead returns the key with ID kid, fetching the JWKS when the cache does
// not have it. It returns an error matching ErrJWKSUnavailable when the key
// cannot be looked up because the JWKS is unreachable, and one matching
// ErrInvalidToken when the JWKS has no such key.
func (k *keySet) KeyRead(ctx context.Context, kid string) (jwkset.JWK, error) {
	if jwk, err := k.cache.KeyRead(ctx, kid); err == nil {
		return jwk, nil
	}

	result, err, _ := k.group.Do(kid, func() (any, error) {
		return k.fetchAndRead(ctx, kid)
	})
	if err != nil {
		return jwkset.JWK{}, err
	}
	return result.(jwkset.JWK), nil
}

func (k *keySet) fetchAndRead(ctx context.Context, kid string) (jwkset.JWK, error) {
	// A fetch that finished while this caller waited may have brought the key.
	if jwk, err := k.cache.KeyRead(ctx, kid); err == nil {
		return jwk, nil
	}

	if !k.limiter.Allow() {
		if k.empty(ctx) {
			return jwkset.JWK{}, fmt.Errorf("%w: no keys cached and the last fetch was less than a refetch interval ago", ErrJWKSUnavailable)
		}
		return jwkset.JWK{}, fmt.Errorf("%w: key ID %q is not in the JWKS (refetch skipped, rate limit reached)", ErrInvalidToken, kid)
	}

	// Other callers share this fetch, so the first caller's cancellation
	// must not end it. The jwkset client bounds it with the fetch timeout.
	outcome := &fetchOutcome{}
	fetchCtx := context.WithValue(context.WithoutCancel(ctx), fetchOutcomeKey{}, outcome)
	jwk, err := k.Storage.KeyRead(fetchCtx, kid)
	switch {
	case err == nil:
		return jwk, nil
	case outcome.err != nil:
		return jwkset.JWK{}, fmt.Errorf("%w: fetch for key ID %q: %w", ErrJWKSUnavailable, kid, outcome.err)
	case errors.Is(err, jwkset.ErrKeyNotFound):
		return jwkset.JWK{}, fmt.Errorf("%w: key ID %q is not in the JWKS", ErrInvalidToken, kid)
	default:
		return jwkset.JWK{}, fmt.Errorf("%w: read key ID %q: %w", ErrJWKSUnavailable, kid, err)
	}
}

func (k *keySet) empty(ctx context.Context) bool {
	keys, err := k.cache.KeyReadAll(ctx)
	return err != nil || len(keys) == 0
}
