// Package config loads the platform's settings from the environment. In
// Azure they are the function app's application settings; locally they are
// the Values of local.settings.json, which the Functions host exports to the
// handler process. Every missing or invalid setting is reported at start-up
// by name, all at once.
package config

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Defaults, applied in Load.
const (
	EmbeddingBatchSizeDefault        = 16
	EmbeddingMaxDeliveryCountDefault = 10
	WorkOSAPIBaseURLDefault          = "https://api.workos.com"
	TokenLeewayDefault               = 30 * time.Second
	MaxUploadBytesDefault            = 100 << 20
	AzureOpenAIAPIVersionDefault     = "2024-10-21"
	ChatRequestTimeoutDefault        = 60 * time.Second
	WebhookToleranceDefault          = 3 * time.Minute
	EventsPageSizeDefault            = 100
	EventsMaxPagesDefault            = 50
	AnalyticsLatenessDefault         = 2 * time.Hour

	MaxDocumentsPerOrganizationDefault = 10000
	MaxRequestBodyBytesDefault         = 1 << 20
	RateLimitWindowDefault             = time.Minute
	RateLimitChatPerUserDefault        = 20
	RateLimitChatPerOrgDefault         = 600
	RateLimitSearchPerUserDefault      = 60
	RateLimitSearchPerOrgDefault       = 1200
	RateLimitUploadPerUserDefault      = 30
	RateLimitUploadPerOrgDefault       = 300
)

// Embedding providers.
const (
	EmbeddingProviderUSELite          = "use-lite"
	EmbeddingProviderAzureOpenAI      = "azure-openai"
	EmbeddingProviderOpenAICompatible = "openai-compatible"
)

// Chat model providers. With ChatProviderNone no language model is
// configured.
const (
	ChatProviderNone             = "none"
	ChatProviderAzureOpenAI      = "azure-openai"
	ChatProviderOpenAICompatible = "openai-compatible"
)

// Config is every setting the handler reads.
type Config struct {
	// DatabaseURL is the PostgreSQL URL the functions connect with
	// (DATABASE_URL). Its role must not own the tables.
	DatabaseURL string
	// MigrationDatabaseURL is the URL of the role that owns the schema and
	// applies migrations (DATABASE_MIGRATION_URL); only "handler migrate"
	// needs it.
	MigrationDatabaseURL string

	// DocumentStorage is the Blob Storage connection for uploaded
	// documents. The blob trigger binding names the same setting.
	DocumentStorage StorageConnection

	// ServiceBus is the Service Bus connection (ServiceBusConnection).
	ServiceBus ServiceBusConnection
	// EmbeddingBatchSize is the number of chunks one embedding job embeds
	// (EMBEDDING_BATCH_SIZE).
	EmbeddingBatchSize int
	// EmbeddingMaxDeliveryCount is the embedding queue's MaxDeliveryCount
	// (EMBEDDING_MAX_DELIVERY_COUNT). On the last delivery a failing job
	// marks its document failed before the message is dead-lettered, so
	// keep it equal to the queue's setting in Service Bus.
	EmbeddingMaxDeliveryCount int

	// WorkOS holds the identity provider settings.
	WorkOS WorkOS

	// Session configures browser sign-in and the session cookie.
	Session Session

	// DirectorySync configures the identity sync and the WorkOS webhook.
	DirectorySync DirectorySync

	// Embedding selects and configures the embedding model.
	Embedding Embedding

	// Chat selects and configures the chat language model.
	Chat Chat

	// Analytics configures usage rollups and the KPI cost estimate.
	Analytics Analytics

	// PDFiumCacheDir keeps the compiled PDFium WebAssembly module between
	// process starts (PDFIUM_CACHE_DIR); empty means compile on every start.
	PDFiumCacheDir string
	// MaxUploadBytes caps one uploaded file (MAX_UPLOAD_BYTES).
	MaxUploadBytes int64

	// Limits holds the request limits that protect the deployment from
	// one noisy or hostile caller.
	Limits Limits
}

// StorageConnection is a Blob Storage connection: a connection string, or a
// service URI used with a managed identity (<Setting>__blobServiceUri).
type StorageConnection struct {
	ConnectionString string
	BlobServiceURI   string
}

// ServiceBusConnection is a Service Bus connection. LocalQueueURL is set
// instead when the setting holds a PostgreSQL URL, which selects the local
// stand-in queue used where no Service Bus namespace exists.
type ServiceBusConnection struct {
	ConnectionString        string
	FullyQualifiedNamespace string
	LocalQueueURL           string
}

// WorkOS holds the settings for WorkOS, the platform's identity provider.
type WorkOS struct {
	// APIBaseURL is the WorkOS API (WORKOS_API_BASE_URL); local runs point
	// it at the WorkOS stand-in.
	APIBaseURL string
	// ClientID is the environment's client id (WORKOS_CLIENT_ID).
	ClientID string
	// APIKey is the secret API key (WORKOS_API_KEY).
	APIKey string
	// Issuers are the accepted access-token issuers (WORKOS_ISSUERS, comma
	// separated). WorkOS environments differ in the issuer they sign with,
	// so the default accepts the documented forms for APIBaseURL.
	Issuers []string
	// TokenLeeway is the clock skew allowed on token times (WORKOS_TOKEN_LEEWAY).
	TokenLeeway time.Duration
}

// JWKSURL returns the key set URL for the client, as WorkOS publishes it.
func (w WorkOS) JWKSURL() string {
	return w.APIBaseURL + "/sso/jwks/" + url.PathEscape(w.ClientID)
}

// SessionCookieKeySize is the length of a session cookie key in bytes.
const SessionCookieKeySize = 32

// Session configures AuthKit browser sign-in and the sealed session cookie.
type Session struct {
	// CookieKey seals the session and login cookies (SESSION_COOKIE_KEY,
	// 32 bytes in base64).
	CookieKey []byte
	// PreviousCookieKey still opens cookies sealed before a key rotation
	// (SESSION_COOKIE_PREVIOUS_KEY, optional); nil when unset.
	PreviousCookieKey []byte
	// RedirectURI is the callback URL WorkOS sends the browser back to,
	// this platform's /api/auth/callback (AUTH_REDIRECT_URI). It must be
	// listed as a redirect URI of the WorkOS environment.
	RedirectURI string
	// PublicBaseURL is the origin browsers load the platform from
	// (PUBLIC_BASE_URL, default: the origin of AUTH_REDIRECT_URI). The
	// CSRF check compares the Origin header with it, and logout returns
	// there.
	PublicBaseURL string
}

// Embedding configures the embedding model.
type Embedding struct {
	// Provider is use-lite (offline, the default), azure-openai or
	// openai-compatible (EMBEDDING_PROVIDER).
	Provider string
	// ModelDir holds the USE-lite weights (EMBEDDING_MODEL_DIR).
	ModelDir string

	AzureOpenAIEndpoint   string // AZURE_OPENAI_ENDPOINT
	AzureOpenAIAPIKey     string // AZURE_OPENAI_API_KEY; empty means Entra ID
	AzureOpenAIDeployment string // AZURE_OPENAI_EMBEDDING_DEPLOYMENT
	AzureOpenAIAPIVersion string // AZURE_OPENAI_API_VERSION

	OpenAIBaseURL string // OPENAI_BASE_URL
	OpenAIAPIKey  string // OPENAI_API_KEY
	OpenAIModel   string // OPENAI_EMBEDDING_MODEL
	// Dimensions is the vector length of an HTTP model
	// (EMBEDDING_DIMENSIONS): 1536 for text-embedding-3-small.
	Dimensions int
}

// Chat configures the chat language model. It reads the same endpoint, key
// and api-version settings as Embedding, so one Azure OpenAI resource or
// OpenAI-compatible server can serve both.
type Chat struct {
	// Provider is none (the default: no language model), azure-openai or
	// openai-compatible (CHAT_PROVIDER).
	Provider string

	AzureOpenAIEndpoint   string // AZURE_OPENAI_ENDPOINT
	AzureOpenAIAPIKey     string // AZURE_OPENAI_API_KEY; empty means Entra ID
	AzureOpenAIDeployment string // AZURE_OPENAI_CHAT_DEPLOYMENT
	AzureOpenAIAPIVersion string // AZURE_OPENAI_API_VERSION

	OpenAIBaseURL string // OPENAI_BASE_URL
	OpenAIAPIKey  string // OPENAI_API_KEY
	OpenAIModel   string // OPENAI_CHAT_MODEL

	// RequestTimeout bounds one HTTP attempt to the model, streaming
	// included (CHAT_REQUEST_TIMEOUT).
	RequestTimeout time.Duration
}

// Load reads the configuration through getenv (os.Getenv in production).
func Load(getenv func(string) string) (*Config, error) {
	r := reader{getenv: getenv}
	cfg := &Config{
		DatabaseURL:               r.required("DATABASE_URL"),
		MigrationDatabaseURL:      r.optional("DATABASE_MIGRATION_URL", ""),
		EmbeddingBatchSize:        r.positiveInt("EMBEDDING_BATCH_SIZE", EmbeddingBatchSizeDefault),
		EmbeddingMaxDeliveryCount: r.positiveInt("EMBEDDING_MAX_DELIVERY_COUNT", EmbeddingMaxDeliveryCountDefault),
		PDFiumCacheDir:            r.optional("PDFIUM_CACHE_DIR", ""),
		MaxUploadBytes:            int64(r.positiveInt("MAX_UPLOAD_BYTES", MaxUploadBytesDefault)),
	}
	cfg.DocumentStorage = r.storage("DocumentStorage")
	cfg.ServiceBus = r.serviceBus("ServiceBusConnection")
	cfg.WorkOS = r.workOS()
	cfg.Session = r.session()
	cfg.DirectorySync = r.directorySync()
	cfg.Embedding = r.embedding()
	cfg.Chat = r.chat()
	cfg.Analytics = r.analytics()
	cfg.Limits = r.limits()
	if err := errors.Join(r.errs...); err != nil {
		return nil, fmt.Errorf("invalid configuration:\n%w", err)
	}
	return cfg, nil
}

// reader collects every problem instead of stopping at the first one.
type reader struct {
	getenv func(string) string
	errs   []error
}

func (r *reader) fail(name, format string, args ...any) {
	r.errs = append(r.errs, fmt.Errorf("setting %s: %s", name, fmt.Sprintf(format, args...)))
}

func (r *reader) optional(name, fallback string) string {
	if v := strings.TrimSpace(r.getenv(name)); v != "" {
		return v
	}
	return fallback
}

func (r *reader) required(name string) string {
	v := strings.TrimSpace(r.getenv(name))
	if v == "" {
		r.fail(name, "missing")
	}
	return v
}

func (r *reader) positiveInt(name string, fallback int) int {
	v := strings.TrimSpace(r.getenv(name))
	if v == "" {
		return fallback
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		r.fail(name, "invalid value %q: want a positive integer", v)
		return fallback
	}
	return n
}

func (r *reader) duration(name string, fallback time.Duration) time.Duration {
	v := strings.TrimSpace(r.getenv(name))
	if v == "" {
		return fallback
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		r.fail(name, "invalid value %q: want a duration such as 30s", v)
		return fallback
	}
	return d
}

func (r *reader) absoluteURL(name, value string) string {
	u, err := url.Parse(value)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		r.fail(name, "invalid URL %q: want an absolute http or https URL", value)
		return value
	}
	return strings.TrimSuffix(value, "/")
}

func (r *reader) storage(name string) StorageConnection {
	conn := StorageConnection{
		ConnectionString: strings.TrimSpace(r.getenv(name)),
		BlobServiceURI:   strings.TrimSpace(r.getenv(name + "__blobServiceUri")),
	}
	if conn.BlobServiceURI == "" {
		conn.BlobServiceURI = strings.TrimSpace(r.getenv(name + "__serviceUri"))
	}
	switch {
	case conn.ConnectionString == "" && conn.BlobServiceURI == "":
		r.fail(name, "missing: set a connection string, or %s__blobServiceUri for a managed identity", name)
	case conn.BlobServiceURI != "":
		conn.BlobServiceURI = r.absoluteURL(name+"__blobServiceUri", conn.BlobServiceURI)
	}
	return conn
}

func (r *reader) serviceBus(name string) ServiceBusConnection {
	value := strings.TrimSpace(r.getenv(name))
	conn := ServiceBusConnection{FullyQualifiedNamespace: strings.TrimSpace(r.getenv(name + "__fullyQualifiedNamespace"))}
	switch {
	case strings.HasPrefix(value, "postgres://"), strings.HasPrefix(value, "postgresql://"):
		conn.LocalQueueURL = value
	case value != "":
		if !strings.Contains(value, "Endpoint=sb://") {
			r.fail(name, "invalid value: want a Service Bus connection string (Endpoint=sb://...) or, for the local stand-in queue, a postgres:// URL")
		}
		conn.ConnectionString = value
	case conn.FullyQualifiedNamespace == "":
		r.fail(name, "missing: set a connection string, or %s__fullyQualifiedNamespace for a managed identity", name)
	}
	return conn
}

func (r *reader) workOS() WorkOS {
	w := WorkOS{
		APIBaseURL:  r.absoluteURL("WORKOS_API_BASE_URL", r.optional("WORKOS_API_BASE_URL", WorkOSAPIBaseURLDefault)),
		ClientID:    r.required("WORKOS_CLIENT_ID"),
		APIKey:      r.optional("WORKOS_API_KEY", ""),
		TokenLeeway: r.duration("WORKOS_TOKEN_LEEWAY", TokenLeewayDefault),
	}
	if list := r.optional("WORKOS_ISSUERS", ""); list != "" {
		for _, issuer := range strings.Split(list, ",") {
			if issuer = strings.TrimSpace(issuer); issuer != "" {
				w.Issuers = append(w.Issuers, issuer)
			}
		}
	} else {
		// The issuer forms WorkOS documents: the API origin with and without
		// a trailing slash, and, for environments created since mid-2025,
		// the client's user-management path.
		w.Issuers = []string{w.APIBaseURL, w.APIBaseURL + "/", w.APIBaseURL + "/user_management/" + w.ClientID}
	}
	return w
}

func (r *reader) embedding() Embedding {
	e := Embedding{
		Provider:              r.optional("EMBEDDING_PROVIDER", EmbeddingProviderUSELite),
		ModelDir:              r.optional("EMBEDDING_MODEL_DIR", ""),
		AzureOpenAIEndpoint:   r.optional("AZURE_OPENAI_ENDPOINT", ""),
		AzureOpenAIAPIKey:     r.optional("AZURE_OPENAI_API_KEY", ""),
		AzureOpenAIDeployment: r.optional("AZURE_OPENAI_EMBEDDING_DEPLOYMENT", ""),
		AzureOpenAIAPIVersion: r.optional("AZURE_OPENAI_API_VERSION", AzureOpenAIAPIVersionDefault),
		OpenAIBaseURL:         r.optional("OPENAI_BASE_URL", ""),
		OpenAIAPIKey:          r.optional("OPENAI_API_KEY", ""),
		OpenAIModel:           r.optional("OPENAI_EMBEDDING_MODEL", ""),
		Dimensions:            r.positiveInt("EMBEDDING_DIMENSIONS", 1536),
	}
	switch e.Provider {
	case EmbeddingProviderUSELite:
		if e.ModelDir == "" {
			r.fail("EMBEDDING_MODEL_DIR", "missing: the use-lite provider needs the folder holding model.json (scripts/dev downloads it)")
		}
	case EmbeddingProviderAzureOpenAI:
		if e.AzureOpenAIEndpoint == "" {
			r.fail("AZURE_OPENAI_ENDPOINT", "missing: required when EMBEDDING_PROVIDER is azure-openai")
		} else {
			e.AzureOpenAIEndpoint = r.absoluteURL("AZURE_OPENAI_ENDPOINT", e.AzureOpenAIEndpoint)
		}
		if e.AzureOpenAIDeployment == "" {
			r.fail("AZURE_OPENAI_EMBEDDING_DEPLOYMENT", "missing: required when EMBEDDING_PROVIDER is azure-openai")
		}
	case EmbeddingProviderOpenAICompatible:
		if e.OpenAIBaseURL == "" {
			r.fail("OPENAI_BASE_URL", "missing: required when EMBEDDING_PROVIDER is openai-compatible")
		} else {
			e.OpenAIBaseURL = r.absoluteURL("OPENAI_BASE_URL", e.OpenAIBaseURL)
		}
		if e.OpenAIModel == "" {
			r.fail("OPENAI_EMBEDDING_MODEL", "missing: required when EMBEDDING_PROVIDER is openai-compatible")
		}
	default:
		r.fail("EMBEDDING_PROVIDER", "invalid value %q: want use-lite, azure-openai or openai-compatible", e.Provider)
	}
	return e
}

func (r *reader) session() Session {
	s := Session{
		CookieKey:   r.cookieKey("SESSION_COOKIE_KEY", r.required("SESSION_COOKIE_KEY")),
		RedirectURI: r.required("AUTH_REDIRECT_URI"),
	}
	if previous := r.optional("SESSION_COOKIE_PREVIOUS_KEY", ""); previous != "" {
		s.PreviousCookieKey = r.cookieKey("SESSION_COOKIE_PREVIOUS_KEY", previous)
	}
	if s.RedirectURI != "" {
		s.RedirectURI = r.absoluteURL("AUTH_REDIRECT_URI", s.RedirectURI)
	}
	if base := r.optional("PUBLIC_BASE_URL", ""); base != "" {
		s.PublicBaseURL = r.absoluteURL("PUBLIC_BASE_URL", base)
	} else if u, err := url.Parse(s.RedirectURI); err == nil && u.Host != "" {
		s.PublicBaseURL = u.Scheme + "://" + u.Host
	}
	return s
}

// cookieKey decodes a 32-byte key given in standard or URL-safe base64,
// with or without padding. It reports a problem without the value, which
// is a secret.
func (r *reader) cookieKey(name, value string) []byte {
	if value == "" {
		return nil
	}
	for _, encoding := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		key, err := encoding.DecodeString(value)
		if err != nil {
			continue
		}
		if len(key) != SessionCookieKeySize {
			r.fail(name, "invalid value: decodes to %d bytes, want %d (create one with: openssl rand -base64 32)", len(key), SessionCookieKeySize)
			return nil
		}
		return key
	}
	r.fail(name, "invalid value: want %d bytes in base64 (create one with: openssl rand -base64 32)", SessionCookieKeySize)
	return nil
}

func (r *reader) chat() Chat {
	c := Chat{
		Provider:       r.optional("CHAT_PROVIDER", ChatProviderNone),
		RequestTimeout: r.duration("CHAT_REQUEST_TIMEOUT", ChatRequestTimeoutDefault),
	}
	if c.RequestTimeout == 0 {
		r.fail("CHAT_REQUEST_TIMEOUT", "invalid value %q: want a positive duration such as 60s", r.getenv("CHAT_REQUEST_TIMEOUT"))
		c.RequestTimeout = ChatRequestTimeoutDefault
	}
	switch c.Provider {
	case ChatProviderNone:
	case ChatProviderAzureOpenAI:
		c.AzureOpenAIEndpoint = r.optional("AZURE_OPENAI_ENDPOINT", "")
		c.AzureOpenAIAPIKey = r.optional("AZURE_OPENAI_API_KEY", "")
		c.AzureOpenAIDeployment = r.optional("AZURE_OPENAI_CHAT_DEPLOYMENT", "")
		c.AzureOpenAIAPIVersion = r.optional("AZURE_OPENAI_API_VERSION", AzureOpenAIAPIVersionDefault)
		if c.AzureOpenAIEndpoint == "" {
			r.fail("AZURE_OPENAI_ENDPOINT", "missing: required when CHAT_PROVIDER is azure-openai")
		} else {
			c.AzureOpenAIEndpoint = r.absoluteURL("AZURE_OPENAI_ENDPOINT", c.AzureOpenAIEndpoint)
		}
		if c.AzureOpenAIDeployment == "" {
			r.fail("AZURE_OPENAI_CHAT_DEPLOYMENT", "missing: required when CHAT_PROVIDER is azure-openai (the name of the chat model deployment)")
		}
	case ChatProviderOpenAICompatible:
		c.OpenAIBaseURL = r.optional("OPENAI_BASE_URL", "")
		c.OpenAIAPIKey = r.optional("OPENAI_API_KEY", "")
		c.OpenAIModel = r.optional("OPENAI_CHAT_MODEL", "")
		if c.OpenAIBaseURL == "" {
			r.fail("OPENAI_BASE_URL", "missing: required when CHAT_PROVIDER is openai-compatible")
		} else {
			c.OpenAIBaseURL = r.absoluteURL("OPENAI_BASE_URL", c.OpenAIBaseURL)
		}
		if c.OpenAIModel == "" {
			r.fail("OPENAI_CHAT_MODEL", "missing: required when CHAT_PROVIDER is openai-compatible")
		}
	default:
		r.fail("CHAT_PROVIDER", "invalid value %q: want none, azure-openai or openai-compatible", c.Provider)
	}
	return c
}

// eventsPageSizeMax is the largest page the WorkOS Events API serves.
const eventsPageSizeMax = 100

// DirectorySync configures the sync of the identity mirror from the WorkOS
// Events API and the webhook endpoint that makes it run sooner.
type DirectorySync struct {
	// WebhookSecrets are the webhook endpoint's signing secrets
	// (WORKOS_WEBHOOK_SECRET, comma separated). During a secret rotation
	// list the new and the old secret.
	WebhookSecrets []string
	// WebhookTolerance is the accepted difference between a delivery's
	// signed timestamp and the clock, past or future (WORKOS_WEBHOOK_TOLERANCE).
	WebhookTolerance time.Duration
	// EventsPageSize is the number of events per Events API request, 1 to
	// 100 (WORKOS_EVENTS_PAGE_SIZE).
	EventsPageSize int
	// EventsMaxPages bounds the pages one sync run reads
	// (WORKOS_EVENTS_MAX_PAGES); the next run continues from the cursor.
	EventsMaxPages int
}

func (r *reader) directorySync() DirectorySync {
	d := DirectorySync{
		WebhookTolerance: r.duration("WORKOS_WEBHOOK_TOLERANCE", WebhookToleranceDefault),
		EventsPageSize:   r.positiveInt("WORKOS_EVENTS_PAGE_SIZE", EventsPageSizeDefault),
		EventsMaxPages:   r.positiveInt("WORKOS_EVENTS_MAX_PAGES", EventsMaxPagesDefault),
	}
	for _, secret := range strings.Split(r.required("WORKOS_WEBHOOK_SECRET"), ",") {
		if secret = strings.TrimSpace(secret); secret != "" {
			d.WebhookSecrets = append(d.WebhookSecrets, secret)
		}
	}
	if d.EventsPageSize > eventsPageSizeMax {
		r.fail("WORKOS_EVENTS_PAGE_SIZE", "invalid value %d: WorkOS serves at most %d events per page", d.EventsPageSize, eventsPageSizeMax)
	}
	if d.WebhookTolerance == 0 {
		r.fail("WORKOS_WEBHOOK_TOLERANCE", "invalid value 0: want a duration such as 3m")
	}
	return d
}

// Analytics configures usage analytics.
type Analytics struct {
	// Lateness is how long after an hour ends its usage events may still
	// arrive and be counted (ANALYTICS_LATENESS); until then the hour's
	// rollup is recomputed on every scheduler run.
	Lateness time.Duration
	// Prices are the token prices per chat model for the cost estimate
	// (ANALYTICS_PRICES, JSON); a model without a price costs zero.
	Prices map[string]ModelPrice
}

// ModelPrice is a chat model's price per 1,000 tokens, in the currency the
// administrator chose.
type ModelPrice struct {
	PromptPer1K     float64 `json:"prompt_per_1k"`
	CompletionPer1K float64 `json:"completion_per_1k"`
}

// ParseModelPrices parses ANALYTICS_PRICES, such as
// {"gpt-4o": {"prompt_per_1k": 0.0025, "completion_per_1k": 0.01}}.
func ParseModelPrices(value string) (map[string]ModelPrice, error) {
	prices := map[string]ModelPrice{}
	if value == "" {
		return prices, nil
	}
	decoder := json.NewDecoder(strings.NewReader(value))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(&prices); err != nil {
		return nil, fmt.Errorf(`want a JSON object such as {"gpt-4o": {"prompt_per_1k": 0.0025, "completion_per_1k": 0.01}}: %w`, err)
	}
	for model, price := range prices {
		if price.PromptPer1K < 0 || price.CompletionPer1K < 0 {
			return nil, fmt.Errorf("model %q has a negative price", model)
		}
	}
	return prices, nil
}

func (r *reader) analytics() Analytics {
	a := Analytics{Lateness: r.duration("ANALYTICS_LATENESS", AnalyticsLatenessDefault)}
	prices, err := ParseModelPrices(r.optional("ANALYTICS_PRICES", ""))
	if err != nil {
		r.fail("ANALYTICS_PRICES", "invalid value: %v", err)
		prices = map[string]ModelPrice{}
	}
	a.Prices = prices
	return a
}

// Limits configures request limits, rate limits and cross-origin access.
type Limits struct {
	// MaxDocumentsPerOrganization caps the documents one organization
	// keeps, failed ones excluded (MAX_DOCUMENTS_PER_ORGANIZATION).
	MaxDocumentsPerOrganization int
	// MaxRequestBodyBytes caps the body of every request except uploads,
	// which MAX_UPLOAD_BYTES caps (MAX_REQUEST_BODY_BYTES).
	MaxRequestBodyBytes int64
	// CORSAllowedOrigins are the origins, such as https://app.example.com,
	// that browsers may call the API from (CORS_ALLOWED_ORIGINS, comma
	// separated). Empty allows no cross-origin calls.
	CORSAllowedOrigins []string
	// RateLimitWindow is the length of one rate limit window
	// (RATE_LIMIT_WINDOW).
	RateLimitWindow time.Duration
	// Chat, Search and Upload are the requests allowed per window for one
	// user and for a whole organization (RATE_LIMIT_CHAT_PER_USER,
	// RATE_LIMIT_CHAT_PER_ORGANIZATION and likewise for SEARCH and UPLOAD).
	Chat   RateLimit
	Search RateLimit
	Upload RateLimit
}

// RateLimit is the requests per window allowed for one action.
type RateLimit struct {
	PerUser         int
	PerOrganization int
}

func (r *reader) limits() Limits {
	l := Limits{
		MaxDocumentsPerOrganization: r.positiveInt("MAX_DOCUMENTS_PER_ORGANIZATION", MaxDocumentsPerOrganizationDefault),
		MaxRequestBodyBytes:         int64(r.positiveInt("MAX_REQUEST_BODY_BYTES", MaxRequestBodyBytesDefault)),
		RateLimitWindow:             r.duration("RATE_LIMIT_WINDOW", RateLimitWindowDefault),
		Chat: RateLimit{
			PerUser:         r.positiveInt("RATE_LIMIT_CHAT_PER_USER", RateLimitChatPerUserDefault),
			PerOrganization: r.positiveInt("RATE_LIMIT_CHAT_PER_ORGANIZATION", RateLimitChatPerOrgDefault),
		},
		Search: RateLimit{
			PerUser:         r.positiveInt("RATE_LIMIT_SEARCH_PER_USER", RateLimitSearchPerUserDefault),
			PerOrganization: r.positiveInt("RATE_LIMIT_SEARCH_PER_ORGANIZATION", RateLimitSearchPerOrgDefault),
		},
		Upload: RateLimit{
			PerUser:         r.positiveInt("RATE_LIMIT_UPLOAD_PER_USER", RateLimitUploadPerUserDefault),
			PerOrganization: r.positiveInt("RATE_LIMIT_UPLOAD_PER_ORGANIZATION", RateLimitUploadPerOrgDefault),
		},
	}
	if l.RateLimitWindow == 0 {
		r.fail("RATE_LIMIT_WINDOW", "invalid value 0: want a duration such as 1m")
	}
	for _, origin := range strings.Split(r.optional("CORS_ALLOWED_ORIGINS", ""), ",") {
		origin = strings.TrimSpace(origin)
		if origin == "" {
			continue
		}
		u, err := url.Parse(origin)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			r.fail("CORS_ALLOWED_ORIGINS", "invalid origin %q: want scheme and host, such as https://app.example.com", origin)
			continue
		}
		l.CORSAllowedOrigins = append(l.CORSAllowedOrigins, u.Scheme+"://"+u.Host)
	}
	return l
}
