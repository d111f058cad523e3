package store

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// EnsureOrganization returns the id of the organization mirrored from the
// WorkOS organization workosID, creating the row on first sight.
func (s *Store) EnsureOrganization(ctx context.Context, workosID string) (uuid.UUID, error) {
	var id uuid.UUID
	err := s.pool.QueryRow(ctx, `
		WITH inserted AS (
			INSERT INTO organizations (workos_id) VALUES ($1)
			ON CONFLICT (workos_id) DO NOTHING
			RETURNING id
		)
		SELECT id FROM inserted
		UNION ALL
		SELECT id FROM organizations WHERE workos_id = $1
		LIMIT 1`, workosID).Scan(&id)
	if err != nil {
		return uuid.Nil, fmt.Errorf("ensure organization %s: %w", workosID, err)
	}
	return id, nil
}

// EnsureUser returns the id of the user mirrored from the WorkOS user
// workosID, creating the row on first sight.
func (s *Store) EnsureUser(ctx context.Context, workosID string) (uuid.UUID, error) {
	var id uuid.UUID
	err := s.pool.QueryRow(ctx, `
		WITH inserted AS (
			INSERT INTO users (workos_id) VALUES ($1)
			ON CONFLICT (workos_id) DO NOTHING
			RETURNING id
		)
		SELECT id FROM inserted
		UNION ALL
		SELECT id FROM users WHERE workos_id = $1
		LIMIT 1`, workosID).Scan(&id)
	if err != nil {
		return uuid.Nil, fmt.Errorf("ensure user %s: %w", workosID, err)
	}
	return id, nil
}

// EnsureMembership records that userID belongs to the transaction's
// organization with role.
func EnsureMembership(ctx context.Context, tx pgx.Tx, orgID, userID uuid.UUID, role string) error {
	_, err := tx.Exec(ctx, `
		INSERT INTO organization_memberships (org_id, user_id, role) VALUES ($1, $2, $3)
		ON CONFLICT (org_id, user_id) DO UPDATE SET role = EXCLUDED.role, updated_at = now()
		WHERE organization_memberships.role IS DISTINCT FROM EXCLUDED.role`, orgID, userID, role)
	if err != nil {
		return fmt.Errorf("ensure membership of user %s in organization %s: %w", userID, orgID, err)
	}
	return nil
}
