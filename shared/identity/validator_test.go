package identity_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/bondingai/platform/shared/identity"
	"github.com/bondingai/platform/shared/workosstandin"
	"github.com/golang-jwt/jwt/v5"
)

func TestValidateStandinTokenReturnsClaims(t *testing.T) {
	f := newStandinFixture(t, testClientID)
	v := f.newValidator(t)

	claims, err := v.Validate(context.Background(), f.mint(t))
	if err != nil {
		t.Fatalf("Validate: %v", err)
	}

	if claims.UserID != f.userID {
		t.Errorf("UserID = %q, want %q", claims.UserID, f.userID)
	}
	if claims.OrganizationID != f.organizationID {
		t.Errorf("OrganizationID = %q, want %q", claims.OrganizationID, f.organizationID)
	}
	if claims.Role != workosstandin.RoleAdmin {
		t.Errorf("Role = %q, want %q", claims.Role, workosstandin.RoleAdmin)
	}
	if !slices.Equal(claims.Roles, []string{workosstandin.RoleAdmin}) {
		t.Errorf("Roles = %v, want [admin]", claims.Roles)
	}
	if !claims.HasPermission(identity.PermissionDocumentsWrite) {
		t.Errorf("Permissions = %v, want %s among them", claims.Permissions, identity.PermissionDocumentsWrite)
	}
	if !strings.HasPrefix(claims.SessionID, "session_") {
		t.Errorf("SessionID = %q, want a session_ ID", claims.SessionID)
	}
	if until := time.Until(claims.ExpiresAt); until < 4*time.Minute || until > 5*time.Minute+time.Second {
		t.Errorf("ExpiresAt is %s from now, want about 5m", until)
	}
}

func TestValidateMemberTokenLacksWritePermission(t *testing.T) {
	f := newStandinFixture(t, testClientID)
	userID, orgID := f.createMember(t, "Fabrikam", "bo@fabrikam.example", workosstandin.RoleMember)
	token, err := f.standin.MintAccessToken(workosstandin.AccessTokenRequest{UserID: userID, OrganizationID: orgID})
	if err != nil {
		t.Fatalf("mint: %v", err)
	}
	v := f.newValidator(t)

	claims, err := v.Validate(context.Background(), token.AccessToken)
	if err != nil {
		t.Fatalf("Validate: %v", err)
	}

	if claims.Role != workosstandin.RoleMember {
		t.Errorf("Role = %q, want member", claims.Role)
	}
	if claims.HasPermission(identity.PermissionDocumentsWrite) {
		t.Errorf("Permissions = %v, want no %s for a member", claims.Permissions, identity.PermissionDocumentsWrite)
	}
	if !claims.HasPermission(identity.PermissionSearchRead) {
		t.Errorf("Permissions = %v, want %s for a member", claims.Permissions, identity.PermissionSearchRead)
	}
}

// validClaims returns the claims MintAccessToken would issue now, for tests
// that change one of them.
func validClaims(f *standinFixture, now time.Time) *workosstandin.AccessTokenClaims {
	return &workosstandin.AccessTokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    f.standin.IssuerURL(),
			Subject:   f.userID,
			ID:        "jti_test",
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(5 * time.Minute)),
		},
		OrganizationID: f.organizationID,
		Role:           workosstandin.RoleAdmin,
		Roles:          []string{workosstandin.RoleAdmin},
		SessionID:      "session_test",
	}
}

func TestValidateRejectsHostileClaims(t *testing.T) {
	f := newStandinFixture(t, testClientID)
	v := f.newValidator(t)
	now := time.Now()

	cases := []struct {
		name   string
		change func(c *workosstandin.AccessTokenClaims)
	}{
		{"wrong issuer", func(c *workosstandin.AccessTokenClaims) {
			c.Issuer = "https://api.workos.com/user_management/client_other"
		}},
		{"issuer with trailing slash", func(c *workosstandin.AccessTokenClaims) { c.Issuer += "/" }},
		{"missing issuer", func(c *workosstandin.AccessTokenClaims) { c.Issuer = "" }},
		{"missing sub", func(c *workosstandin.AccessTokenClaims) { c.Subject = "" }},
		{"sub not a user ID", func(c *workosstandin.AccessTokenClaims) { c.Subject = "org_01ABC" }},
		{"sub only the prefix", func(c *workosstandin.AccessTokenClaims) { c.Subject = "user_" }},
		{"missing exp", func(c *workosstandin.AccessTokenClaims) { c.ExpiresAt = nil }},
		{"missing iat", func(c *workosstandin.AccessTokenClaims) { c.IssuedAt = nil }},
		{"nbf in the future", func(c *workosstandin.AccessTokenClaims) { c.NotBefore = jwt.NewNumericDate(now.Add(2 * time.Minute)) }},
		{"iat in the future", func(c *workosstandin.AccessTokenClaims) { c.IssuedAt = jwt.NewNumericDate(now.Add(2 * time.Minute)) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			claims := validClaims(f, now)
			tc.change(claims)
			token, err := f.standin.SignClaims(claims)
			if err != nil {
				t.Fatalf("sign: %v", err)
			}

			_, err = v.Validate(context.Background(), token)

			if !errors.Is(err, identity.ErrInvalidToken) {
				t.Errorf("Validate error = %v, want ErrInvalidToken", err)
			}
		})
	}
}

func TestValidateTimeClaimsWithinLeewayAccepted(t *testing.T) {
	f := newStandinFixture(t, testClientID)
	v := f.newValidator(t)
	now := time.Now()

	claims := validClaims(f, now)
	claims.NotBefore = jwt.NewNumericDate(now.Add(identity.LeewayDefault - 5*time.Second))
	claims.IssuedAt = jwt.NewNumericDate(now.Add(identity.LeewayDefault - 5*time.Second))
	token, err := f.standin.SignClaims(claims)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}

	if _, err := v.Validate(context.Background(), token); err != nil {
		t.Errorf("Validate error = %v, want nil for nbf and iat within the leeway", err)
	}
}

func TestValidateExpiredToken(t *testing.T) {
	f := newStandinFixture(t, testClientID)
	token := f.mint(t) // expires in 300 s
	var now time.Time
	v := f.newValidator(t, withNow(func() time.Time { return now }))

	now = time.Now().Add(300*time.Second + identity.LeewayDefault - 5*time.Second)
	if _, err := v.Validate(context.Background(), token); err != nil {
		t.Errorf("within leeway: Validate error = %v, want nil", err)
	}

	now = time.Now().Add(300*time.Second + identity.LeewayDefault + 5*time.Second)
	_, err := v.Validate(context.Background(), token)
	if !errors.Is(err, identity.ErrExpiredToken) {
		t.Errorf("past leeway: Validate error = %v, want ErrExpiredToken", err)
	}
	if errors.Is(err, identity.ErrInvalidToken) {
		t.Errorf("past leeway: Validate error = %v also matches ErrInvalidToken, want only ErrExpiredToken", err)
	}
}

func TestValidateRejectsAlgNone(t *testing.T) {
	f := newStandinFixture(t, testClientID)
	v := f.newValidator(t)
	unsigned := jwt.NewWithClaims(jwt.SigningMethodNone, validClaims(f, time.Now()))
	unsigned.Header["kid"] = currentKID(t, f)
	token, err := unsigned.SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatalf("build alg none token: %v", err)
	}

	_, err = v.Validate(context.Background(), token)

	if !errors.Is(err, identity.ErrInvalidToken) {
		t.Errorf("Validate error = %v, want ErrInvalidToken", err)
	}
}

// TestValidateRejectsHS256WithPublicKey covers the algorithm-confusion
// attack: an HMAC token keyed with the public key a verifier trusts.
func TestValidateRejectsHS256WithPublicKey(t *testing.T) {
	f := newStandinFixture(t, testClientID)
	v := f.newValidator(t)
	kid := currentKID(t, f)
	jwksBody := fetchJWKS(t, f)

	set := jwkset.NewMemoryStorage()
	var marshaled jwkset.JWKSMarshal
	if err := json.Unmarshal(jwksBody, &marshaled); err != nil {
		t.Fatalf("decode JWKS: %v", err)
	}
	jwks, err := marshaled.JWKSlice()
	if err != nil {
		t.Fatalf("read JWKS: %v", err)
	}
	for _, jwk := range jwks {
		_ = set.KeyWrite(context.Background(), jwk)
	}
	jwk, err := set.KeyRead(context.Background(), kid)
	if err != nil {
		t.Fatalf("read key %s: %v", kid, err)
	}
	der, err := x509.MarshalPKIXPublicKey(jwk.Key())
	if err != nil {
		t.Fatalf("encode public key: %v", err)
	}
	publicPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})

	secrets := map[string][]byte{"public key PEM": publicPEM, "public key DER": der, "JWKS JSON": jwksBody}
	for name, secret := range secrets {
		t.Run(name, func(t *testing.T) {
			forged := jwt.NewWithClaims(jwt.SigningMethodHS256, validClaims(f, time.Now()))
			forged.Header["kid"] = kid
			token, err := forged.SignedString(secret)
			if err != nil {
				t.Fatalf("sign HS256: %v", err)
			}

			_, err = v.Validate(context.Background(), token)

			if !errors.Is(err, identity.ErrInvalidToken) {
				t.Errorf("Validate error = %v, want ErrInvalidToken", err)
			}
		})
	}
}

func TestValidateRejectsTamperedPayload(t *testing.T) {
	f := newStandinFixture(t, testClientID)
	v := f.newValidator(t)
	_, otherOrg := f.createMember(t, "Other", "eve@other.example", workosstandin.RoleMember)
	parts := strings.Split(f.mint(t), ".")

	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("decode payload: %v", err)
	}
	tampered := strings.Replace(string(payload), f.organizationID, otherOrg, 1)
	if tampered == string(payload) {
		t.Fatalf("payload has no org_id %s to replace", f.organizationID)
	}
	token := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(tampered)) + "." + parts[2]

	_, err = v.Validate(context.Background(), token)

	if !errors.Is(err, identity.ErrInvalidToken) {
		t.Errorf("Validate error = %v, want ErrInvalidToken", err)
	}
}

func TestValidateRejectsTokenWithoutKID(t *testing.T) {
	f := newStandinFixture(t, testClientID)
	v := f.newValidator(t)
	// Correctly signed by a published key, so only the kid check rejects it.
	token, err := f.standin.SignClaimsWithHeader(validClaims(f, time.Now()), map[string]any{"kid": nil})
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	if _, found := tokenHeaderOf(t, token)["kid"]; found {
		t.Fatal("test token still has a kid header")
	}
	fetchesBefore := f.jwksFetches.Load()

	_, err = v.Validate(context.Background(), token)

	if !errors.Is(err, identity.ErrInvalidToken) {
		t.Errorf("Validate error = %v, want ErrInvalidToken", err)
	}
	if got := f.jwksFetches.Load() - fetchesBefore; got != 0 {
		t.Errorf("JWKS fetches = %d, want 0 for a token without kid", got)
	}
}

func TestValidateRejectsOtherClientKeys(t *testing.T) {
	f := newStandinFixture(t, testClientID)
	other := newStandinFixture(t, "client_other")
	// Both issuers are allowed, so only the signature can reject the token.
	v := f.newValidator(t, withIssuers(f.standin.IssuerURL(), other.standin.IssuerURL()))

	_, err := v.Validate(context.Background(), other.mint(t))

	if !errors.Is(err, identity.ErrInvalidToken) {
		t.Errorf("Validate error = %v, want ErrInvalidToken", err)
	}
}

func TestValidateRejectsGarbage(t *testing.T) {
	f := newStandinFixture(t, testClientID)
	v := f.newValidator(t)
	valid := f.mint(t)

	cases := map[string]string{
		"empty":               "",
		"word":                "hello",
		"three empty parts":   "..",
		"dots and letters":    "a.b.c",
		"four parts":          valid + ".x",
		"two parts":           valid[:strings.LastIndex(valid, ".")],
		"header not JSON":     base64.RawURLEncoding.EncodeToString([]byte("not json")) + ".e30.sig",
		"signature stripped":  valid[:strings.LastIndex(valid, ".")+1],
		"whitespace inside":   strings.Replace(valid, ".", " .", 1),
		"too long":            valid + strings.Repeat("A", identity.MaxTokenBytes),
		"bearer prefix":       "Bearer " + valid,
		"binary":              "\x00\xff\xfe.\x01.\x02",
		"signature bit flip":  flipLastSignatureChar(valid),
		"signature of other":  valid[:strings.LastIndex(valid, ".")] + "." + strings.Split(f.mint(t), ".")[2],
		"unicode":             "éé.éé.éé",
		"json instead of jwt": `{"alg":"none"}`,
	}
	for name, token := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := v.Validate(context.Background(), token)
			if !errors.Is(err, identity.ErrInvalidToken) {
				t.Errorf("Validate error = %v, want ErrInvalidToken", err)
			}
		})
	}
}

func flipLastSignatureChar(token string) string {
	last := token[len(token)-2]
	replacement := byte('A')
	if last == 'A' {
		replacement = 'B'
	}
	return token[:len(token)-2] + string(replacement) + token[len(token)-1:]
}

func TestValidateCachesJWKS(t *testing.T) {
	f := newStandinFixture(t, testClientID)
	v := f.newValidator(t)
	token := f.mint(t)

	for range 100 {
		if _, err := v.Validate(context.Background(), token); err != nil {
			t.Fatalf("Validate: %v", err)
		}
	}

	if got := f.jwksFetches.Load(); got != 1 {
		t.Errorf("JWKS fetches = %d after 100 validations, want 1 (the start-up fetch)", got)
	}
}

func TestValidateUnknownKIDRefetchesAfterRotation(t *testing.T) {
	f := newStandinFixture(t, testClientID)
	v := f.newValidator(t)
	oldToken := f.mint(t)
	if _, err := v.Validate(context.Background(), oldToken); err != nil {
		t.Fatalf("Validate before rotation: %v", err)
	}

	if _, err := f.standin.RotateKeys(); err != nil {
		t.Fatalf("rotate keys: %v", err)
	}
	rotatedToken := f.mint(t)

	if _, err := v.Validate(context.Background(), rotatedToken); err != nil {
		t.Errorf("Validate token of the new key: %v", err)
	}
	if got := f.jwksFetches.Load(); got != 2 {
		t.Errorf("JWKS fetches = %d, want 2 (start-up and one refetch for the new kid)", got)
	}
	if _, err := v.Validate(context.Background(), oldToken); err != nil {
		t.Errorf("Validate token of the retired key: %v, want valid while the key is published", err)
	}

	// A second rotation within the refetch interval: the limiter skips the
	// fetch, so the token is rejected and the fetch count stays.
	if _, err := f.standin.RotateKeys(); err != nil {
		t.Fatalf("rotate keys again: %v", err)
	}
	_, err := v.Validate(context.Background(), f.mint(t))
	if !errors.Is(err, identity.ErrInvalidToken) {
		t.Errorf("Validate within the refetch interval: error = %v, want ErrInvalidToken", err)
	}
	if got := f.jwksFetches.Load(); got != 2 {
		t.Errorf("JWKS fetches = %d after a rate-limited unknown kid, want 2", got)
	}
}

func TestValidateConcurrentUnknownKIDSharesOneFetch(t *testing.T) {
	f := newStandinFixture(t, testClientID)
	v := f.newValidator(t)
	if _, err := f.standin.RotateKeys(); err != nil {
		t.Fatalf("rotate keys: %v", err)
	}
	token := f.mint(t)

	const callers = 32
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Go(func() {
			_, err := v.Validate(context.Background(), token)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)

	for err := range errs {
		if err != nil {
			t.Errorf("Validate: %v", err)
		}
	}
	if got := f.jwksFetches.Load(); got != 2 {
		t.Errorf("JWKS fetches = %d, want 2 (start-up and one shared refetch)", got)
	}
}

func TestValidateJWKSDownAtStartIsUnavailable(t *testing.T) {
	f := newStandinFixture(t, testClientID)
	f.jwksDown.Store(true)
	v := f.newValidator(t, withRefetchInterval(20*time.Millisecond))
	token := f.mint(t)

	_, err := v.Validate(context.Background(), token)
	if !errors.Is(err, identity.ErrJWKSUnavailable) {
		t.Errorf("Validate error = %v, want ErrJWKSUnavailable", err)
	}
	if errors.Is(err, identity.ErrInvalidToken) {
		t.Errorf("Validate error = %v matches ErrInvalidToken, want only ErrJWKSUnavailable", err)
	}
	// An immediate retry is rate-limited and still has no keys.
	if _, err := v.Validate(context.Background(), token); !errors.Is(err, identity.ErrJWKSUnavailable) {
		t.Errorf("retry: Validate error = %v, want ErrJWKSUnavailable", err)
	}

	f.jwksDown.Store(false)
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err = v.Validate(context.Background(), token)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond) // poll interval, bounded by the deadline
	}
	if err != nil {
		t.Errorf("Validate after the JWKS recovered: %v, want nil", err)
	}
}

func TestValidateKeepsLastGoodKeysWhenFetchFails(t *testing.T) {
	f := newStandinFixture(t, testClientID)
	v := f.newValidator(t)
	token := f.mint(t)
	if _, err := v.Validate(context.Background(), token); err != nil {
		t.Fatalf("Validate: %v", err)
	}

	f.jwksDown.Store(true)
	if _, err := f.standin.RotateKeys(); err != nil {
		t.Fatalf("rotate keys: %v", err)
	}
	_, err := v.Validate(context.Background(), f.mint(t))
	if !errors.Is(err, identity.ErrJWKSUnavailable) {
		t.Errorf("token of a new key during the outage: error = %v, want ErrJWKSUnavailable", err)
	}
	if got := f.jwksFetches.Load(); got != 2 {
		t.Errorf("JWKS fetches = %d, want 2 (start-up and the failed refetch)", got)
	}

	if _, err := v.Validate(context.Background(), token); err != nil {
		t.Errorf("token of a cached key after the failed fetch: %v, want nil", err)
	}
}

func TestNewValidatorRejectsInvalidConfig(t *testing.T) {
	client := &http.Client{}
	cases := map[string]identity.ValidatorConfig{
		"missing JWKS URL":    {Issuers: []string{"https://api.workos.com/"}, HTTPClient: client},
		"relative JWKS URL":   {JWKSURL: "/sso/jwks/client_1", Issuers: []string{"https://api.workos.com/"}, HTTPClient: client},
		"missing issuers":     {JWKSURL: "https://api.workos.com/sso/jwks/client_1", HTTPClient: client},
		"empty issuer":        {JWKSURL: "https://api.workos.com/sso/jwks/client_1", Issuers: []string{" "}, HTTPClient: client},
		"missing HTTP client": {JWKSURL: "https://api.workos.com/sso/jwks/client_1", Issuers: []string{"https://api.workos.com/"}},
		"negative leeway":     {JWKSURL: "https://api.workos.com/sso/jwks/client_1", Issuers: []string{"https://api.workos.com/"}, HTTPClient: client, Leeway: -time.Second},
	}
	for name, cfg := range cases {
		t.Run(name, func(t *testing.T) {
			v, err := identity.NewValidator(cfg)
			if err == nil {
				v.Close()
				t.Fatal("NewValidator error = nil, want a configuration error")
			}
		})
	}
}

func currentKID(t *testing.T, f *standinFixture) string {
	t.Helper()
	token, _, err := jwt.NewParser().ParseUnverified(f.mint(t), &jwt.RegisteredClaims{})
	if err != nil {
		t.Fatalf("parse minted token: %v", err)
	}
	kid, _ := token.Header["kid"].(string)
	if kid == "" {
		t.Fatal("minted token has no kid")
	}
	return kid
}

func tokenHeaderOf(t *testing.T, token string) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	if err != nil {
		t.Fatalf("decode token header: %v", err)
	}
	var header map[string]any
	if err := json.Unmarshal(raw, &header); err != nil {
		t.Fatalf("parse token header: %v", err)
	}
	return header
}

func fetchJWKS(t *testing.T, f *standinFixture) []byte {
	t.Helper()
	resp, err := f.server.Client().Get(f.standin.JWKSURL())
	if err != nil {
		t.Fatalf("fetch JWKS: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read JWKS: %v", err)
	}
	return body
}
