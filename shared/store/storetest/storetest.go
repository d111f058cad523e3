// Package storetest gives each test its own migrated PostgreSQL database on
// the test cluster that scripts/test starts.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bondingai/platform/shared/store"
)

// AdminURLVariable names the superuser URL of the test cluster.
const AdminURLVariable = "BONDINGAI_TEST_ADMIN_DATABASE_URL"

// Roles the platform's schema grants to; they are cluster-wide, so the
// helper creates them when the cluster lacks them.
const (
	OwnerRole = "bondingai_owner"
	AppRole   = "bondingai_app"
)

// Database is a fresh migrated database for one test.
type Database struct {
	// Name is the database name.
	Name string
	// AppURL connects as the application role, subject to row-level security.
	AppURL string
	// OwnerURL connects as the schema owner.
	OwnerURL string
	// AdminURL connects as a superuser.
	AdminURL string

	adminServerURL string
}

// AdminURL returns the test cluster's superuser URL, failing the test with
// the command to run when it is not set.
func AdminURL(t testing.TB) string {
	t.Helper()
	adminURL := os.Getenv(AdminURLVariable)
	if adminURL == "" {
		t.Fatalf("%s is not set: run the tests with scripts/test, which starts PostgreSQL with pgvector", AdminURLVariable)
	}
	return adminURL
}

// New creates a database, applies the migrations as the owner role and
// drops the database when the test ends.
func New(t testing.TB) *Database {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := Create(ctx, AdminURL(t))
	if db != nil {
		t.Cleanup(func() {
			if err := db.Drop(context.Background()); err != nil {
				t.Logf("drop test database %s: %v", db.Name, err)
			}
		})
	}
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// Create makes a uniquely named database on the cluster adminURL reaches,
// owned by OwnerRole, with pgvector and every migration applied. When it
// returns a Database with an error, the caller still drops it.
func Create(ctx context.Context, adminURL string) (*Database, error) {
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return nil, fmt.Errorf("connect to the test cluster: %w", err)
	}
	defer admin.Close(ctx)

	name := "test_" + randomSuffix()
	for _, sql := range []string{ensureRoleSQL(OwnerRole, "LOGIN"), ensureRoleSQL(AppRole, "LOGIN NOBYPASSRLS")} {
		if _, err := admin.Exec(ctx, sql); err != nil {
			return nil, fmt.Errorf("create role: %w", err)
		}
	}
	if _, err := admin.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s OWNER %s", name, OwnerRole)); err != nil {
		return nil, fmt.Errorf("create database %s: %w", name, err)
	}

	db := &Database{Name: name}
	if db.AdminURL, err = withUserAndDatabase(adminURL, "", name); err != nil {
		return db, err
	}
	db.OwnerURL, _ = withUserAndDatabase(adminURL, OwnerRole, name)
	db.AppURL, _ = withUserAndDatabase(adminURL, AppRole, name)
	db.adminServerURL = adminURL

	// CREATE EXTENSION vector needs a superuser unless the extension is
	// trusted; production creates it once at provisioning the same way.
	dbAdmin, err := pgx.Connect(ctx, db.AdminURL)
	if err != nil {
		return db, fmt.Errorf("connect to %s: %w", name, err)
	}
	defer dbAdmin.Close(ctx)
	if _, err := dbAdmin.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS vector"); err != nil {
		return db, fmt.Errorf("create extension vector (is pgvector 0.8 installed? run scripts/test): %w", err)
	}

	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := store.Migrate(ctx, db.OwnerURL, logger); err != nil {
		return db, fmt.Errorf("migrate %s: %w", name, err)
	}
	return db, nil
}

// Drop removes the database, closing any connection still open to it.
func (db *Database) Drop(ctx context.Context) error {
	admin, err := pgx.Connect(ctx, db.adminServerURL)
	if err != nil {
		return err
	}
	defer admin.Close(ctx)
	_, err = admin.Exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", db.Name))
	return err
}

// Open returns a Store on a fresh database, connected as the application role.
func Open(t testing.TB) (*store.Store, *Database) {
	t.Helper()
	db := New(t)
	s, err := store.Open(context.Background(), db.AppURL)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(s.Close)
	return s, db
}

func ensureRoleSQL(role, options string) string {
	return fmt.Sprintf(`DO $$ BEGIN
		IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '%[1]s') THEN CREATE ROLE %[1]s %[2]s; END IF;
	EXCEPTION WHEN unique_violation OR duplicate_object THEN NULL;
	END $$`, role, options)
}

func withUserAndDatabase(rawURL, user, database string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("parse %s: %w", AdminURLVariable, err)
	}
	if user != "" {
		u.User = url.User(user)
	}
	u.Path = "/" + database
	return u.String(), nil
}

func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = io.ReadFull(rand.Reader, b)
	return hex.EncodeToString(b)
}
