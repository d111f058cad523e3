package identity_test

import (
	"context"
	"testing"
)

// BenchmarkValidate measures the per-request cost of validating an access
// token with a warm JWKS cache: parse, RS256 (2048-bit) verification and the
// claim checks. No JWKS fetch happens inside the loop.
func BenchmarkValidate(b *testing.B) {
	f := newStandinFixture(b, testClientID)
	v := f.newValidator(b)
	token := f.mint(b)
	ctx := context.Background()
	if _, err := v.Validate(ctx, token); err != nil {
		b.Fatalf("Validate: %v", err)
	}
	fetches := f.jwksFetches.Load()

	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Validate(ctx, token); err != nil {
			b.Fatalf("Validate: %v", err)
		}
	}

	if got := f.jwksFetches.Load(); got != fetches {
		b.Errorf("JWKS fetches grew from %d to %d during the benchmark", fetches, got)
	}
}
