package platform

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/bondingai/platform/shared/config"
	"github.com/bondingai/platform/shared/egress"
	"github.com/bondingai/platform/shared/store"
)

// newEgressClient builds the egress policy from the configuration, starts
// its audit writer and returns the one HTTP client every outbound call uses.
func (p *Platform) newEgressClient() (*http.Client, error) {
	destinations, err := AllowList(p.Config, os.Getenv)
	if err != nil {
		return nil, err
	}
	p.EgressAudit = egress.NewBatchAuditor(p.writeEgressAudit, p.Logger)
	p.closers = append(p.closers, p.EgressAudit.Close)
	if p.Egress, err = egress.NewPolicy(destinations, p.EgressAudit, p.Logger); err != nil {
		return nil, err
	}
	return p.Egress.Client(http.DefaultTransport, outboundTimeout), nil
}

func (p *Platform) writeEgressAudit(ctx context.Context, records []egress.Record) error {
	rows := make([]store.EgressRecord, len(records))
	for i, r := range records {
		rows[i] = store.EgressRecord{
			OccurredAt: r.Time, Function: r.Function, Destination: r.Destination, Class: string(r.Class),
			Host: r.Host, Method: r.Method, PathTemplate: r.PathTemplate, BytesSent: r.BytesSent,
			BytesReceived: r.BytesReceived, Status: r.Status, OutsideCustomerCloud: r.OutsideCustomerCloud,
		}
	}
	return p.Store.InsertEgressRecords(ctx, rows)
}

// Names of allow-listed destinations, as the audit and reports show them.
const (
	DestinationWorkOS           = "workos"
	DestinationBlobStorage      = "blob-storage"
	DestinationServiceBus       = "service-bus"
	DestinationAzureOpenAI      = "azure-openai"
	DestinationOpenAICompatible = "openai-compatible"
	DestinationManagedIdentity  = "managed-identity"
	DestinationEntraID          = "entra-id"
)

// entraIDHost issues tokens for managed identities and service principals
// outside App Service's local identity endpoint.
const entraIDHost = "login.microsoftonline.com"

// AllowList returns the destinations the configuration needs: WorkOS for
// identity, the only one outside the customer's cloud, and the customer's
// own storage account, Service Bus namespace, model endpoints and
// managed-identity endpoints. getenv reads the variables the Functions
// platform sets (IDENTITY_ENDPOINT).
func AllowList(cfg *config.Config, getenv func(string) string) ([]egress.Destination, error) {
	var destinations []egress.Destination
	add := func(name, rawURL string, class egress.Class, outside bool, pathSegments int) error {
		u, err := url.Parse(rawURL)
		if err != nil || u.Host == "" {
			return fmt.Errorf("egress allow-list: invalid URL for %s: %q", name, rawURL)
		}
		destinations = append(destinations, egress.Destination{
			Name: name, Host: u.Host, Class: class, OutsideCustomerCloud: outside, PathSegments: pathSegments,
		})
		return nil
	}

	if err := add(DestinationWorkOS, cfg.WorkOS.APIBaseURL, egress.ClassIdentity, true, 0); err != nil {
		return nil, err
	}

	blobURL, err := blobEndpoint(cfg.DocumentStorage)
	if err != nil {
		return nil, err
	}
	// Azure serves /<container>/<blob>; Azurite serves
	// /<account>/<container>/<blob>. Only the account and container stay
	// in the audit, because blob names end in file names.
	keep := 1
	if u, _ := url.Parse(blobURL); u != nil && strings.Trim(u.Path, "/") != "" {
		keep = 2
	}
	if err := add(DestinationBlobStorage, blobURL, egress.ClassBusiness, false, keep); err != nil {
		return nil, err
	}

	if ns := serviceBusNamespace(cfg.ServiceBus); ns != "" {
		// The Service Bus client speaks AMQP, not HTTP; the entry covers
		// AMQP over WebSockets and management calls.
		if err := add(DestinationServiceBus, "https://"+ns, egress.ClassBusiness, false, 0); err != nil {
			return nil, err
		}
	}

	switch cfg.Embedding.Provider {
	case config.EmbeddingProviderAzureOpenAI:
		if err := add(DestinationAzureOpenAI, cfg.Embedding.AzureOpenAIEndpoint, egress.ClassBusiness, false, 0); err != nil {
			return nil, err
		}
	case config.EmbeddingProviderOpenAICompatible:
		if err := add(DestinationOpenAICompatible, cfg.Embedding.OpenAIBaseURL, egress.ClassBusiness, false, 0); err != nil {
			return nil, err
		}
	}
	switch cfg.Chat.Provider {
	case config.ChatProviderAzureOpenAI:
		if err := add(DestinationAzureOpenAI, cfg.Embedding.AzureOpenAIEndpoint, egress.ClassBusiness, false, 0); err != nil {
			return nil, err
		}
	case config.ChatProviderOpenAICompatible:
		if err := add(DestinationOpenAICompatible, cfg.Embedding.OpenAIBaseURL, egress.ClassBusiness, false, 0); err != nil {
			return nil, err
		}
	}

	if needsCredential(cfg) {
		if endpoint := getenv("IDENTITY_ENDPOINT"); endpoint != "" {
			if err := add(DestinationManagedIdentity, endpoint, egress.ClassInfrastructure, false, 0); err != nil {
				return nil, err
			}
		}
		if err := add(DestinationEntraID, "https://"+entraIDHost, egress.ClassInfrastructure, false, 0); err != nil {
			return nil, err
		}
	}
	return dedupe(destinations), nil
}

// blobEndpoint returns the blob service URL of a storage connection.
func blobEndpoint(conn config.StorageConnection) (string, error) {
	if conn.BlobServiceURI != "" {
		return conn.BlobServiceURI, nil
	}
	values := map[string]string{}
	for _, part := range strings.Split(conn.ConnectionString, ";") {
		key, value, ok := strings.Cut(part, "=")
		if ok {
			values[strings.ToLower(strings.TrimSpace(key))] = strings.TrimSpace(value)
		}
	}
	switch {
	case strings.EqualFold(values["usedevelopmentstorage"], "true"):
		return "http://127.0.0.1:10000/devstoreaccount1", nil
	case values["blobendpoint"] != "":
		return values["blobendpoint"], nil
	case values["accountname"] != "":
		protocol := values["defaultendpointsprotocol"]
		if protocol == "" {
			protocol = "https"
		}
		suffix := values["endpointsuffix"]
		if suffix == "" {
			suffix = "core.windows.net"
		}
		return protocol + "://" + values["accountname"] + ".blob." + suffix, nil
	}
	return "", fmt.Errorf("egress allow-list: cannot tell the blob endpoint of the DocumentStorage connection")
}

// serviceBusNamespace returns the namespace host of a Service Bus
// connection, or "" for the local stand-in queue.
func serviceBusNamespace(conn config.ServiceBusConnection) string {
	if conn.FullyQualifiedNamespace != "" {
		return conn.FullyQualifiedNamespace
	}
	for _, part := range strings.Split(conn.ConnectionString, ";") {
		key, value, ok := strings.Cut(part, "=")
		if ok && strings.EqualFold(strings.TrimSpace(key), "Endpoint") {
			if u, err := url.Parse(strings.TrimSpace(value)); err == nil {
				return u.Host
			}
		}
	}
	return ""
}

func dedupe(destinations []egress.Destination) []egress.Destination {
	seen := map[string]bool{}
	out := destinations[:0]
	for _, d := range destinations {
		key := d.Name + "\x00" + d.Host
		if !seen[key] {
			seen[key] = true
			out = append(out, d)
		}
	}
	return out
}
