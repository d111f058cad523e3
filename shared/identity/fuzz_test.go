package identity_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
)

// FuzzValidate checks that Validate never panics and accepts no token but
// the one the stand-in signed: a mutation of a signed token, an unsigned
// token or arbitrary text must all be rejected.
func FuzzValidate(f *testing.F) {
	fixture := newStandinFixture(f, testClientID)
	validator := fixture.newValidator(f)
	valid := fixture.mint(f)

	parts := strings.Split(valid, ".")
	if len(parts) != 3 {
		f.Fatalf("minted token has %d parts, want 3", len(parts))
	}
	unsignedHeader := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	hmacHeader := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT","kid":"x"}`))
	seeds := []string{
		valid,
		"",
		"Bearer " + valid,
		parts[0] + "." + parts[1] + ".",
		unsignedHeader + "." + parts[1] + ".",
		hmacHeader + "." + parts[1] + "." + parts[2],
		parts[0] + "." + parts[1] + "x." + parts[2],
		parts[0] + "." + parts[1] + "." + parts[2][:len(parts[2])-2],
		strings.Repeat("a.", 5000),
		"....",
		"eyJ9.eyJ9.e30",
	}
	for _, seed := range seeds {
		f.Add(seed)
	}

	f.Fuzz(func(t *testing.T, token string) {
		claims, err := validator.Validate(context.Background(), token)
		if err != nil {
			if claims != nil {
				t.Errorf("Validate returned claims with error %v", err)
			}
			return
		}
		if token != valid {
			t.Fatalf("Validate accepted a token the stand-in did not sign: %q", token)
		}
		if claims == nil || claims.UserID == "" {
			t.Errorf("Validate accepted the signed token without its claims: %+v", claims)
		}
	})
}
