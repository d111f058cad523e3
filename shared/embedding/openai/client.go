// Package openai embeds text through Azure OpenAI or any endpoint that
// follows the OpenAI embeddings API.
//
// Azure OpenAI: POST {endpoint}/openai/deployments/{deployment}/embeddings
// ?api-version=..., authorised by an api-key header or by a Microsoft Entra
// ID bearer token. OpenAI-compatible: POST {base}/v1/embeddings (or
// {base}/embeddings when base already ends in /v1), authorised by
// "Authorization: Bearer". Both return {"data":[{"index","embedding"}],
// "model","usage"}.
package openai

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/bondingai/platform/shared/embedding"
	"github.com/bondingai/platform/shared/httpretry"
)

// Provider selects the request shape and authentication.
type Provider string

const (
	// ProviderAzureOpenAI is an Azure OpenAI resource with an embedding
	// deployment.
	ProviderAzureOpenAI Provider = "azure-openai"
	// ProviderOpenAICompatible is OpenAI itself or any server that
	// implements its /v1/embeddings endpoint.
	ProviderOpenAICompatible Provider = "openai-compatible"
)

// Defaults that New applies to zero fields of Config.
const (
	// APIVersionDefault is the Azure OpenAI api-version query parameter,
	// the same default as the platform's AZURE_OPENAI_API_VERSION setting.
	APIVersionDefault = "2024-10-21"
	// MaxInputsPerRequestDefault keeps requests small enough to retry
	// cheaply. Azure OpenAI accepts up to MaxInputsPerRequestLimit.
	MaxInputsPerRequestDefault = 64
	// RequestTimeoutDefault bounds one HTTP attempt, not the whole Embed
	// call.
	RequestTimeoutDefault = 30 * time.Second
	// MaxAttemptsDefault is the number of tries per request, the first
	// included.
	MaxAttemptsDefault = 5
	// InitialBackoffDefault is the wait before the first retry when the
	// response has no Retry-After. Each later wait doubles, with jitter.
	InitialBackoffDefault = 500 * time.Millisecond
	// MaxBackoffDefault caps the computed wait between attempts.
	MaxBackoffDefault = 20 * time.Second
	// MaxRetryAfterDefault is the longest Retry-After that Embed waits for.
	// A longer one fails the call so the queue can redeliver the job later.
	MaxRetryAfterDefault = 60 * time.Second
)

// MaxInputsPerRequestLimit is the largest input array the Azure OpenAI
// embeddings API accepts in one request.
const MaxInputsPerRequestLimit = 2048

// MaxInputTokens is one token below the 8,192-token input limit that the
// Azure OpenAI documentation gives for its embedding models.
const MaxInputTokens = 8191

// cognitiveServicesScope is the Entra ID scope of Azure OpenAI tokens.
const cognitiveServicesScope = "https://cognitiveservices.azure.com/.default"

// Config configures a Client. The names in parentheses are the app settings
// that the platform's configuration reads the fields from.
type Config struct {
	// Provider is ProviderAzureOpenAI or ProviderOpenAICompatible
	// (EMBEDDING_PROVIDER).
	Provider Provider
	// Endpoint is the Azure OpenAI resource URL, such as
	// https://contoso.openai.azure.com (AZURE_OPENAI_ENDPOINT), or the base
	// URL of an OpenAI-compatible server, such as https://api.openai.com/v1
	// (OPENAI_BASE_URL).
	Endpoint string
	// Deployment is the Azure OpenAI deployment name
	// (AZURE_OPENAI_EMBEDDING_DEPLOYMENT). Azure only.
	Deployment string
	// APIVersion is the Azure OpenAI api-version query parameter
	// (AZURE_OPENAI_API_VERSION). Azure only; defaults to APIVersionDefault.
	APIVersion string
	// Model is the model name. An OpenAI-compatible request sends it
	// (OPENAI_EMBEDDING_MODEL). For Azure it is optional and only names the
	// vectors; the deployment name is used when it is empty.
	Model string
	// APIKey authenticates the requests: the api-key header for Azure
	// (AZURE_OPENAI_API_KEY), a bearer token otherwise (OPENAI_API_KEY).
	// Optional for an OpenAI-compatible server that needs no key.
	APIKey string
	// Credential supplies Entra ID tokens for Azure when APIKey is empty,
	// such as a managed identity from azidentity.
	Credential azcore.TokenCredential
	// Dimensions is the length of every vector the model returns
	// (EMBEDDING_DIMENSIONS), such as 1536 for text-embedding-3-small.
	Dimensions int
	// SendDimensions adds "dimensions" to each request, so that
	// text-embedding-3 models shorten their vectors to Dimensions. Only
	// text-embedding-3 and later models support the field.
	SendDimensions bool
	// MaxInputsPerRequest is the largest number of texts per request.
	MaxInputsPerRequest int
	// RequestTimeout bounds each HTTP attempt.
	RequestTimeout time.Duration
	// MaxAttempts is the number of tries for one request, the first included.
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

// Client embeds texts over HTTP. It implements embedding.Embedder and is safe
// for concurrent use.
type Client struct {
	config     Config
	httpClient *http.Client
	url        string
	model      string
	// sleep waits for d or until ctx ends. Tests replace it to observe waits.
	sleep func(ctx context.Context, d time.Duration) error
}

var _ embedding.Embedder = (*Client)(nil)

// New checks cfg, applies defaults and returns a Client that sends its
// requests through httpClient, which carries the caller's egress policy. The
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
			problems = append(problems, errors.New("missing AZURE_OPENAI_EMBEDDING_DEPLOYMENT: the Azure OpenAI embedding deployment name"))
		}
		if cfg.APIKey == "" && cfg.Credential == nil {
			problems = append(problems, errors.New("missing AZURE_OPENAI_API_KEY: set it, or pass an Entra ID credential"))
		}
	case ProviderOpenAICompatible:
		problems = append(problems, checkEndpoint(cfg.Endpoint, "OPENAI_BASE_URL")...)
		if cfg.Model == "" {
			problems = append(problems, errors.New("missing OPENAI_EMBEDDING_MODEL: the model name sent with each request"))
		}
	default:
		problems = append(problems, fmt.Errorf("invalid EMBEDDING_PROVIDER %q: expected %s or %s", cfg.Provider, ProviderAzureOpenAI, ProviderOpenAICompatible))
	}
	if cfg.Dimensions <= 0 {
		problems = append(problems, fmt.Errorf("invalid EMBEDDING_DIMENSIONS %d: expected the model's positive vector length, such as 1536", cfg.Dimensions))
	}
	if cfg.MaxInputsPerRequest < 0 || cfg.MaxInputsPerRequest > MaxInputsPerRequestLimit {
		problems = append(problems, fmt.Errorf("invalid MaxInputsPerRequest %d: expected 1 to %d", cfg.MaxInputsPerRequest, MaxInputsPerRequestLimit))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("configure %s embeddings: %w", cfg.Provider, errors.Join(problems...))
	}

	c := &Client{
		config:     cfg,
		httpClient: httpClient,
		sleep:      httpretry.Sleep,
	}
	endpoint := strings.TrimRight(cfg.Endpoint, "/")
	if cfg.Provider == ProviderAzureOpenAI {
		c.url = endpoint + "/openai/deployments/" + url.PathEscape(cfg.Deployment) +
			"/embeddings?api-version=" + url.QueryEscape(cfg.APIVersion)
		c.model = string(ProviderAzureOpenAI) + "/" + cmp.Or(cfg.Model, cfg.Deployment)
	} else {
		if strings.HasSuffix(endpoint, "/v1") {
			c.url = endpoint + "/embeddings"
		} else {
			c.url = endpoint + "/v1/embeddings"
		}
		c.model = string(ProviderOpenAICompatible) + "/" + cfg.Model
	}
	return c, nil
}

// applyDefaults fills the zero fields of cfg.
func applyDefaults(cfg *Config) {
	if cfg.Provider == ProviderAzureOpenAI && cfg.APIVersion == "" {
		cfg.APIVersion = APIVersionDefault
	}
	if cfg.MaxInputsPerRequest == 0 {
		cfg.MaxInputsPerRequest = MaxInputsPerRequestDefault
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
		return []error{fmt.Errorf("missing %s: the embeddings service URL", setting)}
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return []error{fmt.Errorf("invalid %s %q: expected an absolute http or https URL", setting, endpoint)}
	}
	return nil
}

// Model returns the provider and model, such as
// "azure-openai/text-embedding-3-small".
func (c *Client) Model() string { return c.model }

// Dimensions returns Config.Dimensions.
func (c *Client) Dimensions() int { return c.config.Dimensions }

// MaxInputTokens returns 8191.
func (c *Client) MaxInputTokens() int { return MaxInputTokens }

// CountTokens estimates the tokens of text as its length in bytes divided by
// four, rounded up. It is an estimate based on the rule of thumb of about
// four characters per token in English, not the model's tokenizer, so some
// text uses more tokens than it predicts.
func (c *Client) CountTokens(text string) int {
	return (len(text) + 3) / 4
}

// Embed returns one L2-normalised vector per text, in order. It sends the
// texts in requests of at most MaxInputsPerRequest, one after another, and
// retries each request on 429, on 5xx and on network errors. Empty texts are
// rejected before any request, because the API rejects them.
func (c *Client) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	for i, text := range texts {
		if text == "" {
			return nil, fmt.Errorf("embed with %s: text %d is empty, which the embeddings API rejects", c.model, i)
		}
	}

	vectors := make([][]float32, 0, len(texts))
	for start := 0; start < len(texts); start += c.config.MaxInputsPerRequest {
		end := min(start+c.config.MaxInputsPerRequest, len(texts))
		batch, err := c.embedBatch(ctx, texts[start:end])
		if err != nil {
			return nil, fmt.Errorf("embed texts %d to %d of %d with %s: %w", start, end-1, len(texts), c.model, err)
		}
		vectors = append(vectors, batch...)
	}
	return vectors, nil
}

// normalize scales vector to unit length in place. OpenAI's models already
// return unit vectors, and this keeps the Embedder contract for servers that
// do not.
func normalize(vector []float32) error {
	var squares float64
	for _, v := range vector {
		squares += float64(v) * float64(v)
	}
	if squares == 0 || math.IsNaN(squares) || math.IsInf(squares, 0) {
		return fmt.Errorf("vector has norm %g, expected a finite non-zero norm", math.Sqrt(squares))
	}
	inverse := 1 / math.Sqrt(squares)
	for i, v := range vector {
		vector[i] = float32(float64(v) * inverse)
	}
	return nil
}
