package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// refreshLockClass is the first key of the two-key advisory locks that
// serialize refreshes of one refresh token. PostgreSQL keeps the one-key
// and two-key advisory lock spaces apart, so other code's one-key locks
// never collide with these.
const refreshLockClass = 0x5e55

// maxExpiredRefreshDeletes bounds the expired rows one refresh deletes, so
// the clean-up never makes a sign-in slow.
const maxExpiredRefreshDeletes = 100

// ClaimRefresh runs refresh once for all callers with the same tokenHash
// (the SHA-256 of a refresh token) within the grace period, across every
// process that shares the database, and returns its result. The first caller holds a transaction-scoped advisory lock
// while refresh runs and stores the result for grace. Callers that arrive
// while it runs wait for the lock, and callers within grace get the stored
// result with reused set to true. When refresh fails nothing is stored, so
// the next caller tries again. The lock holds one pooled connection for as
// long as refresh takes.
func (s *Store) ClaimRefresh(ctx context.Context, tokenHash []byte, grace time.Duration, refresh func(ctx context.Context) ([]byte, error)) (result []byte, reused bool, err error) {
	if len(tokenHash) != 32 {
		return nil, false, fmt.Errorf("claim refresh: token hash has %d bytes, want 32", len(tokenHash))
	}
	lockKey := int32(binary.BigEndian.Uint32(tokenHash[:4]))

	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1, $2)", int32(refreshLockClass), lockKey); err != nil {
			return fmt.Errorf("lock refresh: %w", err)
		}
		err := tx.QueryRow(ctx, `
			SELECT result FROM session_refreshes
			WHERE token_hash = $1 AND expires_at > now()`, tokenHash).Scan(&result)
		if err == nil {
			reused = true
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("read stored refresh: %w", err)
		}

		if result, err = refresh(ctx); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `
			INSERT INTO session_refreshes (token_hash, result, expires_at)
			VALUES ($1, $2, now() + make_interval(secs => $3))
			ON CONFLICT (token_hash) DO UPDATE SET result = EXCLUDED.result, expires_at = EXCLUDED.expires_at, created_at = now()`,
			tokenHash, result, grace.Seconds())
		if err != nil {
			return fmt.Errorf("store refresh result: %w", err)
		}
		_, err = tx.Exec(ctx, `
			DELETE FROM session_refreshes WHERE token_hash IN (
				SELECT token_hash FROM session_refreshes WHERE expires_at < now() LIMIT $1)`, maxExpiredRefreshDeletes)
		if err != nil {
			return fmt.Errorf("delete expired refreshes: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return result, reused, nil
}

// EnsureUserWithEmail returns the id of the user mirrored from the WorkOS
// user workosID, creating the row on first sight and storing email.
func (s *Store) EnsureUserWithEmail(ctx context.Context, workosID, email string) (uuid.UUID, error) {
	var id uuid.UUID
	err := s.pool.QueryRow(ctx, `
		INSERT INTO users (workos_id, email) VALUES ($1, $2)
		ON CONFLICT (workos_id) DO UPDATE SET email = EXCLUDED.email, updated_at = now()
		RETURNING id`, workosID, email).Scan(&id)
	if err != nil {
		return uuid.Nil, fmt.Errorf("ensure user %s with email: %w", workosID, err)
	}
	return id, nil
}

// SetOrganizationName stores the display name of the organization id.
func (s *Store) SetOrganizationName(ctx context.Context, id uuid.UUID, name string) error {
	_, err := s.pool.Exec(ctx, `
		UPDATE organizations SET name = $2, updated_at = now()
		WHERE id = $1 AND name IS DISTINCT FROM $2`, id, name)
	if err != nil {
		return fmt.Errorf("set name of organization %s: %w", id, err)
	}
	return nil
}

// OrganizationRecord is a mirrored WorkOS organization.
type OrganizationRecord struct {
	ID       uuid.UUID
	WorkOSID string
	Name     string
}

// Organization returns the organization id, or ErrNotFound.
func (s *Store) Organization(ctx context.Context, id uuid.UUID) (OrganizationRecord, error) {
	org := OrganizationRecord{ID: id}
	err := s.pool.QueryRow(ctx, `SELECT workos_id, name FROM organizations WHERE id = $1`, id).Scan(&org.WorkOSID, &org.Name)
	if err != nil {
		return OrganizationRecord{}, fmt.Errorf("read organization %s: %w", id, notFound(err))
	}
	return org, nil
}

// UserRecord is a mirrored WorkOS user.
type UserRecord struct {
	ID       uuid.UUID
	WorkOSID string
	Email    string
}

// User returns the user id, or ErrNotFound.
func (s *Store) User(ctx context.Context, id uuid.UUID) (UserRecord, error) {
	user := UserRecord{ID: id}
	err := s.pool.QueryRow(ctx, `SELECT workos_id, email FROM users WHERE id = $1`, id).Scan(&user.WorkOSID, &user.Email)
	if err != nil {
		return UserRecord{}, fmt.Errorf("read user %s: %w", id, notFound(err))
	}
	return user, nil
}
