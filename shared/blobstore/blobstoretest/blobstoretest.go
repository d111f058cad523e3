// Package blobstoretest gives each test its own container in the Azurite
// instance that scripts/test starts.
package blobstoretest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/bondingai/platform/shared/blobstore"
	"github.com/bondingai/platform/shared/config"
)

// ConnectionVariable names the Azurite connection string of the test stack.
const ConnectionVariable = "BONDINGAI_TEST_STORAGE_CONNECTION"

// Connection returns the test stack's storage connection string, failing
// the test with the command to run when it is not set.
func Connection(t testing.TB) string {
	t.Helper()
	conn := os.Getenv(ConnectionVariable)
	if conn == "" {
		t.Fatalf("%s is not set: run the tests with scripts/test, which starts Azurite", ConnectionVariable)
	}
	return conn
}

// New creates a uniquely named container and deletes it when the test ends.
func New(t testing.TB) *blobstore.Store {
	t.Helper()
	conn := Connection(t)
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	name := "test-" + hex.EncodeToString(suffix)

	s, err := blobstore.New(config.StorageConnection{ConnectionString: conn}, name, blobstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.EnsureContainer(ctx); err != nil {
		t.Fatalf("create test container (is Azurite running? run scripts/test): %v", err)
	}
	t.Cleanup(func() {
		client, err := azblob.NewClientFromConnectionString(conn, nil)
		if err == nil {
			_, err = client.DeleteContainer(context.Background(), name, nil)
		}
		if err != nil {
			t.Logf("delete test container %s: %v", name, err)
		}
	})
	return s
}
