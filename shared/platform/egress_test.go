package platform

import (
	"testing"

	"github.com/bondingai/platform/shared/config"
	"github.com/bondingai/platform/shared/egress"
)

func destinationsByName(t *testing.T, cfg *config.Config, env map[string]string) map[string]egress.Destination {
	t.Helper()
	list, err := AllowList(cfg, func(name string) string { return env[name] })
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]egress.Destination{}
	for _, d := range list {
		byName[d.Name] = d
	}
	return byName
}

func TestAllowListLocalStack(t *testing.T) {
	cfg := &config.Config{
		DocumentStorage: config.StorageConnection{ConnectionString: "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:10010/devstoreaccount1;"},
		ServiceBus:      config.ServiceBusConnection{LocalQueueURL: "postgres://127.0.0.1/localqueue"},
		WorkOS:          config.WorkOS{APIBaseURL: "http://127.0.0.1:7072"},
		Embedding:       config.Embedding{Provider: config.EmbeddingProviderUSELite},
		Chat:            config.Chat{Provider: config.ChatProviderNone},
	}
	got := destinationsByName(t, cfg, nil)
	if len(got) != 2 {
		t.Errorf("destinations = %v, want only WorkOS and Blob Storage", got)
	}
	workos := got[DestinationWorkOS]
	if workos.Host != "127.0.0.1:7072" || workos.Class != egress.ClassIdentity || !workos.OutsideCustomerCloud {
		t.Errorf("workos = %+v", workos)
	}
	blob := got[DestinationBlobStorage]
	if blob.Host != "127.0.0.1:10010" || blob.Class != egress.ClassBusiness || blob.OutsideCustomerCloud || blob.PathSegments != 2 {
		t.Errorf("blob storage = %+v", blob)
	}
}

func TestAllowListAzureDeployment(t *testing.T) {
	cfg := &config.Config{
		DocumentStorage: config.StorageConnection{BlobServiceURI: "https://contosodocs.blob.core.windows.net"},
		ServiceBus:      config.ServiceBusConnection{FullyQualifiedNamespace: "contoso.servicebus.windows.net"},
		WorkOS:          config.WorkOS{APIBaseURL: "https://api.workos.com"},
		Embedding:       config.Embedding{Provider: config.EmbeddingProviderAzureOpenAI, AzureOpenAIEndpoint: "https://contoso.openai.azure.com"},
		Chat:            config.Chat{Provider: config.ChatProviderAzureOpenAI},
	}
	got := destinationsByName(t, cfg, map[string]string{"IDENTITY_ENDPOINT": "http://localhost:8081/msi/token"})
	want := map[string]string{
		DestinationWorkOS:          "api.workos.com",
		DestinationBlobStorage:     "contosodocs.blob.core.windows.net",
		DestinationServiceBus:      "contoso.servicebus.windows.net",
		DestinationAzureOpenAI:     "contoso.openai.azure.com",
		DestinationManagedIdentity: "localhost:8081",
		DestinationEntraID:         entraIDHost,
	}
	if len(got) != len(want) {
		t.Errorf("got %d destinations, want %d: %v", len(got), len(want), got)
	}
	for name, host := range want {
		if got[name].Host != host {
			t.Errorf("%s host = %q, want %q", name, got[name].Host, host)
		}
	}
	outside := 0
	for _, d := range got {
		if d.OutsideCustomerCloud {
			outside++
		}
	}
	if outside != 1 || !got[DestinationWorkOS].OutsideCustomerCloud {
		t.Errorf("destinations outside the customer's cloud: %d, want only WorkOS", outside)
	}
	if got[DestinationBlobStorage].PathSegments != 1 {
		t.Errorf("Azure blob path segments kept = %d, want 1 (the container)", got[DestinationBlobStorage].PathSegments)
	}
}

func TestAllowListRejectsUnreadableStorage(t *testing.T) {
	cfg := &config.Config{
		DocumentStorage: config.StorageConnection{ConnectionString: "SharedAccessSignature=sv=2020"},
		WorkOS:          config.WorkOS{APIBaseURL: "https://api.workos.com"},
	}
	if _, err := AllowList(cfg, func(string) string { return "" }); err == nil {
		t.Error("AllowList succeeded without a blob endpoint")
	}
}
