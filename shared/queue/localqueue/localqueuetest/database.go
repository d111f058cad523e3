// Package localqueuetest creates throwaway PostgreSQL databases for tests
// of the local queue and the local Functions host.
package localqueuetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// AdminDatabaseURLVariable names the environment variable with a superuser
// PostgreSQL URL that tests use to create their databases.
const AdminDatabaseURLVariable = "BONDINGAI_TEST_ADMIN_DATABASE_URL"

// NewDatabase creates a uniquely named database, drops it when the test
// ends and returns its URL. The test fails when AdminDatabaseURLVariable is
// unset, because these tests need a real PostgreSQL server.
func NewDatabase(t testing.TB) string {
	t.Helper()

	adminURL := os.Getenv(AdminDatabaseURLVariable)
	if adminURL == "" {
		t.Fatalf("%s is not set: run the tests with scripts/test, which starts PostgreSQL and Azurite", AdminDatabaseURLVariable)
	}

	suffix := make([]byte, 6)
	if _, err := rand.Read(suffix); err != nil {
		t.Fatalf("generate database name: %v", err)
	}
	name := "test_localqueue_" + hex.EncodeToString(suffix)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		t.Fatalf("connect to admin database: %v", err)
	}
	defer admin.Close(context.Background())
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}

	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := pgx.Connect(ctx, adminURL)
		if err != nil {
			t.Errorf("connect to admin database to drop %s: %v", name, err)
			return
		}
		defer admin.Close(context.Background())
		if _, err := admin.Exec(ctx, "DROP DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})

	databaseURL, err := url.Parse(adminURL)
	if err != nil {
		t.Fatalf("parse %s: %v", AdminDatabaseURLVariable, err)
	}
	databaseURL.Path = "/" + name
	return databaseURL.String()
}

// RandomSuffix returns a short random suffix for test-owned names such as
// containers and queues.
func RandomSuffix(t testing.TB) string {
	t.Helper()
	suffix := make([]byte, 4)
	if _, err := rand.Read(suffix); err != nil {
		t.Fatalf("generate random suffix: %v", err)
	}
	return fmt.Sprintf("%x", suffix)
}
