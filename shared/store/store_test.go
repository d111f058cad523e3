package store_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"math"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bondingai/platform/shared/store"
	"github.com/bondingai/platform/shared/store/storetest"
)

type fixture struct {
	s     *store.Store
	ctx   context.Context
	orgA  uuid.UUID
	orgB  uuid.UUID
	user  uuid.UUID
	appDB *storetest.Database
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	s, db := storetest.Open(t)
	ctx := context.Background()
	orgA, err := s.EnsureOrganization(ctx, "org_A")
	if err != nil {
		t.Fatal(err)
	}
	orgB, err := s.EnsureOrganization(ctx, "org_B")
	if err != nil {
		t.Fatal(err)
	}
	user, err := s.EnsureUser(ctx, "user_1")
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{s: s, ctx: ctx, orgA: orgA, orgB: orgB, user: user, appDB: db}
}

func (f *fixture) createDocument(t *testing.T, org uuid.UUID, content string) *store.Document {
	t.Helper()
	sum := sha256.Sum256([]byte(content))
	d := &store.Document{ID: uuid.New(), OrgID: org, UploadedBy: &f.user, Filename: "a.txt", ContentType: "text/plain",
		SizeBytes: int64(len(content)), SHA256: sum[:], BlobName: org.String() + "/a.txt"}
	err := f.s.InOrg(f.ctx, org, func(tx pgx.Tx) error { return store.CreateDocument(f.ctx, tx, d) })
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func unitVector(dims, hot int) []float32 {
	v := make([]float32, dims)
	v[hot] = 1
	return v
}

func TestEnsureOrganizationIsIdempotent(t *testing.T) {
	f := newFixture(t)
	again, err := f.s.EnsureOrganization(f.ctx, "org_A")
	if err != nil {
		t.Fatal(err)
	}
	if again != f.orgA {
		t.Errorf("second EnsureOrganization = %s, want %s", again, f.orgA)
	}
}

func TestDocumentInvisibleToOtherOrganization(t *testing.T) {
	f := newFixture(t)
	d := f.createDocument(t, f.orgA, "alpha")

	err := f.s.InOrg(f.ctx, f.orgB, func(tx pgx.Tx) error {
		_, err := store.GetDocument(f.ctx, tx, d.ID)
		return err
	})
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetDocument from another organization: err = %v, want ErrNotFound", err)
	}
	err = f.s.InOrg(f.ctx, f.orgB, func(tx pgx.Tx) error { return store.DeleteDocument(f.ctx, tx, d.ID) })
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteDocument from another organization: err = %v, want ErrNotFound", err)
	}
}

func TestQueryWithoutOrganizationSeesNoRows(t *testing.T) {
	f := newFixture(t)
	f.createDocument(t, f.orgA, "alpha")
	conn, err := pgx.Connect(f.ctx, f.appDB.AppURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(f.ctx)
	var n int
	if err := conn.QueryRow(f.ctx, "SELECT count(*) FROM documents").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("application role without app.org_id sees %d documents, want 0", n)
	}
}

func TestCreateDocumentDuplicateContent(t *testing.T) {
	f := newFixture(t)
	f.createDocument(t, f.orgA, "same bytes")
	sum := sha256.Sum256([]byte("same bytes"))
	dup := &store.Document{ID: uuid.New(), OrgID: f.orgA, Filename: "b.txt", ContentType: "text/plain", SHA256: sum[:], BlobName: "x"}
	err := f.s.InOrg(f.ctx, f.orgA, func(tx pgx.Tx) error { return store.CreateDocument(f.ctx, tx, dup) })
	if !errors.Is(err, store.ErrDuplicateContent) {
		t.Errorf("err = %v, want ErrDuplicateContent", err)
	}
	// The same content in another organization is a separate document.
	f.createDocument(t, f.orgB, "same bytes")
}

func TestDocumentReadyOnlyWhenEveryChunkHasVector(t *testing.T) {
	f := newFixture(t)
	d := f.createDocument(t, f.orgA, "two chunks")
	page := 1
	jobs := []store.EmbeddingJob{
		{ID: uuid.New(), OrgID: f.orgA, DocumentID: d.ID, BatchIndex: 0, FirstChunk: 0, LastChunk: 0},
		{ID: uuid.New(), OrgID: f.orgA, DocumentID: d.ID, BatchIndex: 1, FirstChunk: 1, LastChunk: 1},
	}
	err := f.s.InOrg(f.ctx, f.orgA, func(tx pgx.Tx) error {
		if err := store.MarkDocumentProcessing(f.ctx, tx, d.ID); err != nil {
			return err
		}
		chunks := []store.NewChunk{{Index: 0, Page: &page, Text: "first", TokenCount: 1}, {Index: 1, Page: &page, Text: "second", TokenCount: 1}}
		if err := store.InsertChunks(f.ctx, tx, f.orgA, d.ID, chunks); err != nil {
			return err
		}
		// A retried ingestion inserts nothing twice.
		if err := store.InsertChunks(f.ctx, tx, f.orgA, d.ID, chunks); err != nil {
			return err
		}
		if err := store.InsertEmbeddingJobs(f.ctx, tx, jobs); err != nil {
			return err
		}
		return store.RecordDocumentChunked(f.ctx, tx, d.ID, 1, 2, "test-model")
	})
	if err != nil {
		t.Fatal(err)
	}

	embedJob := func(job store.EmbeddingJob) bool {
		var ready bool
		err := f.s.InOrg(f.ctx, f.orgA, func(tx pgx.Tx) error {
			chunks, err := store.ChunksInRange(f.ctx, tx, d.ID, job.FirstChunk, job.LastChunk)
			if err != nil {
				return err
			}
			if len(chunks) != 1 {
				t.Fatalf("job %d has %d chunks, want 1", job.BatchIndex, len(chunks))
			}
			if err := store.SetChunkEmbeddings(f.ctx, tx, []uuid.UUID{chunks[0].ID}, [][]float32{unitVector(512, job.BatchIndex)}, "test-model"); err != nil {
				return err
			}
			if err := store.CompleteEmbeddingJob(f.ctx, tx, job.ID); err != nil {
				return err
			}
			if _, err := store.LockDocument(f.ctx, tx, d.ID); err != nil {
				return err
			}
			ready, err = store.MarkDocumentReadyIfComplete(f.ctx, tx, d.ID)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return ready
	}
	if embedJob(jobs[0]) {
		t.Fatal("document became ready with one job still queued")
	}
	if !embedJob(jobs[1]) {
		t.Fatal("document did not become ready after its last job")
	}
	var count int
	err = f.s.InOrg(f.ctx, f.orgA, func(tx pgx.Tx) error {
		var err error
		count, err = store.CountChunks(f.ctx, tx, d.ID)
		return err
	})
	if err != nil || count != 2 {
		t.Errorf("CountChunks = %d, %v; want 2", count, err)
	}
}

// readyDocument stores a ready document with one chunk per text, the i-th
// chunk's vector pointing along axis i.
func (f *fixture) readyDocument(t *testing.T, org uuid.UUID, name string, texts ...string) *store.Document {
	t.Helper()
	d := f.createDocument(t, org, name)
	err := f.s.InOrg(f.ctx, org, func(tx pgx.Tx) error {
		var chunks []store.NewChunk
		for i, text := range texts {
			page := i + 1
			chunks = append(chunks, store.NewChunk{Index: i, Page: &page, Text: text, TokenCount: 3})
		}
		if err := store.MarkDocumentProcessing(f.ctx, tx, d.ID); err != nil {
			return err
		}
		if err := store.InsertChunks(f.ctx, tx, org, d.ID, chunks); err != nil {
			return err
		}
		stored, err := store.ChunksInRange(f.ctx, tx, d.ID, 0, len(texts)-1)
		if err != nil {
			return err
		}
		var ids []uuid.UUID
		var vectors [][]float32
		for i, c := range stored {
			ids = append(ids, c.ID)
			vectors = append(vectors, unitVector(512, i))
		}
		if err := store.SetChunkEmbeddings(f.ctx, tx, ids, vectors, "test-model"); err != nil {
			return err
		}
		if err := store.RecordDocumentChunked(f.ctx, tx, d.ID, len(texts), len(texts), "test-model"); err != nil {
			return err
		}
		ready, err := store.MarkDocumentReadyIfComplete(f.ctx, tx, d.ID)
		if err == nil && !ready {
			t.Fatalf("document %s did not become ready", name)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestSearchByVectorNearestFirstWithinOrganization(t *testing.T) {
	f := newFixture(t)
	own := f.readyDocument(t, f.orgA, "own", "vacation days policy", "working hours policy")
	f.readyDocument(t, f.orgB, "other", "vacation days elsewhere", "hours elsewhere")

	var hits []store.SearchHit
	err := f.s.InOrg(f.ctx, f.orgA, func(tx pgx.Tx) error {
		var err error
		hits, err = store.SearchByVector(f.ctx, tx, unitVector(512, 1), "test-model", 10)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 2 {
		t.Fatalf("got %d hits, want 2 (own organization only)", len(hits))
	}
	for _, h := range hits {
		if h.DocumentID != own.ID {
			t.Errorf("hit from document %s, want only %s", h.DocumentID, own.ID)
		}
	}
	if hits[0].Text != "working hours policy" || math.Abs(hits[0].Score-1) > 1e-6 {
		t.Errorf("first hit = %q score %.3f, want the chunk on axis 1 with score 1", hits[0].Text, hits[0].Score)
	}
	if hits[0].Page == nil || *hits[0].Page != 2 {
		t.Errorf("first hit page = %v, want 2", hits[0].Page)
	}
}

func TestSearchByTextMatchesAnyTerm(t *testing.T) {
	f := newFixture(t)
	f.readyDocument(t, f.orgA, "own", "Employees receive twenty paid vacation days.", "Regular working hours are nine to five.")
	f.readyDocument(t, f.orgB, "other", "Vacation days for another company.")

	var hits []store.SearchHit
	err := f.s.InOrg(f.ctx, f.orgA, func(tx pgx.Tx) error {
		var err error
		hits, err = store.SearchByText(f.ctx, tx, "How many vacation days does every employee get?", 10)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 1 || hits[0].Text != "Employees receive twenty paid vacation days." {
		t.Fatalf("hits = %+v, want only the own vacation chunk", hits)
	}
}

func TestSearchSkipsDocumentsNotReady(t *testing.T) {
	f := newFixture(t)
	d := f.createDocument(t, f.orgA, "pending")
	err := f.s.InOrg(f.ctx, f.orgA, func(tx pgx.Tx) error {
		return store.InsertChunks(f.ctx, tx, f.orgA, d.ID, []store.NewChunk{{Index: 0, Text: "vacation days", TokenCount: 2}})
	})
	if err != nil {
		t.Fatal(err)
	}
	var hits []store.SearchHit
	err = f.s.InOrg(f.ctx, f.orgA, func(tx pgx.Tx) error {
		var err error
		hits, err = store.SearchByText(f.ctx, tx, "vacation", 10)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 0 {
		t.Errorf("search found %d chunks of a pending document", len(hits))
	}
}
