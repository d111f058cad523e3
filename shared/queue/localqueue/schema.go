package localqueue

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// schemaLockID is the advisory lock key that serializes schema creation, so
// two processes opening the same empty database do not race on CREATE.
const schemaLockID = 7_200_417_311

// schemaSQL creates the stand-in's own tables. They live in their own schema
// because they are a development tool, not part of the product schema.
const schemaSQL = `
CREATE SCHEMA IF NOT EXISTS localqueue;

CREATE TABLE IF NOT EXISTS localqueue.message (
	sequence_number         bigserial PRIMARY KEY,
	queue_name              text        NOT NULL,
	message_id              text        NOT NULL,
	content_type            text        NOT NULL DEFAULT '',
	application_properties  jsonb       NOT NULL DEFAULT '{}',
	body                    bytea       NOT NULL,
	enqueued_at             timestamptz NOT NULL DEFAULT now(),
	delivery_count          integer     NOT NULL DEFAULT 0,
	lock_token              uuid,
	locked_until            timestamptz,
	dead_lettered_at        timestamptz,
	dead_letter_reason      text        NOT NULL DEFAULT '',
	dead_letter_description text        NOT NULL DEFAULT ''
);

CREATE INDEX IF NOT EXISTS message_active_idx
	ON localqueue.message (queue_name, sequence_number)
	WHERE dead_lettered_at IS NULL;

CREATE INDEX IF NOT EXISTS message_dead_letter_idx
	ON localqueue.message (queue_name, sequence_number)
	WHERE dead_lettered_at IS NOT NULL;

CREATE TABLE IF NOT EXISTS localqueue.duplicate_detection (
	queue_name  text        NOT NULL,
	message_id  text        NOT NULL,
	detected_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (queue_name, message_id)
);
`

// createSchema creates the tables if they are missing.
func createSchema(ctx context.Context, pool *pgxpool.Pool) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin schema transaction: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a rollback after commit is a no-op

	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(schemaLockID)); err != nil {
		return fmt.Errorf("lock schema creation: %w", err)
	}
	if _, err := tx.Exec(ctx, schemaSQL); err != nil {
		return fmt.Errorf("create localqueue schema: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit schema transaction: %w", err)
	}
	return nil
}
