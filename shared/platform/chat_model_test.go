package platform

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bondingai/platform/shared/config"
	"github.com/bondingai/platform/shared/llm"
	"github.com/bondingai/platform/shared/llm/llmtest"
)

func TestNewChatModelNone(t *testing.T) {
	model, err := newChatModel(config.Chat{Provider: config.ChatProviderNone, RequestTimeout: time.Minute}, nil, &http.Client{}, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	if model != nil {
		t.Errorf("model = %v, want a nil interface for CHAT_PROVIDER none", model)
	}
}

func TestNewChatModelStreamsPastClientTimeout(t *testing.T) {
	server := llmtest.NewServer(t)
	// Each delta waits 30ms, so the stream outlasts the outbound client's
	// 50ms timeout but not the 10s CHAT_REQUEST_TIMEOUT.
	server.Enqueue(llmtest.Reply{Deltas: []string{"one ", "two ", "three ", "four"}, DeltaDelay: 30 * time.Millisecond})
	outbound := &http.Client{Timeout: 50 * time.Millisecond}
	cfg := config.Chat{
		Provider:       config.ChatProviderOpenAICompatible,
		OpenAIBaseURL:  server.URL,
		OpenAIModel:    "local-model",
		RequestTimeout: 10 * time.Second,
	}

	model, err := newChatModel(cfg, nil, outbound, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if got := model.Name(); got != "openai-compatible/local-model" {
		t.Errorf("Name = %q", got)
	}
	response, err := model.Stream(context.Background(), llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "Count."}}}, func(string) error { return nil })
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	if response.Content != "one two three four" {
		t.Errorf("Content = %q", response.Content)
	}
	if outbound.Timeout != 50*time.Millisecond {
		t.Errorf("outbound client timeout changed to %s", outbound.Timeout)
	}
}

func TestNewChatModelAzure(t *testing.T) {
	cfg := config.Chat{
		Provider:              config.ChatProviderAzureOpenAI,
		AzureOpenAIEndpoint:   "https://contoso.openai.azure.com",
		AzureOpenAIDeployment: "gpt-4o-mini",
		AzureOpenAIAPIKey:     "key",
		AzureOpenAIAPIVersion: config.AzureOpenAIAPIVersionDefault,
		RequestTimeout:        time.Minute,
	}
	model, err := newChatModel(cfg, nil, &http.Client{}, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	if got := model.Name(); got != "azure-openai/gpt-4o-mini" {
		t.Errorf("Name = %q", got)
	}
}

func TestNewChatModelInvalid(t *testing.T) {
	// Azure without a key or a credential.
	cfg := config.Chat{
		Provider:              config.ChatProviderAzureOpenAI,
		AzureOpenAIEndpoint:   "https://contoso.openai.azure.com",
		AzureOpenAIDeployment: "gpt-4o-mini",
		RequestTimeout:        time.Minute,
	}
	model, err := newChatModel(cfg, nil, &http.Client{}, slog.Default())
	if err == nil || !strings.Contains(err.Error(), "AZURE_OPENAI_API_KEY") {
		t.Errorf("err = %v, want one naming AZURE_OPENAI_API_KEY", err)
	}
	if model != nil {
		t.Errorf("model = %#v, want a nil interface on error", model)
	}
}

func TestNeedsCredentialForAzureChat(t *testing.T) {
	cfg := &config.Config{
		DocumentStorage: config.StorageConnection{ConnectionString: "UseDevelopmentStorage=true"},
		Embedding:       config.Embedding{Provider: config.EmbeddingProviderUSELite},
		Chat:            config.Chat{Provider: config.ChatProviderAzureOpenAI},
	}
	if !needsCredential(cfg) {
		t.Error("needsCredential = false for an Azure chat model without a key")
	}
	cfg.Chat.AzureOpenAIAPIKey = "key"
	if needsCredential(cfg) {
		t.Error("needsCredential = true for an Azure chat model with a key")
	}
}
