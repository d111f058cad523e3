// Package store is the platform's PostgreSQL access: the connection pool,
// schema migrations, and one file of named queries per concept. Business
// queries run through InOrg, which sets the organization that row-level
// security filters on.
package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	pgxvector "github.com/pgvector/pgvector-go/pgx"
)

// ErrNotFound is returned when a row does not exist or belongs to another
// organization; callers cannot tell the two apart, by design.
var ErrNotFound = errors.New("not found")

// Store is a pool of connections as the application role.
type Store struct {
	pool *pgxpool.Pool
}

// Open connects to databaseURL and registers the pgvector types.
func Open(ctx context.Context, databaseURL string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("parse database URL: %w", err)
	}
	cfg.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
		return pgxvector.RegisterTypes(ctx, conn)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database pool: %w", err)
	}
	return &Store{pool: pool}, nil
}

// Close closes every connection.
func (s *Store) Close() {
	s.pool.Close()
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.pool.Ping(ctx)
}

// InOrg runs fn in a transaction scoped to orgID: row-level security shows
// and accepts only that organization's rows. The transaction commits when fn
// returns nil.
func (s *Store) InOrg(ctx context.Context, orgID uuid.UUID, fn func(tx pgx.Tx) error) error {
	if orgID == uuid.Nil {
		return errors.New("store: organization id is required")
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT set_config('app.org_id', $1, true)", orgID.String()); err != nil {
			return fmt.Errorf("set organization %s: %w", orgID, err)
		}
		return fn(tx)
	})
}

// isUniqueViolation reports whether err is a unique-constraint violation
// on constraint (any constraint when empty).
func isUniqueViolation(err error, constraint string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505" && (constraint == "" || pgErr.ConstraintName == constraint)
}

func notFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	return err
}
