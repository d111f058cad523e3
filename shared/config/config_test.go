package config

import (
	"strings"
	"testing"
	"time"
)

func env(values map[string]string) func(string) string {
	return func(name string) string { return values[name] }
}

func validSettings() map[string]string {
	return map[string]string{
		"DATABASE_URL":          "postgres://bondingai_app@127.0.0.1:54320/bondingai",
		"DocumentStorage":       "UseDevelopmentStorage=true",
		"ServiceBusConnection":  "postgres://postgres@127.0.0.1:54320/localqueue",
		"WORKOS_CLIENT_ID":      "client_local",
		"EMBEDDING_MODEL_DIR":   "/models/use-lite",
		"SESSION_COOKIE_KEY":    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
		"AUTH_REDIRECT_URI":     "https://app.contoso.example/api/auth/callback",
		"WORKOS_WEBHOOK_SECRET": "whsec_local",
	}
}

func TestLoadDefaults(t *testing.T) {
	cfg, err := Load(env(validSettings()))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.EmbeddingBatchSize != EmbeddingBatchSizeDefault || cfg.MaxUploadBytes != MaxUploadBytesDefault {
		t.Errorf("batch size, upload limit = %d, %d", cfg.EmbeddingBatchSize, cfg.MaxUploadBytes)
	}
	if cfg.ServiceBus.LocalQueueURL == "" {
		t.Error("a postgres:// ServiceBusConnection did not select the local queue")
	}
	if cfg.Embedding.Provider != EmbeddingProviderUSELite {
		t.Errorf("Provider = %q", cfg.Embedding.Provider)
	}
	if got, want := cfg.WorkOS.JWKSURL(), "https://api.workos.com/sso/jwks/client_local"; got != want {
		t.Errorf("JWKSURL = %q, want %q", got, want)
	}
	wantIssuer := "https://api.workos.com/user_management/client_local"
	found := false
	for _, issuer := range cfg.WorkOS.Issuers {
		found = found || issuer == wantIssuer
	}
	if !found {
		t.Errorf("Issuers = %v, want %s among them", cfg.WorkOS.Issuers, wantIssuer)
	}
}

func TestLoadReportsEveryProblem(t *testing.T) {
	_, err := Load(env(map[string]string{
		"EMBEDDING_BATCH_SIZE": "-3",
		"EMBEDDING_PROVIDER":   "azure-openai",
		"WORKOS_API_BASE_URL":  "not a url",
	}))
	if err == nil {
		t.Fatal("Load succeeded with no settings")
	}
	for _, name := range []string{"DATABASE_URL", "DocumentStorage", "ServiceBusConnection", "WORKOS_CLIENT_ID", "EMBEDDING_BATCH_SIZE", "AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_EMBEDDING_DEPLOYMENT", "WORKOS_API_BASE_URL"} {
		if !strings.Contains(err.Error(), "setting "+name+":") {
			t.Errorf("error does not name %s:\n%v", name, err)
		}
	}
}

func TestLoadManagedIdentityConnections(t *testing.T) {
	settings := validSettings()
	delete(settings, "DocumentStorage")
	delete(settings, "ServiceBusConnection")
	settings["DocumentStorage__blobServiceUri"] = "https://contosodocs.blob.core.windows.net"
	settings["ServiceBusConnection__fullyQualifiedNamespace"] = "contoso.servicebus.windows.net"
	cfg, err := Load(env(settings))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DocumentStorage.BlobServiceURI == "" || cfg.ServiceBus.FullyQualifiedNamespace == "" {
		t.Errorf("managed identity settings not read: %+v %+v", cfg.DocumentStorage, cfg.ServiceBus)
	}
}

func TestLoadRejectsMalformedServiceBusConnection(t *testing.T) {
	settings := validSettings()
	settings["ServiceBusConnection"] = "localhost:5672"
	if _, err := Load(env(settings)); err == nil || !strings.Contains(err.Error(), "ServiceBusConnection") {
		t.Errorf("err = %v, want one naming ServiceBusConnection", err)
	}
}

func TestLoadIssuerAllowList(t *testing.T) {
	settings := validSettings()
	settings["WORKOS_ISSUERS"] = "https://auth.contoso.com, https://api.workos.com/"
	cfg, err := Load(env(settings))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.WorkOS.Issuers) != 2 || cfg.WorkOS.Issuers[0] != "https://auth.contoso.com" {
		t.Errorf("Issuers = %v", cfg.WorkOS.Issuers)
	}
}

func TestLoadSessionSettings(t *testing.T) {
	settings := validSettings()
	settings["SESSION_COOKIE_PREVIOUS_KEY"] = "_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-8"
	cfg, err := Load(env(settings))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Session.CookieKey) != 32 || cfg.Session.CookieKey[31] != 31 {
		t.Errorf("CookieKey = %v, want the bytes 0..31", cfg.Session.CookieKey)
	}
	if len(cfg.Session.PreviousCookieKey) != 32 {
		t.Errorf("PreviousCookieKey has %d bytes, want 32 from URL-safe base64", len(cfg.Session.PreviousCookieKey))
	}
	if got, want := cfg.Session.PublicBaseURL, "https://app.contoso.example"; got != want {
		t.Errorf("PublicBaseURL = %q, want the redirect URI's origin %q", got, want)
	}
}

func TestLoadRejectsInvalidSessionSettings(t *testing.T) {
	settings := validSettings()
	settings["SESSION_COOKIE_KEY"] = "c2hvcnQ="
	settings["SESSION_COOKIE_PREVIOUS_KEY"] = "not base64!"
	settings["AUTH_REDIRECT_URI"] = "/api/auth/callback"
	settings["PUBLIC_BASE_URL"] = "app.contoso.example"
	_, err := Load(env(settings))
	if err == nil {
		t.Fatal("Load accepted invalid session settings")
	}
	for _, name := range []string{"SESSION_COOKIE_KEY", "SESSION_COOKIE_PREVIOUS_KEY", "AUTH_REDIRECT_URI", "PUBLIC_BASE_URL"} {
		if !strings.Contains(err.Error(), "setting "+name+":") {
			t.Errorf("error does not name %s:\n%v", name, err)
		}
	}
	if strings.Contains(err.Error(), "c2hvcnQ") {
		t.Errorf("error repeats the secret key value:\n%v", err)
	}

	delete(settings, "SESSION_COOKIE_KEY")
	delete(settings, "AUTH_REDIRECT_URI")
	_, err = Load(env(settings))
	for _, name := range []string{"SESSION_COOKIE_KEY", "AUTH_REDIRECT_URI"} {
		if err == nil || !strings.Contains(err.Error(), "setting "+name+": missing") {
			t.Errorf("error does not report %s missing:\n%v", name, err)
		}
	}
}

func TestLoadChatDefaultsToNone(t *testing.T) {
	cfg, err := Load(env(validSettings()))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Chat.Provider != ChatProviderNone {
		t.Errorf("Provider = %q, want %q", cfg.Chat.Provider, ChatProviderNone)
	}
	if cfg.Chat.RequestTimeout != ChatRequestTimeoutDefault {
		t.Errorf("RequestTimeout = %s, want %s", cfg.Chat.RequestTimeout, ChatRequestTimeoutDefault)
	}
}

func TestLoadChatAzureOpenAI(t *testing.T) {
	settings := validSettings()
	settings["CHAT_PROVIDER"] = "azure-openai"
	settings["AZURE_OPENAI_ENDPOINT"] = "https://contoso.openai.azure.com/"
	settings["AZURE_OPENAI_CHAT_DEPLOYMENT"] = "gpt-4o-mini"
	settings["AZURE_OPENAI_API_KEY"] = "key"
	settings["CHAT_REQUEST_TIMEOUT"] = "90s"
	cfg, err := Load(env(settings))
	if err != nil {
		t.Fatal(err)
	}
	want := Chat{
		Provider:              ChatProviderAzureOpenAI,
		AzureOpenAIEndpoint:   "https://contoso.openai.azure.com",
		AzureOpenAIAPIKey:     "key",
		AzureOpenAIDeployment: "gpt-4o-mini",
		AzureOpenAIAPIVersion: AzureOpenAIAPIVersionDefault,
		RequestTimeout:        90 * time.Second,
	}
	if cfg.Chat != want {
		t.Errorf("Chat = %+v, want %+v", cfg.Chat, want)
	}
}

func TestLoadChatOpenAICompatible(t *testing.T) {
	settings := validSettings()
	settings["CHAT_PROVIDER"] = "openai-compatible"
	settings["OPENAI_BASE_URL"] = "http://10.0.0.5:8000/v1"
	settings["OPENAI_CHAT_MODEL"] = "llama-3.1-8b-instruct"
	cfg, err := Load(env(settings))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Chat.OpenAIBaseURL != "http://10.0.0.5:8000/v1" || cfg.Chat.OpenAIModel != "llama-3.1-8b-instruct" || cfg.Chat.OpenAIAPIKey != "" {
		t.Errorf("Chat = %+v", cfg.Chat)
	}
	// The embedding provider stays the offline default.
	if cfg.Embedding.Provider != EmbeddingProviderUSELite {
		t.Errorf("Embedding.Provider = %q", cfg.Embedding.Provider)
	}
}

func TestLoadChatReportsEverySetting(t *testing.T) {
	tests := []struct {
		name     string
		settings map[string]string
		want     []string
	}{
		{"azure missing", map[string]string{"CHAT_PROVIDER": "azure-openai"}, []string{"AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_CHAT_DEPLOYMENT"}},
		{"azure invalid endpoint", map[string]string{"CHAT_PROVIDER": "azure-openai", "AZURE_OPENAI_ENDPOINT": "contoso", "AZURE_OPENAI_CHAT_DEPLOYMENT": "d"}, []string{"AZURE_OPENAI_ENDPOINT"}},
		{"compatible missing", map[string]string{"CHAT_PROVIDER": "openai-compatible"}, []string{"OPENAI_BASE_URL", "OPENAI_CHAT_MODEL"}},
		{"unknown provider", map[string]string{"CHAT_PROVIDER": "gemini"}, []string{"CHAT_PROVIDER"}},
		{"invalid timeout", map[string]string{"CHAT_REQUEST_TIMEOUT": "soon"}, []string{"CHAT_REQUEST_TIMEOUT"}},
		{"zero timeout", map[string]string{"CHAT_REQUEST_TIMEOUT": "0s"}, []string{"CHAT_REQUEST_TIMEOUT"}},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			settings := validSettings()
			for name, value := range test.settings {
				settings[name] = value
			}
			_, err := Load(env(settings))
			if err == nil {
				t.Fatal("Load succeeded")
			}
			for _, name := range test.want {
				if !strings.Contains(err.Error(), "setting "+name+":") {
					t.Errorf("error does not name %s:\n%v", name, err)
				}
			}
		})
	}
}

func TestLoadDirectorySync(t *testing.T) {
	settings := validSettings()
	settings["WORKOS_WEBHOOK_SECRET"] = "whsec_new, whsec_old"
	cfg, err := Load(env(settings))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cfg.DirectorySync.WebhookSecrets, ","); got != "whsec_new,whsec_old" {
		t.Errorf("WebhookSecrets = %q, want both secrets", got)
	}
	if cfg.DirectorySync.WebhookTolerance != WebhookToleranceDefault || cfg.DirectorySync.EventsPageSize != EventsPageSizeDefault {
		t.Errorf("tolerance, page size = %s, %d", cfg.DirectorySync.WebhookTolerance, cfg.DirectorySync.EventsPageSize)
	}

	delete(settings, "WORKOS_WEBHOOK_SECRET")
	settings["WORKOS_EVENTS_PAGE_SIZE"] = "500"
	_, err = Load(env(settings))
	if err == nil {
		t.Fatal("Load succeeded without a webhook secret")
	}
	for _, name := range []string{"WORKOS_WEBHOOK_SECRET", "WORKOS_EVENTS_PAGE_SIZE"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
}

func TestLoadAnalyticsSettings(t *testing.T) {
	cfg, err := Load(env(validSettings()))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Analytics.Lateness != AnalyticsLatenessDefault {
		t.Errorf("Lateness = %s, want %s", cfg.Analytics.Lateness, AnalyticsLatenessDefault)
	}
	if len(cfg.Analytics.Prices) != 0 {
		t.Errorf("Prices = %v, want none", cfg.Analytics.Prices)
	}

	settings := validSettings()
	settings["ANALYTICS_LATENESS"] = "30m"
	settings["ANALYTICS_PRICES"] = `{"gpt-4o": {"prompt_per_1k": 0.0025, "completion_per_1k": 0.01}}`
	cfg, err = Load(env(settings))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Analytics.Lateness != 30*time.Minute {
		t.Errorf("Lateness = %s, want 30m", cfg.Analytics.Lateness)
	}
	if got := cfg.Analytics.Prices["gpt-4o"]; got.PromptPer1K != 0.0025 || got.CompletionPer1K != 0.01 {
		t.Errorf("gpt-4o price = %+v", got)
	}
}

func TestLoadRejectsInvalidAnalyticsSettings(t *testing.T) {
	for _, prices := range []string{`[1]`, `{"gpt-4o": {"prompt": 1}}`, `{"gpt-4o": {"prompt_per_1k": -1}}`} {
		settings := validSettings()
		settings["ANALYTICS_PRICES"] = prices
		settings["ANALYTICS_LATENESS"] = "soon"
		_, err := Load(env(settings))
		if err == nil {
			t.Fatalf("Load accepted ANALYTICS_PRICES %s", prices)
		}
		for _, name := range []string{"ANALYTICS_PRICES", "ANALYTICS_LATENESS"} {
			if !strings.Contains(err.Error(), name) {
				t.Errorf("prices %s: error does not name %s: %v", prices, name, err)
			}
		}
	}
}

func TestLoadLimitsDefaults(t *testing.T) {
	cfg, err := Load(env(validSettings()))
	if err != nil {
		t.Fatal(err)
	}
	l := cfg.Limits
	if l.MaxDocumentsPerOrganization != MaxDocumentsPerOrganizationDefault {
		t.Errorf("MaxDocumentsPerOrganization = %d", l.MaxDocumentsPerOrganization)
	}
	if l.MaxRequestBodyBytes != MaxRequestBodyBytesDefault {
		t.Errorf("MaxRequestBodyBytes = %d", l.MaxRequestBodyBytes)
	}
	if l.RateLimitWindow != RateLimitWindowDefault {
		t.Errorf("RateLimitWindow = %s", l.RateLimitWindow)
	}
	if l.Chat.PerUser != RateLimitChatPerUserDefault || l.Search.PerOrganization != RateLimitSearchPerOrgDefault || l.Upload.PerUser != RateLimitUploadPerUserDefault {
		t.Errorf("rate limits = %+v %+v %+v", l.Chat, l.Search, l.Upload)
	}
	if len(l.CORSAllowedOrigins) != 0 {
		t.Errorf("CORSAllowedOrigins = %v, want none", l.CORSAllowedOrigins)
	}
}

func TestLoadLimitsSettings(t *testing.T) {
	settings := validSettings()
	settings["CORS_ALLOWED_ORIGINS"] = "https://app.contoso.example, http://localhost:5173/"
	settings["RATE_LIMIT_CHAT_PER_USER"] = "3"
	settings["MAX_DOCUMENTS_PER_ORGANIZATION"] = "7"
	cfg, err := Load(env(settings))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"https://app.contoso.example", "http://localhost:5173"}
	if strings.Join(cfg.Limits.CORSAllowedOrigins, " ") != strings.Join(want, " ") {
		t.Errorf("CORSAllowedOrigins = %v, want %v", cfg.Limits.CORSAllowedOrigins, want)
	}
	if cfg.Limits.Chat.PerUser != 3 {
		t.Errorf("Chat.PerUser = %d, want 3", cfg.Limits.Chat.PerUser)
	}
	if cfg.Limits.MaxDocumentsPerOrganization != 7 {
		t.Errorf("MaxDocumentsPerOrganization = %d, want 7", cfg.Limits.MaxDocumentsPerOrganization)
	}
}

func TestLoadRejectsInvalidLimits(t *testing.T) {
	settings := validSettings()
	settings["CORS_ALLOWED_ORIGINS"] = "*"
	settings["RATE_LIMIT_WINDOW"] = "0s"
	settings["RATE_LIMIT_UPLOAD_PER_ORGANIZATION"] = "-1"
	settings["MAX_REQUEST_BODY_BYTES"] = "big"
	_, err := Load(env(settings))
	if err == nil {
		t.Fatal("Load accepted invalid limits")
	}
	for _, name := range []string{"CORS_ALLOWED_ORIGINS", "RATE_LIMIT_WINDOW", "RATE_LIMIT_UPLOAD_PER_ORGANIZATION", "MAX_REQUEST_BODY_BYTES"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
}
