package documents_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/bondingai/platform/shared/blobstore/blobstoretest"
	"github.com/bondingai/platform/shared/documents"
	"github.com/bondingai/platform/shared/store"
	"github.com/bondingai/platform/shared/store/storetest"
)

type fixture struct {
	svc  *documents.Service
	ctx  context.Context
	org  uuid.UUID
	user uuid.UUID
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	s, _ := storetest.Open(t)
	ctx := context.Background()
	org, err := s.EnsureOrganization(ctx, "org_docs")
	if err != nil {
		t.Fatal(err)
	}
	user, err := s.EnsureUser(ctx, "user_docs")
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{svc: &documents.Service{Store: s, Blobs: blobstoretest.New(t), MaxUploadBytes: 1024}, ctx: ctx, org: org, user: user}
}

func TestUploadStoresBlobAndPendingRecord(t *testing.T) {
	f := newFixture(t)
	doc, created, err := f.svc.Upload(f.ctx, f.org, f.user, "../notes.md", strings.NewReader("# Leave\nTwenty days."))
	if err != nil {
		t.Fatal(err)
	}
	if !created || doc.Status != store.StatusPending || doc.Filename != "notes.md" {
		t.Errorf("created=%v status=%q filename=%q", created, doc.Status, doc.Filename)
	}
	if want := f.org.String() + "/" + doc.ID.String() + "/notes.md"; doc.BlobName != want {
		t.Errorf("BlobName = %q, want %q", doc.BlobName, want)
	}
	content, err := f.svc.Blobs.Download(f.ctx, doc.BlobName)
	if err != nil {
		t.Fatal(err)
	}
	if string(content) != "# Leave\nTwenty days." {
		t.Errorf("blob content = %q", content)
	}
}

func TestUploadIdenticalContentReturnsExisting(t *testing.T) {
	f := newFixture(t)
	first, _, err := f.svc.Upload(f.ctx, f.org, f.user, "a.txt", strings.NewReader("same"))
	if err != nil {
		t.Fatal(err)
	}
	second, created, err := f.svc.Upload(f.ctx, f.org, f.user, "b.txt", strings.NewReader("same"))
	if err != nil {
		t.Fatal(err)
	}
	if created || second.ID != first.ID {
		t.Errorf("second upload created=%v id=%s, want the first document %s", created, second.ID, first.ID)
	}
	docs, _, err := f.svc.List(f.ctx, f.org, 10, "")
	if err != nil || len(docs) != 1 {
		t.Errorf("List = %d documents, %v; want 1", len(docs), err)
	}
}

func TestUploadRejectsBadFiles(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name    string
		content string
		want    error
	}{
		{"empty.txt", "", documents.ErrEmptyFile},
		{"big.txt", strings.Repeat("x", 1025), documents.ErrFileTooLarge},
		{"image.png", "\x89PNG\r\n\x1a\n\x00\x00", documents.ErrUnsupportedType},
		{"..", "text", documents.ErrInvalidFilename},
	}
	for _, c := range cases {
		_, _, err := f.svc.Upload(f.ctx, f.org, f.user, c.name, strings.NewReader(c.content))
		if !errors.Is(err, c.want) {
			t.Errorf("Upload(%q): err = %v, want %v", c.name, err, c.want)
		}
	}
	docs, _, err := f.svc.List(f.ctx, f.org, 10, "")
	if err != nil || len(docs) != 0 {
		t.Errorf("rejected uploads left %d records, %v", len(docs), err)
	}
}

func TestListPaginatesNewestFirst(t *testing.T) {
	f := newFixture(t)
	var ids []uuid.UUID
	for _, text := range []string{"one", "two", "three"} {
		doc, _, err := f.svc.Upload(f.ctx, f.org, f.user, text+".txt", strings.NewReader(text))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, doc.ID)
	}
	page1, cursor, err := f.svc.List(f.ctx, f.org, 2, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(page1) != 2 || cursor == "" || page1[0].ID != ids[2] {
		t.Fatalf("page 1 = %d docs, cursor %q", len(page1), cursor)
	}
	page2, next, err := f.svc.List(f.ctx, f.org, 2, cursor)
	if err != nil {
		t.Fatal(err)
	}
	if len(page2) != 1 || next != "" || page2[0].ID != ids[0] {
		t.Errorf("page 2 = %d docs, next %q", len(page2), next)
	}
	if _, _, err := f.svc.List(f.ctx, f.org, 2, "%%%"); !errors.Is(err, documents.ErrInvalidCursor) {
		t.Errorf("bad cursor: err = %v, want ErrInvalidCursor", err)
	}
}

func TestDeleteRemovesBlobAndRecord(t *testing.T) {
	f := newFixture(t)
	doc, _, err := f.svc.Upload(f.ctx, f.org, f.user, "gone.txt", strings.NewReader("bye"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Delete(f.ctx, f.org, doc.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Get(f.ctx, f.org, doc.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get after Delete: err = %v, want ErrNotFound", err)
	}
	exists, err := f.svc.Blobs.Exists(f.ctx, doc.BlobName)
	if err != nil || exists {
		t.Errorf("blob exists=%v err=%v after Delete", exists, err)
	}
	if err := f.svc.Delete(f.ctx, f.org, doc.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second Delete: err = %v, want ErrNotFound", err)
	}
}

func TestOtherOrganizationCannotReadOrDelete(t *testing.T) {
	f := newFixture(t)
	doc, _, err := f.svc.Upload(f.ctx, f.org, f.user, "private.txt", strings.NewReader("secret plan"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := f.svc.Store.EnsureOrganization(f.ctx, "org_other")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Get(f.ctx, other, doc.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get from other org: err = %v, want ErrNotFound", err)
	}
	if err := f.svc.Delete(f.ctx, other, doc.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Delete from other org: err = %v, want ErrNotFound", err)
	}
	if _, err := f.svc.Get(f.ctx, f.org, doc.ID); err != nil {
		t.Errorf("owner lost the document: %v", err)
	}
}
