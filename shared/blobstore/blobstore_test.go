package blobstore_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/bondingai/platform/shared/blobstore"
	"github.com/bondingai/platform/shared/blobstore/blobstoretest"
	"github.com/bondingai/platform/shared/config"
)

func TestUploadDownloadDelete(t *testing.T) {
	s := blobstoretest.New(t)
	ctx := context.Background()
	name := "org/doc/handbook v2.pdf"
	content := []byte("%PDF-1.7 test content")

	if err := s.Upload(ctx, name, bytes.NewReader(content), "application/pdf", map[string]string{"document_id": "doc"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Download(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, content) {
		t.Errorf("Download = %q, want %q", got, content)
	}
	exists, err := s.Exists(ctx, name)
	if err != nil || !exists {
		t.Errorf("Exists = %v, %v; want true", exists, err)
	}

	if err := s.Delete(ctx, name); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, name); err != nil {
		t.Errorf("second Delete = %v, want nil for a blob already gone", err)
	}
	if _, err := s.Download(ctx, name); !errors.Is(err, blobstore.ErrNotFound) {
		t.Errorf("Download after Delete: err = %v, want ErrNotFound", err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping = %v", err)
	}
}

func TestNewRejectsMissingConnection(t *testing.T) {
	if _, err := blobstore.New(config.StorageConnection{}, "documents", blobstore.Options{}); err == nil {
		t.Error("New succeeded without a connection")
	}
	if _, err := blobstore.New(config.StorageConnection{BlobServiceURI: "https://a.blob.core.windows.net"}, "documents", blobstore.Options{}); err == nil {
		t.Error("New succeeded with a service URI but no credential")
	}
}

func TestPingFailsForMissingContainer(t *testing.T) {
	conn := blobstoretest.Connection(t)
	s, err := blobstore.New(config.StorageConnection{ConnectionString: conn}, "no-such-container-x1", blobstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(context.Background()); err == nil {
		t.Error("Ping succeeded for a container that does not exist")
	}
}
