package ingest_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bondingai/platform/shared/embedding"
	"github.com/bondingai/platform/shared/embedding/uselite"
	"github.com/bondingai/platform/shared/extract"
	"github.com/bondingai/platform/shared/ingest"
	"github.com/bondingai/platform/shared/queue/localqueue"
	"github.com/bondingai/platform/shared/queue/localqueue/localqueuetest"
	"github.com/bondingai/platform/shared/store"
	"github.com/bondingai/platform/shared/store/storetest"
)

var (
	encoderOnce sync.Once
	encoder     *uselite.Encoder
	encoderErr  error
)

// loadEncoder loads the USE-lite weights once for the package's tests.
func loadEncoder(t *testing.T) *uselite.Encoder {
	t.Helper()
	encoderOnce.Do(func() {
		dir := os.Getenv("BONDINGAI_MODEL_DIR")
		if dir == "" {
			_, file, _, _ := runtime.Caller(0)
			dir = filepath.Join(filepath.Dir(file), "..", "..", ".local", "models", "use-lite")
		}
		encoder, encoderErr = uselite.Load(dir)
	})
	if encoderErr != nil {
		t.Fatalf("load USE-lite weights (run scripts/test, which installs them): %v", encoderErr)
	}
	return encoder
}

var (
	extractorOnce sync.Once
	extractor     *extract.Extractor
	extractorErr  error
)

// loadExtractor starts one extractor for the package's tests; compiling
// PDFium takes seconds, so its cache lives in the system temp folder.
func loadExtractor(t *testing.T) *extract.Extractor {
	t.Helper()
	extractorOnce.Do(func() {
		extractor, extractorErr = extract.New(extract.Config{CacheDir: filepath.Join(os.TempDir(), "bondingai-test-pdfium")})
	})
	if extractorErr != nil {
		t.Fatal(extractorErr)
	}
	return extractor
}

// flakyEmbedder fails while failures is positive, then embeds for real.
type flakyEmbedder struct {
	embedding.Embedder
	mu       sync.Mutex
	failures int
}

func (f *flakyEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failures > 0 {
		f.failures--
		return nil, errors.New("embedding endpoint unavailable")
	}
	return f.Embedder.Embed(ctx, texts)
}

type fixture struct {
	svc      *ingest.Service
	queue    *localqueue.Queue
	embedder *flakyEmbedder
	ctx      context.Context
	org      uuid.UUID
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	s, _ := storetest.Open(t)
	q, err := localqueue.Open(ctx, localqueuetest.NewDatabase(t), localqueue.Options{MaxDeliveryCount: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close(ctx) })
	extractor := loadExtractor(t)
	org, err := s.EnsureOrganization(ctx, "org_ingest")
	if err != nil {
		t.Fatal(err)
	}
	embedder := &flakyEmbedder{Embedder: loadEncoder(t)}
	svc := &ingest.Service{
		Store: s, Extractor: extractor, Embedder: embedder, Queue: q,
		QueueName: ingest.EmbeddingQueue, BatchSize: 2, MaxDeliveryCount: 3,
	}
	return &fixture{svc: svc, queue: q, embedder: embedder, ctx: ctx, org: org}
}

func (f *fixture) createDocument(t *testing.T, filename, content string) uuid.UUID {
	t.Helper()
	id := uuid.New()
	err := f.svc.Store.InOrg(f.ctx, f.org, func(tx pgx.Tx) error {
		return store.CreateDocument(f.ctx, tx, &store.Document{
			ID: id, OrgID: f.org, Filename: filename, ContentType: "text/markdown",
			SizeBytes: int64(len(content)), SHA256: []byte(id.String()), BlobName: "x/" + filename,
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (f *fixture) document(t *testing.T, id uuid.UUID) *store.Document {
	t.Helper()
	var doc *store.Document
	err := f.svc.Store.InOrg(f.ctx, f.org, func(tx pgx.Tx) error {
		var err error
		doc, err = store.GetDocument(f.ctx, tx, id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// drain delivers every queued embedding job to EmbedJob, as the Functions
// host would, and returns how many deliveries failed.
func (f *fixture) drain(t *testing.T) int {
	t.Helper()
	failed := 0
	for {
		delivery, err := f.queue.Receive(f.ctx, ingest.EmbeddingQueue, localqueue.LockDurationDefault)
		if err != nil {
			t.Fatal(err)
		}
		if delivery == nil {
			return failed
		}
		job, err := ingest.DecodeJob(delivery.Body)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.svc.EmbedJob(f.ctx, job, delivery.DeliveryCount); err != nil {
			failed++
			if delivery.DeliveryCount >= f.queue.MaxDeliveryCount(ingest.EmbeddingQueue) {
				err = f.queue.DeadLetter(f.ctx, delivery, localqueue.ReasonMaxDeliveryCountExceeded, err.Error())
			} else {
				err = f.queue.Abandon(f.ctx, delivery)
			}
		} else {
			err = f.queue.Complete(f.ctx, delivery)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

const policy = `# Leave policy

## Vacation

Every employee receives twenty days of paid vacation per year. Requests must be submitted two weeks in advance.

## Sick leave

A medical note is required after three consecutive days of sick leave.

## Overtime

Overtime needs manager approval before the work is done. Hours beyond forty per week count as overtime.
`

func TestIngestThenEmbedMakesDocumentReady(t *testing.T) {
	f := newFixture(t)
	id := f.createDocument(t, "policy.md", policy)

	if err := f.svc.IngestDocument(f.ctx, f.org, id, []byte(policy)); err != nil {
		t.Fatal(err)
	}
	doc := f.document(t, id)
	if doc.Status != store.StatusProcessing || doc.ChunkCount == nil || *doc.ChunkCount < 3 {
		t.Fatalf("after ingestion: status %q, chunk_count %v; want processing with at least 3 chunks", doc.Status, doc.ChunkCount)
	}
	queued, err := f.queue.ActiveMessageCount(f.ctx, ingest.EmbeddingQueue)
	if err != nil {
		t.Fatal(err)
	}
	wantJobs := (int64(*doc.ChunkCount) + 1) / 2
	if queued != wantJobs {
		t.Errorf("queued %d messages, want %d (batches of 2)", queued, wantJobs)
	}

	if failed := f.drain(t); failed != 0 {
		t.Fatalf("%d deliveries failed", failed)
	}
	doc = f.document(t, id)
	if doc.Status != store.StatusReady || doc.ReadyAt == nil {
		t.Fatalf("status = %q, want ready", doc.Status)
	}
	if doc.EmbeddingModel == nil || *doc.EmbeddingModel != uselite.ModelName {
		t.Errorf("embedding_model = %v, want %s", doc.EmbeddingModel, uselite.ModelName)
	}

	var hits []store.SearchHit
	err = f.svc.Store.InOrg(f.ctx, f.org, func(tx pgx.Tx) error {
		vectors, err := f.embedder.Embed(f.ctx, []string{"When do I need a doctor's note?"})
		if err != nil {
			return err
		}
		hits, err = store.SearchByVector(f.ctx, tx, vectors[0], uselite.ModelName, 1)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 1 || !strings.Contains(hits[0].Text, "medical note") {
		t.Errorf("nearest chunk = %+v, want the sick-leave passage", hits)
	}
	if len(hits) == 1 && strings.Join(hits[0].HeadingPath, "/") != "Leave policy/Sick leave" {
		t.Errorf("heading path = %v, want [Leave policy Sick leave]", hits[0].HeadingPath)
	}
}

func TestRedeliveryAddsNothing(t *testing.T) {
	f := newFixture(t)
	id := f.createDocument(t, "policy.md", policy)
	for range 2 {
		if err := f.svc.IngestDocument(f.ctx, f.org, id, []byte(policy)); err != nil {
			t.Fatal(err)
		}
	}
	// The second ingestion resent the same job ids; duplicate detection
	// dropped them.
	first := f.document(t, id)
	queued, err := f.queue.ActiveMessageCount(f.ctx, ingest.EmbeddingQueue)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(*first.ChunkCount+1) / 2; queued != want {
		t.Errorf("queued %d messages after a repeated ingestion, want %d", queued, want)
	}
	f.drain(t)

	// Replaying a finished job changes nothing.
	var jobID uuid.UUID
	err = f.svc.Store.InOrg(f.ctx, f.org, func(tx pgx.Tx) error {
		return tx.QueryRow(f.ctx, "SELECT id FROM embedding_jobs WHERE document_id = $1 LIMIT 1", id).Scan(&jobID)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.EmbedJob(f.ctx, ingest.Job{JobID: jobID, OrgID: f.org, DocumentID: id}, 1); err != nil {
		t.Errorf("replayed job: %v", err)
	}
	// Ingesting a ready document again is a no-op.
	if err := f.svc.IngestDocument(f.ctx, f.org, id, []byte(policy)); err != nil {
		t.Fatal(err)
	}
	doc := f.document(t, id)
	if doc.Status != store.StatusReady || *doc.ChunkCount != *first.ChunkCount {
		t.Errorf("after replays: status %q chunk_count %d, want ready with %d", doc.Status, *doc.ChunkCount, *first.ChunkCount)
	}
	var chunks int
	err = f.svc.Store.InOrg(f.ctx, f.org, func(tx pgx.Tx) error {
		var err error
		chunks, err = store.CountChunks(f.ctx, tx, id)
		return err
	})
	if err != nil || chunks != *first.ChunkCount {
		t.Errorf("stored chunks = %d, %v; want %d", chunks, err, *first.ChunkCount)
	}
}

func TestEmbeddingRetriesThenSucceeds(t *testing.T) {
	f := newFixture(t)
	id := f.createDocument(t, "policy.md", policy)
	if err := f.svc.IngestDocument(f.ctx, f.org, id, []byte(policy)); err != nil {
		t.Fatal(err)
	}
	f.embedder.failures = 2
	if failed := f.drain(t); failed != 2 {
		t.Errorf("failed deliveries = %d, want 2", failed)
	}
	if doc := f.document(t, id); doc.Status != store.StatusReady {
		t.Errorf("status = %q, want ready after retries", doc.Status)
	}
}

func TestEmbeddingFailsDocumentOnLastDelivery(t *testing.T) {
	f := newFixture(t)
	id := f.createDocument(t, "policy.md", policy)
	if err := f.svc.IngestDocument(f.ctx, f.org, id, []byte(policy)); err != nil {
		t.Fatal(err)
	}
	f.embedder.failures = 1000
	f.drain(t)

	doc := f.document(t, id)
	if doc.Status != store.StatusFailed || doc.Error == nil || !strings.Contains(*doc.Error, "embedding failed after 3 attempts") {
		t.Errorf("status %q error %v; want failed naming the attempts", doc.Status, doc.Error)
	}
	dead, err := f.queue.PeekDeadLetters(f.ctx, ingest.EmbeddingQueue, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) == 0 {
		t.Error("no message reached the dead-letter queue; a failed job must be kept")
	}
}

func TestDocumentWithoutTextFails(t *testing.T) {
	f := newFixture(t)
	id := f.createDocument(t, "blank.md", "   \n\n  ")
	if err := f.svc.IngestDocument(f.ctx, f.org, id, []byte("   \n\n  ")); err != nil {
		t.Fatal(err)
	}
	doc := f.document(t, id)
	if doc.Status != store.StatusFailed || doc.Error == nil || *doc.Error != extract.ErrNoText.Error() {
		t.Errorf("status %q error %v; want failed with the no-text reason", doc.Status, doc.Error)
	}
	if n, _ := f.queue.ActiveMessageCount(f.ctx, ingest.EmbeddingQueue); n != 0 {
		t.Errorf("%d jobs queued for a document without text", n)
	}
}

func TestIngestSkipsDeletedDocument(t *testing.T) {
	f := newFixture(t)
	if err := f.svc.IngestDocument(f.ctx, f.org, uuid.New(), []byte(policy)); err != nil {
		t.Errorf("ingesting a deleted document: %v, want nil", err)
	}
}

func TestDecodeJobRejectsBadBodies(t *testing.T) {
	for _, body := range []string{"", "{", `{"job_id":"x"}`, `{"job_id":"` + uuid.NewString() + `"}`} {
		if _, err := ingest.DecodeJob([]byte(body)); !errors.Is(err, ingest.ErrInvalidJob) {
			t.Errorf("DecodeJob(%q): err = %v, want ErrInvalidJob", body, err)
		}
	}
	good, _ := json.Marshal(ingest.Job{JobID: uuid.New(), OrgID: uuid.New(), DocumentID: uuid.New()})
	if _, err := ingest.DecodeJob(good); err != nil {
		t.Errorf("DecodeJob(valid): %v", err)
	}
}
