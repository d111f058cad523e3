package funchost_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/bondingai/platform/shared/funchost"
	"github.com/bondingai/platform/shared/queue/localqueue/localqueuetest"
)

const ingestFunction = `{"bindings":[
	{"type":"blobTrigger","direction":"in","name":"document","path":"%DocumentsContainer%/{orgId}/{documentId}/{name}","connection":"DocumentStorage"}]}`

// newContainer creates a uniquely named container in Azurite and deletes it
// when the test ends.
func newContainer(t *testing.T) (*container.Client, string) {
	t.Helper()
	name := "test-docs-" + localqueuetest.RandomSuffix(t)
	client, err := container.NewClientFromConnectionString(storageConnection(t), name, nil)
	if err != nil {
		t.Fatalf("connect to container %s: %v", name, err)
	}
	if _, err := client.Create(context.Background(), nil); err != nil {
		t.Fatalf("create container %s: %v", name, err)
	}
	t.Cleanup(func() {
		if _, err := client.Delete(context.Background(), nil); err != nil {
			t.Errorf("delete container %s: %v", name, err)
		}
	})
	return client, name
}

func uploadBlob(t *testing.T, client *container.Client, name, content string, metadata map[string]*string) {
	t.Helper()
	_, err := client.NewBlockBlobClient(name).UploadBuffer(context.Background(), []byte(content), &azblob.UploadBufferOptions{Metadata: metadata})
	if err != nil {
		t.Fatalf("upload blob %s: %v", name, err)
	}
}

// invocationsForBlob returns the recorded invocations of function whose
// documentId path parameter is documentID.
func invocationsForBlob(t *testing.T, records []record, function, documentID string) []record {
	t.Helper()
	var matching []record
	for _, invocation := range requestsTo(records, "/"+function) {
		if decodeString(t, invocation.envelope(t)["Metadata"]["documentId"]) == `"`+documentID+`"` {
			matching = append(matching, invocation)
		}
	}
	return matching
}

func TestHostBlobTriggerFiresOncePerVersion(t *testing.T) {
	blobs, containerName := newContainer(t)
	appDir := writeApp(t, testApp{Functions: map[string]string{"Ingest": ingestFunction}})
	settings := map[string]string{
		"DocumentStorage":     storageConnection(t),
		"AzureWebJobsStorage": storageConnection(t),
		"DocumentsContainer":  containerName,
		// A host id per test keeps receipts of parallel runs apart.
		"AzureFunctionsWebHost__hostid": "test-" + localqueuetest.RandomSuffix(t),
	}
	host := startHost(t, appDir, settings, nil)

	uploadBlob(t, blobs, "o1/d1/handbook.txt", "handbook text", map[string]*string{"source": to.Ptr("test")})
	uploadBlob(t, blobs, "not-matching.txt", "ignored", nil)
	invocations := waitForRequests(t, host, "/Ingest", 1, 30*time.Second)

	envelope := invocations[0].envelope(t)
	content, err := base64.StdEncoding.DecodeString(decodeString(t, envelope["Data"]["document"]))
	if err != nil {
		t.Fatalf("Data.document is not base64: %v", err)
	}
	if string(content) != "handbook text" {
		t.Errorf("blob content = %q", content)
	}
	metadata := envelope["Metadata"]
	for name, want := range map[string]string{"orgId": `"o1"`, "documentId": `"d1"`, "name": `"handbook.txt"`} {
		if got := decodeString(t, metadata[name]); got != want {
			t.Errorf("Metadata.%s = %q, want %q", name, got, want)
		}
	}
	if uri := decodeString(t, metadata["Uri"]); !strings.HasSuffix(uri, `/`+containerName+`/o1/d1/handbook.txt"`) {
		t.Errorf("Metadata.Uri = %q, want the blob URL as a JSON string", uri)
	}
	if _, ok := metadata["BlobTrigger"]; ok {
		t.Error("Metadata has BlobTrigger, which the real host leaves out")
	}
	var userMetadata map[string]string
	if err := json.Unmarshal(metadata["Metadata"], &userMetadata); err != nil || userMetadata["source"] != "test" {
		t.Errorf("Metadata.Metadata = %s (%v), want source=test", metadata["Metadata"], err)
	}
	var properties struct {
		ContentLength int
		ETag          string
	}
	if err := json.Unmarshal(metadata["Properties"], &properties); err != nil {
		t.Fatalf("decode Properties: %v", err)
	}
	if properties.ContentLength != len("handbook text") || properties.ETag == "" {
		t.Errorf("Properties = %+v", properties)
	}

	// Scans run one after another, so once a later blob fired, the earlier
	// one was seen again by at least one scan.
	uploadBlob(t, blobs, "o1/d2/policy.txt", "policy", nil)
	waitFor(t, 30*time.Second, "second blob fired", func() bool {
		return len(invocationsForBlob(t, readRecords(t, host.Record), "Ingest", "d2")) == 1
	})
	if got := len(invocationsForBlob(t, readRecords(t, host.Record), "Ingest", "d1")); got != 1 {
		t.Errorf("first blob fired %d times, want 1", got)
	}
	if got := len(requestsTo(readRecords(t, host.Record), "/Ingest")); got != 2 {
		t.Errorf("Ingest invoked %d times, want 2 (not-matching.txt must not fire)", got)
	}

	// A new version of a blob has a new ETag and fires again.
	uploadBlob(t, blobs, "o1/d1/handbook.txt", "handbook v2", nil)
	waitFor(t, 30*time.Second, "new blob version fired", func() bool {
		return len(invocationsForBlob(t, readRecords(t, host.Record), "Ingest", "d1")) == 2
	})

	// Receipts survive a restart: a new host fires only for new blobs.
	if err := host.Stop(); err != nil {
		t.Fatalf("stop first host: %v", err)
	}
	restarted := startHost(t, appDir, settings, nil)
	uploadBlob(t, blobs, "o1/d3/third.txt", "third", nil)
	waitFor(t, 30*time.Second, "blob after restart fired", func() bool {
		return len(invocationsForBlob(t, readRecords(t, restarted.Record), "Ingest", "d3")) == 1
	})
	if got := len(requestsTo(readRecords(t, restarted.Record), "/Ingest")); got != 1 {
		t.Errorf("restarted host invoked Ingest %d times, want 1 (only the new blob)", got)
	}
}

func TestHostBlobTriggerPoison(t *testing.T) {
	blobs, containerName := newContainer(t)
	databaseURL := localqueuetest.NewDatabase(t)
	appDir := writeApp(t, testApp{
		Functions:  map[string]string{"Ingest": ingestFunction},
		Extensions: `{"blobs":{"poisonBlobThreshold":2}}`,
	})
	host := startHost(t, appDir, map[string]string{
		"DocumentStorage":               storageConnection(t),
		"DocumentsContainer":            containerName,
		"ServiceBusConnection":          databaseURL,
		"FAKE_HANDLER_FAIL":             "Ingest",
		"AzureFunctionsWebHost__hostid": "test-" + localqueuetest.RandomSuffix(t),
	}, nil)
	q := openTestQueue(t, databaseURL)

	uploadBlob(t, blobs, "o1/d1/broken.pdf", "not a pdf", nil)

	waitFor(t, 30*time.Second, "poison message", func() bool {
		count, err := q.ActiveMessageCount(context.Background(), funchost.PoisonBlobQueue)
		if err != nil {
			t.Fatalf("ActiveMessageCount: %v", err)
		}
		return count == 1
	})
	messages, err := q.PeekMessages(context.Background(), funchost.PoisonBlobQueue, 10)
	if err != nil {
		t.Fatalf("PeekMessages: %v", err)
	}
	var poison map[string]string
	if err := json.Unmarshal(messages[0].Body, &poison); err != nil {
		t.Fatalf("decode poison message %q: %v", messages[0].Body, err)
	}
	want := map[string]string{
		"FunctionId":    "Host.Functions.Ingest",
		"BlobType":      "BlockBlob",
		"ContainerName": containerName,
		"BlobName":      "o1/d1/broken.pdf",
	}
	for key, value := range want {
		if poison[key] != value {
			t.Errorf("poison %s = %q, want %q", key, poison[key], value)
		}
	}
	if poison["ETag"] == "" {
		t.Error("poison message without ETag")
	}

	// A later blob fires after the poisoned one had more scans, so the
	// count below is final.
	uploadBlob(t, blobs, "o1/d2/next.pdf", "next", nil)
	waitFor(t, 30*time.Second, "next blob tried", func() bool {
		return len(invocationsForBlob(t, readRecords(t, host.Record), "Ingest", "d2")) >= 1
	})
	if got := len(invocationsForBlob(t, readRecords(t, host.Record), "Ingest", "d1")); got != 2 {
		t.Errorf("poisoned blob tried %d times, want 2 (poisonBlobThreshold)", got)
	}
}
