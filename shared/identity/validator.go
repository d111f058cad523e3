package identity

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// Defaults of ValidatorConfig.
const (
	// LeewayDefault is the clock skew allowed on exp, nbf and iat.
	LeewayDefault = 30 * time.Second
	// JWKSRefreshIntervalDefault is how often the JWKS is fetched in the
	// background. WorkOS publishes no rotation schedule; an unknown key ID
	// triggers an earlier fetch.
	JWKSRefreshIntervalDefault = time.Hour
	// UnknownKIDRefetchIntervalDefault is the minimum time between two JWKS
	// fetches triggered by tokens with unknown key IDs.
	UnknownKIDRefetchIntervalDefault = time.Minute
	// JWKSFetchTimeoutDefault bounds one JWKS fetch.
	JWKSFetchTimeoutDefault = 10 * time.Second
)

// MaxTokenBytes is the largest access token Validate parses. AuthKit tokens
// are about 1 KB; the bound keeps hostile input from costing parse time.
const MaxTokenBytes = 8 << 10

// userIDPrefix starts every AuthKit user ID.
const userIDPrefix = "user_"

// ValidatorConfig configures a Validator.
type ValidatorConfig struct {
	// JWKSURL is the WorkOS JWKS of the client ID, built by the caller with
	// workos-go's usermanagement.GetJWKSURL: {API base}/sso/jwks/{client ID}.
	// Required.
	JWKSURL string
	// Issuers lists the accepted iss values. WorkOS uses different issuers
	// per environment (https://api.workos.com/, {base}/user_management/{client
	// ID}, or a custom auth domain), so each deployment lists its own.
	// Required.
	Issuers []string
	// Leeway is the clock skew allowed on exp, nbf and iat. Zero means
	// LeewayDefault.
	Leeway time.Duration
	// HTTPClient fetches the JWKS. Required, so the fetch goes through the
	// platform's egress policy.
	HTTPClient *http.Client
	// Now returns the current time for the time claims. Defaults to time.Now.
	Now func() time.Time
	// JWKSRefreshInterval is the background JWKS refresh period. Zero means
	// JWKSRefreshIntervalDefault.
	JWKSRefreshInterval time.Duration
	// UnknownKIDRefetchInterval is the minimum time between JWKS fetches
	// triggered by unknown key IDs. Zero means
	// UnknownKIDRefetchIntervalDefault.
	UnknownKIDRefetchInterval time.Duration
	// JWKSFetchTimeout bounds one JWKS fetch. Zero means
	// JWKSFetchTimeoutDefault.
	JWKSFetchTimeout time.Duration
	// Logger receives JWKS fetch failures and rejected tokens, never the
	// tokens themselves. Defaults to slog.Default().
	Logger *slog.Logger
}

// Validator validates WorkOS AuthKit access tokens against a cached JWKS. It
// is safe for concurrent use. Create one per process: each Validator fetches
// the JWKS at start and keeps a background refresh running until Close.
type Validator struct {
	parser  *jwt.Parser
	keyfunc keyfunc.Keyfunc
	issuers map[string]bool
	logger  *slog.Logger
	cancel  context.CancelFunc
}

// accessTokenClaims are the AuthKit access-token claims Validate reads.
type accessTokenClaims struct {
	jwt.RegisteredClaims
	OrganizationID string   `json:"org_id"`
	Role           string   `json:"role"`
	Roles          []string `json:"roles"`
	Permissions    []string `json:"permissions"`
	SessionID      string   `json:"sid"`
}

// NewValidator checks cfg, fetches the JWKS once and starts the background
// refresh. A failed first fetch is logged, not returned, so the process can
// start while WorkOS is unreachable; Validate then fetches again.
func NewValidator(cfg ValidatorConfig) (*Validator, error) {
	var problems []error
	if u, err := url.Parse(cfg.JWKSURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		problems = append(problems, fmt.Errorf("JWKS URL %q is invalid: want an absolute http or https URL", cfg.JWKSURL))
	}
	if len(cfg.Issuers) == 0 {
		problems = append(problems, errors.New("issuers are missing: list the iss values of the WorkOS environment"))
	}
	for _, issuer := range cfg.Issuers {
		if strings.TrimSpace(issuer) == "" {
			problems = append(problems, errors.New("issuers contain an empty value"))
		}
	}
	if cfg.HTTPClient == nil {
		problems = append(problems, errors.New("HTTP client is missing"))
	}
	if cfg.Leeway < 0 {
		problems = append(problems, fmt.Errorf("leeway %s is negative", cfg.Leeway))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("configure access-token validator: %w", errors.Join(problems...))
	}

	if cfg.Leeway == 0 {
		cfg.Leeway = LeewayDefault
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.JWKSRefreshInterval <= 0 {
		cfg.JWKSRefreshInterval = JWKSRefreshIntervalDefault
	}
	if cfg.UnknownKIDRefetchInterval <= 0 {
		cfg.UnknownKIDRefetchInterval = UnknownKIDRefetchIntervalDefault
	}
	if cfg.JWKSFetchTimeout <= 0 {
		cfg.JWKSFetchTimeout = JWKSFetchTimeoutDefault
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}

	ctx, cancel := context.WithCancel(context.Background())
	keys := &keySet{
		cache:   jwkset.NewMemoryStorage(),
		limiter: rate.NewLimiter(rate.Every(cfg.UnknownKIDRefetchInterval), 1),
		url:     cfg.JWKSURL,
		logger:  cfg.Logger,
	}
	remote, err := jwkset.NewStorageFromHTTP(cfg.JWKSURL, jwkset.HTTPClientStorageOptions{
		Client:                    cfg.HTTPClient,
		Ctx:                       ctx,
		HTTPTimeout:               cfg.JWKSFetchTimeout,
		NoErrorReturnFirstHTTPReq: true,
		RefreshErrorHandler:       keys.refreshError,
		RefreshInterval:           cfg.JWKSRefreshInterval,
		Storage:                   keys.cache,
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("create JWKS client for %s: %w", cfg.JWKSURL, err)
	}
	// keySet applies the refetch rate limit itself, without blocking, so
	// the jwkset limiter lets every refetch through and RateLimitWaitMax
	// only bounds the fetch.
	keys.Storage, err = jwkset.NewHTTPClient(jwkset.HTTPClientOptions{
		HTTPURLs:          map[string]jwkset.Storage{cfg.JWKSURL: remote},
		RateLimitWaitMax:  cfg.JWKSFetchTimeout,
		RefreshUnknownKID: rate.NewLimiter(rate.Inf, 1),
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("create JWKS client for %s: %w", cfg.JWKSURL, err)
	}

	kf, err := keyfunc.New(keyfunc.Options{
		Ctx:          ctx,
		Storage:      keys,
		UseWhitelist: []jwkset.USE{jwkset.UseSig},
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("create keyfunc for %s: %w", cfg.JWKSURL, err)
	}

	issuers := make(map[string]bool, len(cfg.Issuers))
	for _, issuer := range cfg.Issuers {
		issuers[issuer] = true
	}

	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithTimeFunc(cfg.Now),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
	)

	return &Validator{parser: parser, keyfunc: kf, issuers: issuers, logger: cfg.Logger, cancel: cancel}, nil
}

// Close stops the background JWKS refresh. Validate keeps working on the
// cached keys after Close.
func (v *Validator) Close() {
	v.cancel()
}

// Validate checks an access token and returns its claims. The token must be
// an RS256 JWS whose kid header names a key of the JWKS and whose signature
// verifies. Its iss must be in the allow-list and its sub must be an AuthKit
// user ID. exp and iat are required, and exp, iat and nbf (when present) are
// checked with the leeway. Authenticate, not Validate, requires org_id.
//
// Errors match ErrExpiredToken, ErrJWKSUnavailable or ErrInvalidToken.
func (v *Validator) Validate(ctx context.Context, token string) (*Claims, error) {
	if token == "" {
		return nil, fmt.Errorf("validate access token: %w: empty token", ErrInvalidToken)
	}
	if len(token) > MaxTokenBytes {
		return nil, fmt.Errorf("validate access token: %w: %d bytes exceed the limit of %d", ErrInvalidToken, len(token), MaxTokenBytes)
	}

	var claims accessTokenClaims
	_, err := v.parser.ParseWithClaims(token, &claims, v.keyfuncFor(ctx))
	switch {
	case errors.Is(err, ErrJWKSUnavailable):
		return nil, fmt.Errorf("validate access token: %w", err)
	case errors.Is(err, jwt.ErrTokenExpired):
		return nil, fmt.Errorf("validate access token: %w: %w", ErrExpiredToken, err)
	case err != nil:
		return nil, fmt.Errorf("validate access token: %w: %w", ErrInvalidToken, err)
	}

	if !v.issuers[claims.Issuer] {
		return nil, fmt.Errorf("validate access token: %w: issuer %q is not in the allow-list", ErrInvalidToken, truncate(claims.Issuer))
	}
	if claims.IssuedAt == nil {
		return nil, fmt.Errorf("validate access token: %w: iat claim is missing", ErrInvalidToken)
	}
	if !strings.HasPrefix(claims.Subject, userIDPrefix) || len(claims.Subject) == len(userIDPrefix) {
		return nil, fmt.Errorf("validate access token: %w: sub %q is not an AuthKit user ID", ErrInvalidToken, truncate(claims.Subject))
	}

	return &Claims{
		UserID:         claims.Subject,
		OrganizationID: claims.OrganizationID,
		Role:           claims.Role,
		Roles:          claims.Roles,
		Permissions:    claims.Permissions,
		SessionID:      claims.SessionID,
		ExpiresAt:      claims.ExpiresAt.Time,
	}, nil
}

// keyfuncFor returns the jwt.Keyfunc of one Validate call. It requires a kid
// header: without one, keyfunc would try every key in the set.
func (v *Validator) keyfuncFor(ctx context.Context) jwt.Keyfunc {
	lookup := v.keyfunc.KeyfuncCtx(ctx)
	return func(token *jwt.Token) (any, error) {
		kid, ok := token.Header["kid"].(string)
		if !ok || kid == "" {
			return nil, errors.New("kid header is missing")
		}
		return lookup(token)
	}
}

// truncate shortens a claim value taken from an untrusted token before it
// goes into an error message.
func truncate(value string) string {
	const maxLength = 64
	if len(value) <= maxLength {
		return value
	}
	return value[:maxLength] + "…"
}
