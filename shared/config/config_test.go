package config

import (
	"strings"
	"testing"
)

func env(values map[string]string) func(string) string {
	return func(name string) string { return values[name] }
}

func validSettings() map[string]string {
	return map[string]string{
		"DATABASE_URL":         "postgres://bondingai_app@127.0.0.1:54320/bondingai",
		"DocumentStorage":      "UseDevelopmentStorage=true",
		"ServiceBusConnection": "postgres://postgres@127.0.0.1:54320/localqueue",
		"WORKOS_CLIENT_ID":     "client_local",
		"EMBEDDING_MODEL_DIR":  "/models/use-lite",
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
