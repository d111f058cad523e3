// Package platform builds the handler's long-lived dependencies from the
// configuration once per process: database pool, blob container, queue
// sender, embedding model, extractor, token validator and the services on
// top of them. Functions receive a *Platform and call its services.
package platform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/workos/workos-go/v4/pkg/events"
	"github.com/workos/workos-go/v4/pkg/organizations"
	"github.com/workos/workos-go/v4/pkg/portal"
	"github.com/workos/workos-go/v4/pkg/usermanagement"

	"github.com/bondingai/platform/shared/admin"
	"github.com/bondingai/platform/shared/analytics"
	"github.com/bondingai/platform/shared/blobstore"
	"github.com/bondingai/platform/shared/chat"
	"github.com/bondingai/platform/shared/chunking"
	"github.com/bondingai/platform/shared/config"
	"github.com/bondingai/platform/shared/directory"
	"github.com/bondingai/platform/shared/documents"
	"github.com/bondingai/platform/shared/egress"
	"github.com/bondingai/platform/shared/embedding"
	"github.com/bondingai/platform/shared/embedding/openai"
	"github.com/bondingai/platform/shared/embedding/uselite"
	"github.com/bondingai/platform/shared/extract"
	"github.com/bondingai/platform/shared/httpapi"
	"github.com/bondingai/platform/shared/identity"
	"github.com/bondingai/platform/shared/ingest"
	"github.com/bondingai/platform/shared/llm"
	llmopenai "github.com/bondingai/platform/shared/llm/openai"
	"github.com/bondingai/platform/shared/queue"
	"github.com/bondingai/platform/shared/queue/localqueue"
	"github.com/bondingai/platform/shared/ratelimit"
	"github.com/bondingai/platform/shared/retrieval"
	"github.com/bondingai/platform/shared/session"
	"github.com/bondingai/platform/shared/store"
	"github.com/bondingai/platform/shared/webhook"
)

// outboundTimeout bounds any single outbound HTTP request that has no
// timeout of its own.
const outboundTimeout = 60 * time.Second

// Platform holds every dependency a function uses.
type Platform struct {
	Config    *config.Config
	Logger    *slog.Logger
	Store     *store.Store
	Blobs     *blobstore.Store
	Queue     queue.Sender
	Embedder  embedding.Embedder
	Extractor *extract.Extractor
	Validator *identity.Validator
	Resolver  *httpapi.Resolver
	// Sessions runs the AuthKit sign-in and authenticates requests by
	// session cookie or bearer token.
	Sessions *session.Manager

	Documents *documents.Service
	Ingest    *ingest.Service
	Search    *retrieval.Searcher
	// ChatModel generates chat completions; nil when CHAT_PROVIDER is none.
	ChatModel llm.Model
	// Chat answers questions in conversations, extractively when
	// ChatModel is nil.
	Chat *chat.Service

	// Directory keeps the identity mirror in step with the WorkOS Events API.
	Directory *directory.Syncer
	// Webhooks verifies WorkOS webhook signatures.
	Webhooks *webhook.Verifier
	// Settings stores each organization's configuration.
	Settings *admin.SettingsService
	// Portal creates WorkOS Admin Portal links.
	Portal *admin.PortalService

	// Recorder stores usage events in the background; Close flushes it.
	Recorder *analytics.Recorder
	// Rollups schedules and computes the analytics rollup jobs.
	Rollups *analytics.Rollups
	// KPIs reads usage KPIs from the rollups.
	KPIs *analytics.KPIs

	// QueueCheck reports whether the queue is reachable, for the health
	// endpoint; nil when the queue offers no cheap check.
	QueueCheck func(context.Context) error

	// RateLimits limits chat, search and upload requests per user and per
	// organization.
	RateLimits *ratelimit.Limiter

	// Egress is the outbound allow-list every HTTP client uses.
	Egress *egress.Policy
	// EgressAudit writes the egress audit in the background.
	EgressAudit *egress.BatchAuditor

	closers []func()
}

// New connects everything cfg describes. On error it releases what it had
// already opened.
func New(ctx context.Context, cfg *config.Config, logger *slog.Logger) (p *Platform, err error) {
	p = &Platform{Config: cfg, Logger: logger}
	defer func() {
		if err != nil {
			p.Close()
		}
	}()
	if p.Store, err = store.Open(ctx, cfg.DatabaseURL); err != nil {
		return nil, err
	}
	p.closers = append(p.closers, p.Store.Close)
	p.startRecorder()

	// Every outbound HTTP client below uses httpClient, whose transport
	// enforces the egress allow-list and audits each request.
	httpClient, err := p.newEgressClient()
	if err != nil {
		return nil, err
	}

	var credential azcore.TokenCredential
	if needsCredential(cfg) {
		options := &azidentity.DefaultAzureCredentialOptions{ClientOptions: azcore.ClientOptions{Transport: httpClient}}
		if credential, err = azidentity.NewDefaultAzureCredential(options); err != nil {
			return nil, fmt.Errorf("create Azure credential for managed-identity connections: %w", err)
		}
	}

	if p.Blobs, err = blobstore.New(cfg.DocumentStorage, documents.Container, blobstore.Options{Transport: httpClient, Credential: credential}); err != nil {
		return nil, err
	}
	// Provisioning creates the container in Azure; creating it here as
	// well makes a fresh local stack work. A failure is only logged, so the
	// handler still starts while storage is briefly unreachable.
	if err := p.Blobs.EnsureContainer(ctx); err != nil {
		logger.Warn("document container not ensured", slog.Any("error", err))
	}
	if err := p.openQueue(ctx); err != nil {
		return nil, err
	}
	if p.Embedder, err = newEmbedder(cfg.Embedding, credential, httpClient, logger); err != nil {
		return nil, err
	}
	if p.ChatModel, err = newChatModel(cfg.Chat, credential, httpClient, logger); err != nil {
		return nil, err
	}
	if p.Extractor, err = extract.New(extract.Config{CacheDir: cfg.PDFiumCacheDir, MaxFileBytes: cfg.MaxUploadBytes}); err != nil {
		return nil, err
	}
	p.closers = append(p.closers, func() { _ = p.Extractor.Close() })

	p.Validator, err = identity.NewValidator(identity.ValidatorConfig{
		JWKSURL: cfg.WorkOS.JWKSURL(), Issuers: cfg.WorkOS.Issuers, Leeway: cfg.WorkOS.TokenLeeway,
		HTTPClient: httpClient, Logger: logger,
	})
	if err != nil {
		return nil, err
	}
	p.closers = append(p.closers, p.Validator.Close)
	p.Resolver = &httpapi.Resolver{Store: p.Store}
	if p.Sessions, err = newSessions(cfg, p, httpClient); err != nil {
		return nil, err
	}

	p.Documents = &documents.Service{Store: p.Store, Blobs: p.Blobs, MaxUploadBytes: cfg.MaxUploadBytes}
	p.Documents.MaxDocuments = cfg.Limits.MaxDocumentsPerOrganization
	p.RateLimits = newRateLimiter(p.Store, cfg.Limits)
	p.Ingest = &ingest.Service{
		Store: p.Store, Extractor: p.Extractor, Embedder: p.Embedder, Queue: p.Queue,
		QueueName: ingest.EmbeddingQueue, BatchSize: cfg.EmbeddingBatchSize, MaxDeliveryCount: cfg.EmbeddingMaxDeliveryCount,
		Chunking: chunkingOptions(p.Embedder),
	}
	p.Search = &retrieval.Searcher{Store: p.Store, Embedder: p.Embedder}
	p.Chat = &chat.Service{Store: p.Store, Searcher: p.Search, Model: p.ChatModel}
	p.newAdministration(ctx, httpClient)
	p.newAnalytics()
	return p, nil
}

// identitySyncRunTimeout bounds a sync run a webhook requests; the timer
// function's run is bounded by the host's function timeout instead.
const identitySyncRunTimeout = 5 * time.Minute

// newAdministration builds the identity sync, the webhook verifier and the
// organization administration services, and starts the loop that runs a
// sync when a webhook requests one. The loop stops when ctx ends.
func (p *Platform) newAdministration(ctx context.Context, httpClient *http.Client) {
	cfg := p.Config
	users := usermanagement.NewClient(cfg.WorkOS.APIKey)
	users.Endpoint = cfg.WorkOS.APIBaseURL
	users.HTTPClient = httpClient
	p.Directory = &directory.Syncer{
		Store:    p.Store,
		Events:   &events.Client{APIKey: cfg.WorkOS.APIKey, Endpoint: cfg.WorkOS.APIBaseURL, HTTPClient: httpClient},
		Sessions: users,
		Logger:   p.Logger,
		PageSize: cfg.DirectorySync.EventsPageSize,
		MaxPages: cfg.DirectorySync.EventsMaxPages,
	}
	p.Directory.Start(ctx, identitySyncRunTimeout)
	p.Webhooks = &webhook.Verifier{Secrets: cfg.DirectorySync.WebhookSecrets, Tolerance: cfg.DirectorySync.WebhookTolerance}
	p.Settings = &admin.SettingsService{Store: p.Store}
	p.Portal = &admin.PortalService{
		Links: &portal.Client{APIKey: cfg.WorkOS.APIKey, Endpoint: cfg.WorkOS.APIBaseURL, HTTPClient: httpClient},
	}
}

// recorderCloseTimeout bounds the final flush of usage events at shutdown.
const recorderCloseTimeout = 10 * time.Second

// startRecorder starts the usage event recorder right after the database
// pool opens, so that its closer runs before the pool's and Close flushes
// the buffered events while the pool is still open.
func (p *Platform) startRecorder() {
	p.Recorder = analytics.NewRecorder(p.Store, analytics.RecorderOptions{Logger: p.Logger})
	p.closers = append(p.closers, func() {
		ctx, cancel := context.WithTimeout(context.Background(), recorderCloseTimeout)
		defer cancel()
		if err := p.Recorder.Close(ctx); err != nil {
			p.Logger.Error("usage events not flushed at shutdown", slog.Any("error", err))
		}
	})
}

// newAnalytics builds the rollup and KPI services and hands the recorder
// to the services that record usage events.
func (p *Platform) newAnalytics() {
	p.Ingest.Recorder = p.Recorder
	p.Documents.Recorder = p.Recorder
	p.Rollups = &analytics.Rollups{Store: p.Store, Queue: p.Queue, Lateness: p.Config.Analytics.Lateness, Logger: p.Logger}
	p.KPIs = &analytics.KPIs{Store: p.Store, Prices: p.Config.Analytics.Prices}
}

// Close releases every dependency in reverse order of opening.
func (p *Platform) Close() {
	for i := len(p.closers) - 1; i >= 0; i-- {
		p.closers[i]()
	}
	p.closers = nil
}

// Authenticated wraps h so that it runs only for a caller with a valid
// access token, from an "Authorization: Bearer" header or the session
// cookie, with the caller's Principal in the request context. It applies
// the protections of Public first.
func (p *Platform) Authenticated(h http.Handler) http.Handler {
	return p.Public(p.Sessions.Authenticate(p.Resolver.RequirePrincipal(h)))
}

// AuthenticatedUpload is Authenticated for the upload route: its body cap
// is MAX_UPLOAD_BYTES plus overheadBytes for the multipart framing, in
// place of MAX_REQUEST_BODY_BYTES.
func (p *Platform) AuthenticatedUpload(overheadBytes int64, h http.Handler) http.Handler {
	return p.harden(p.Sessions.Authenticate(p.Resolver.RequirePrincipal(h)), func() int64 {
		return p.Config.MaxUploadBytes + overheadBytes
	})
}

// Public wraps a handler that needs no sign-in with the protections every
// HTTP function gets: security headers, CORS for CORS_ALLOWED_ORIGINS and
// the MAX_REQUEST_BODY_BYTES body cap.
func (p *Platform) Public(h http.Handler) http.Handler {
	return p.harden(h, func() int64 { return p.Config.Limits.MaxRequestBodyBytes })
}

// harden applies httpapi.Harden with the settings read when a request
// arrives, because functions register before the configuration is known
// in the registration tests.
func (p *Platform) harden(h http.Handler, maxBodyBytes func() int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hardening := httpapi.Hardening{AllowedOrigins: p.Config.Limits.CORSAllowedOrigins, MaxBodyBytes: maxBodyBytes()}
		httpapi.Harden(h, hardening).ServeHTTP(w, r)
	})
}

// newRateLimiter builds the chat, search and upload rate limits from the
// settings.
func newRateLimiter(s *store.Store, limits config.Limits) *ratelimit.Limiter {
	policy := func(limit config.RateLimit) ratelimit.Policy {
		return ratelimit.Policy{
			PerUser:         ratelimit.Limit{Requests: limit.PerUser, Window: limits.RateLimitWindow},
			PerOrganization: ratelimit.Limit{Requests: limit.PerOrganization, Window: limits.RateLimitWindow},
		}
	}
	return &ratelimit.Limiter{Store: s, Policies: map[ratelimit.Action]ratelimit.Policy{
		ratelimit.ActionChat:   policy(limits.Chat),
		ratelimit.ActionSearch: policy(limits.Search),
		ratelimit.ActionUpload: policy(limits.Upload),
	}}
}

// newSessions builds the session manager with WorkOS clients that use the
// platform's outbound HTTP client.
func newSessions(cfg *config.Config, p *Platform, httpClient *http.Client) (*session.Manager, error) {
	sealer, err := session.NewSealer(cfg.Session.CookieKey, cfg.Session.PreviousCookieKey)
	if err != nil {
		return nil, err
	}
	users := usermanagement.NewClient(cfg.WorkOS.APIKey)
	users.Endpoint = cfg.WorkOS.APIBaseURL
	users.HTTPClient = httpClient
	orgs := &organizations.Client{APIKey: cfg.WorkOS.APIKey, Endpoint: cfg.WorkOS.APIBaseURL, HTTPClient: httpClient}
	return session.New(session.Config{
		ClientID:      cfg.WorkOS.ClientID,
		RedirectURI:   cfg.Session.RedirectURI,
		PublicBaseURL: cfg.Session.PublicBaseURL,
		Users:         users,
		Organizations: orgs,
		Validator:     p.Validator,
		Sealer:        sealer,
		Store:         p.Store,
		Logger:        p.Logger,
		Recorder:      p.Recorder,
	})
}

func (p *Platform) openQueue(ctx context.Context) error {
	conn := p.Config.ServiceBus
	if conn.LocalQueueURL != "" {
		q, err := localqueue.Open(ctx, conn.LocalQueueURL, localqueue.Options{Logger: p.Logger})
		if err != nil {
			return err
		}
		p.Queue = q
		p.QueueCheck = func(ctx context.Context) error {
			_, err := q.ActiveMessageCount(ctx, ingest.EmbeddingQueue)
			return err
		}
		p.closers = append(p.closers, func() { _ = q.Close(context.Background()) })
		return nil
	}
	sender, err := queue.NewServiceBusSender(queue.ServiceBusConnection{
		ConnectionString: conn.ConnectionString, FullyQualifiedNamespace: conn.FullyQualifiedNamespace,
	}, nil)
	if err != nil {
		return err
	}
	p.Queue = sender
	p.closers = append(p.closers, func() { _ = sender.Close(context.Background()) })
	return nil
}

func newEmbedder(cfg config.Embedding, credential azcore.TokenCredential, httpClient *http.Client, logger *slog.Logger) (embedding.Embedder, error) {
	switch cfg.Provider {
	case config.EmbeddingProviderUSELite:
		return uselite.Load(cfg.ModelDir)
	case config.EmbeddingProviderAzureOpenAI:
		return openai.New(openai.Config{
			Provider: openai.ProviderAzureOpenAI, Endpoint: cfg.AzureOpenAIEndpoint, Deployment: cfg.AzureOpenAIDeployment,
			APIVersion: cfg.AzureOpenAIAPIVersion, APIKey: cfg.AzureOpenAIAPIKey, Credential: credential,
			Dimensions: cfg.Dimensions, Logger: logger,
		}, httpClient)
	case config.EmbeddingProviderOpenAICompatible:
		return openai.New(openai.Config{
			Provider: openai.ProviderOpenAICompatible, Endpoint: cfg.OpenAIBaseURL, Model: cfg.OpenAIModel,
			APIKey: cfg.OpenAIAPIKey, Dimensions: cfg.Dimensions, Logger: logger,
		}, httpClient)
	}
	return nil, errors.New("unknown embedding provider " + cfg.Provider)
}

// newChatModel returns the configured chat model, or nil for CHAT_PROVIDER
// none. The model sends through a copy of the outbound client without its
// overall timeout, which would cut off long streams, and bounds each attempt
// with CHAT_REQUEST_TIMEOUT instead.
func newChatModel(cfg config.Chat, credential azcore.TokenCredential, httpClient *http.Client, logger *slog.Logger) (llm.Model, error) {
	streamingClient := *httpClient
	streamingClient.Timeout = 0

	var modelConfig llmopenai.Config
	switch cfg.Provider {
	case config.ChatProviderNone:
		return nil, nil
	case config.ChatProviderAzureOpenAI:
		modelConfig = llmopenai.Config{
			Provider: llmopenai.ProviderAzureOpenAI, Endpoint: cfg.AzureOpenAIEndpoint, Deployment: cfg.AzureOpenAIDeployment,
			APIVersion: cfg.AzureOpenAIAPIVersion, APIKey: cfg.AzureOpenAIAPIKey, Credential: credential,
		}
	case config.ChatProviderOpenAICompatible:
		modelConfig = llmopenai.Config{
			Provider: llmopenai.ProviderOpenAICompatible, Endpoint: cfg.OpenAIBaseURL, Model: cfg.OpenAIModel, APIKey: cfg.OpenAIAPIKey,
		}
	default:
		return nil, errors.New("unknown chat provider " + cfg.Provider)
	}
	modelConfig.RequestTimeout = cfg.RequestTimeout
	modelConfig.Logger = logger

	// Return the client only on success, so that a failure never yields a
	// non-nil llm.Model holding a nil *Client.
	model, err := llmopenai.New(modelConfig, &streamingClient)
	if err != nil {
		return nil, err
	}
	return model, nil
}

// needsCredential reports whether any connection authenticates with Entra ID.
func needsCredential(cfg *config.Config) bool {
	return cfg.DocumentStorage.ConnectionString == "" ||
		(cfg.Embedding.Provider == config.EmbeddingProviderAzureOpenAI && cfg.Embedding.AzureOpenAIAPIKey == "") ||
		(cfg.Chat.Provider == config.ChatProviderAzureOpenAI && cfg.Chat.AzureOpenAIAPIKey == "")
}

// httpModelChunkTokens sizes chunks for the HTTP embedding models, whose
// 8191-token input would allow chunks far larger than a citation should
// cover: about 300 words keeps a passage on one topic.
const (
	httpModelChunkTokens   = 400
	httpModelOverlapTokens = 60
)

// chunkingOptions returns chunk sizes for the model: the defaults, sized for
// the offline model's 128-token input, or larger chunks for HTTP models.
func chunkingOptions(embedder embedding.Embedder) chunking.Options {
	if embedder.MaxInputTokens() <= chunking.MaxTokensDefault {
		return chunking.DefaultOptions()
	}
	return chunking.Options{MaxTokens: httpModelChunkTokens, OverlapTokens: httpModelOverlapTokens}
}
