// Package openai generates chat completions through Azure OpenAI or any
// endpoint that follows the OpenAI chat completions API.
//
// Azure OpenAI: POST {endpoint}/openai/deployments/{deployment}/chat/completions
// ?api-version=..., authorized by an api-key header or by a Microsoft Entra
// ID bearer token. OpenAI-compatible: POST {base}/v1/chat/completions (or
// {base}/chat/completions when base already ends in /v1, so that
// OPENAI_BASE_URL means the same as for the embeddings client), authorized
// by "Authorization: Bearer" and naming the model in the body. Streamed
// completions arrive as Server-Sent Events of chat.completion.chunk objects,
// ending with "data: [DONE]".
package openai

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/bondingai/platform/shared/httpretry"
	"github.com/bondingai/platform/shared/llm"
)

// Provider selects the request shape and authentication.
type Provider string

const (
	// ProviderAzureOpenAI is an Azure OpenAI resource with a chat model
	// deployment.
	ProviderAzureOpenAI Provider = "azure-openai"
	// ProviderOpenAICompatible is OpenAI itself or any server that
	// implements its /v1/chat/completions endpoint.
	ProviderOpenAICompatible Provider = "openai-compatible"
)

// Defaults that New applies to zero fields of Config. A person waits for
// every chat completion, so the limits are tighter than those of the
// embeddings client, whose jobs a queue can redeliver later.
const (
	// APIVersionDefault is the Azure OpenAI api-version query parameter,
	// the same default as the platform's AZURE_OPENAI_API_VERSION setting.
	// It is the first generally available version that accepts
	// stream_options.
	APIVersionDefault = "2024-10-21"
	// RequestTimeoutDefault bounds one HTTP attempt, from sending the
	// request to reading the last byte of the completion, streamed or not.
	RequestTimeoutDefault = 60 * time.Second
	// MaxAttemptsDefault is the number of tries per completion, the first
	// included.
	MaxAttemptsDefault = 3
	// InitialBackoffDefault is the wait before the first retry when the
	// response has no Retry-After. Each later wait doubles, with jitter.
	InitialBackoffDefault = 500 * time.Millisecond
	// MaxBackoffDefault caps the computed wait between attempts.
	MaxBackoffDefault = 8 * time.Second
	// MaxRetryAfterDefault is the longest Retry-After that the client waits
	// for. A longer one fails the call at once, because the person asking
	// would rather see an error than wait longer.
	MaxRetryAfterDefault = 20 * time.Second
)

// cognitiveServicesScope is the Entra ID scope of Azure OpenAI tokens.
const cognitiveServicesScope = "https://cognitiveservices.azure.com/.default"

// Config configures a Client. The names in parentheses are the app settings
// that the platform's configuration reads the fields from.
type Config struct {
	// Provider is ProviderAzureOpenAI or ProviderOpenAICompatible
	// (CHAT_PROVIDER).
	Provider Provider
	// Endpoint is the Azure OpenAI resource URL, such as
	// https://contoso.openai.azure.com (AZURE_OPENAI_ENDPOINT), or the base
	// URL of an OpenAI-compatible server, such as https://api.openai.com/v1
	// (OPENAI_BASE_URL).
	Endpoint string
	// Deployment is the Azure OpenAI chat deployment name
	// (AZURE_OPENAI_CHAT_DEPLOYMENT). Azure only.
	Deployment string
	// APIVersion is the Azure OpenAI api-version query parameter
	// (AZURE_OPENAI_API_VERSION). Azure only; defaults to APIVersionDefault.
	APIVersion string
	// Model is the model name that an OpenAI-compatible request sends
	// (OPENAI_CHAT_MODEL). Azure ignores it: the deployment selects the
	// model.
	Model string
	// APIKey authenticates the requests: the api-key header for Azure
	// (AZURE_OPENAI_API_KEY), a bearer token otherwise (OPENAI_API_KEY).
	// Optional for an OpenAI-compatible server that needs no key.
	APIKey string
	// Credential supplies Entra ID tokens for Azure when APIKey is empty,
	// such as a managed identity from azidentity.
	Credential azcore.TokenCredential
	// RequestTimeout bounds each HTTP attempt, streaming included
	// (CHAT_REQUEST_TIMEOUT).
	RequestTimeout time.Duration
	// MaxAttempts is the number of tries for one completion, the first
	// included.
	MaxAttempts int
	// InitialBackoff and MaxBackoff bound the exponential wait between
	// attempts when the server sends no Retry-After.
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	// MaxRetryAfter is the longest Retry-After the client waits for.
	MaxRetryAfter time.Duration
	// Logger receives one line per retry. Defaults to slog.Default().
	Logger *slog.Logger
}

// Client generates chat completions over HTTP. It implements llm.Model and
// is safe for concurrent use.
type Client struct {
	config     Config
	httpClient *http.Client
	url        string
	name       string
	// sleep waits for d or until ctx ends. Tests replace it to observe waits.
	sleep func(ctx context.Context, d time.Duration) error
}

var _ llm.Model = (*Client)(nil)

// New checks cfg, applies defaults and returns a Client that sends its
// requests through httpClient, which carries the caller's egress policy.
// httpClient.Timeout, when set, also cuts off streams that last longer, so
// callers pass a client without one and rely on Config.RequestTimeout. The
// error lists every missing or invalid setting.
func New(cfg Config, httpClient *http.Client) (*Client, error) {
	var problems []error
	if httpClient == nil {
		problems = append(problems, errors.New("missing HTTP client: pass the platform's egress-controlled *http.Client"))
	}

	applyDefaults(&cfg)
	switch cfg.Provider {
	case ProviderAzureOpenAI:
		problems = append(problems, checkEndpoint(cfg.Endpoint, "AZURE_OPENAI_ENDPOINT")...)
		if cfg.Deployment == "" {
			problems = append(problems, errors.New("missing AZURE_OPENAI_CHAT_DEPLOYMENT: the Azure OpenAI chat deployment name"))
		}
		if cfg.APIKey == "" && cfg.Credential == nil {
			problems = append(problems, errors.New("missing AZURE_OPENAI_API_KEY: set it, or pass an Entra ID credential"))
		}
	case ProviderOpenAICompatible:
		problems = append(problems, checkEndpoint(cfg.Endpoint, "OPENAI_BASE_URL")...)
		if cfg.Model == "" {
			problems = append(problems, errors.New("missing OPENAI_CHAT_MODEL: the model name sent with each request"))
		}
	default:
		problems = append(problems, fmt.Errorf("invalid CHAT_PROVIDER %q: expected %s or %s", cfg.Provider, ProviderAzureOpenAI, ProviderOpenAICompatible))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("configure %s chat model: %w", cfg.Provider, errors.Join(problems...))
	}

	c := &Client{
		config:     cfg,
		httpClient: httpClient,
		sleep:      httpretry.Sleep,
	}
	endpoint := strings.TrimRight(cfg.Endpoint, "/")
	if cfg.Provider == ProviderAzureOpenAI {
		c.url = endpoint + "/openai/deployments/" + url.PathEscape(cfg.Deployment) +
			"/chat/completions?api-version=" + url.QueryEscape(cfg.APIVersion)
		c.name = string(ProviderAzureOpenAI) + "/" + cfg.Deployment
	} else {
		if strings.HasSuffix(endpoint, "/v1") {
			c.url = endpoint + "/chat/completions"
		} else {
			c.url = endpoint + "/v1/chat/completions"
		}
		c.name = string(ProviderOpenAICompatible) + "/" + cfg.Model
	}
	return c, nil
}

// applyDefaults fills the zero fields of cfg.
func applyDefaults(cfg *Config) {
	if cfg.Provider == ProviderAzureOpenAI && cfg.APIVersion == "" {
		cfg.APIVersion = APIVersionDefault
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = RequestTimeoutDefault
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = MaxAttemptsDefault
	}
	if cfg.InitialBackoff <= 0 {
		cfg.InitialBackoff = InitialBackoffDefault
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = MaxBackoffDefault
	}
	if cfg.MaxRetryAfter <= 0 {
		cfg.MaxRetryAfter = MaxRetryAfterDefault
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
}

// checkEndpoint reports a missing or non-absolute endpoint under the name of
// its app setting.
func checkEndpoint(endpoint, setting string) []error {
	if endpoint == "" {
		return []error{fmt.Errorf("missing %s: the chat completions service URL", setting)}
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return []error{fmt.Errorf("invalid %s %q: expected an absolute http or https URL", setting, endpoint)}
	}
	return nil
}

// Name returns the provider and the deployment or model, such as
// "azure-openai/gpt-4o-mini".
func (c *Client) Name() string { return c.name }

// Complete returns the whole completion. It retries on 429, on 5xx, on
// network errors and on attempts that time out, up to MaxAttempts tries.
// When the response has no usage, Usage is an estimate and
// Response.UsageEstimated is true.
func (c *Client) Complete(ctx context.Context, req llm.Request) (*llm.Response, error) {
	payload, err := c.encodeRequest(req, false)
	if err != nil {
		return nil, fmt.Errorf("complete with %s: %w", c.name, err)
	}
	response, err := c.withRetries(ctx, "chat completion", func(attemptCtx context.Context) (*llm.Response, time.Duration, error) {
		return c.completeOnce(ctx, attemptCtx, payload)
	})
	if err != nil {
		return nil, fmt.Errorf("complete with %s: %w", c.name, err)
	}
	estimateMissingUsage(response, req)
	return response, nil
}

// Stream sends a streamed request, calls onDelta with each piece of the
// completion in order, and returns the whole completion after [DONE].
//
// A failure before the first delta reaches onDelta is retried like one of
// Complete. Once a delta has been delivered, a failure is returned at once,
// because a retry would deliver the start of the completion a second time. An
// error from onDelta stops the stream and is returned unwrapped.
//
// The request sets stream_options.include_usage, so usage arrives in the
// last chunk. When the endpoint sends none, as older OpenAI-compatible
// servers do, Usage is an estimate of about four bytes per token and
// Response.UsageEstimated is true.
func (c *Client) Stream(ctx context.Context, req llm.Request, onDelta func(delta string) error) (*llm.Response, error) {
	if onDelta == nil {
		return nil, fmt.Errorf("stream with %s: onDelta is nil", c.name)
	}
	payload, err := c.encodeRequest(req, true)
	if err != nil {
		return nil, fmt.Errorf("stream with %s: %w", c.name, err)
	}

	var callbackErr error
	deliver := func(delta string) error {
		if err := onDelta(delta); err != nil {
			callbackErr = err
			return err
		}
		return nil
	}
	response, err := c.withRetries(ctx, "streamed chat completion", func(attemptCtx context.Context) (*llm.Response, time.Duration, error) {
		return c.streamOnce(ctx, attemptCtx, payload, deliver)
	})
	if callbackErr != nil {
		return nil, callbackErr
	}
	if err != nil {
		return nil, fmt.Errorf("stream with %s: %w", c.name, err)
	}
	estimateMissingUsage(response, req)
	return response, nil
}

// estimateMissingUsage fills response.Usage when the decoder marked it
// UsageEstimated because the endpoint reported none: about four bytes per
// token, the rule of thumb for English text, plus four tokens per message
// for the chat format's role markers. It is an estimate, not the model's
// tokenizer.
func estimateMissingUsage(response *llm.Response, req llm.Request) {
	if !response.UsageEstimated {
		return
	}
	prompt := 0
	for _, message := range req.Messages {
		prompt += (len(message.Content)+3)/4 + 4
	}
	response.Usage = llm.Usage{PromptTokens: prompt, CompletionTokens: (len(response.Content) + 3) / 4}
	response.UsageEstimated = true
}
