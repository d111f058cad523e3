package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// The identity mirror copies WorkOS objects into PostgreSQL. Every upsert
// below applies only when the object's WorkOS updated_at is newer than the
// mirrored row's, so replayed and out-of-order events change nothing. A
// deletion also applies at an equal updated_at, because WorkOS sends the
// object's last state with its delete event. Deleted objects stay as
// tombstones with deleted_at set.

// MirroredObject holds the fields every mirrored WorkOS object has.
type MirroredObject struct {
	// WorkOSID is the object's WorkOS id, such as directory_user_01H....
	WorkOSID string
	// UpdatedAt is the object's updated_at in WorkOS.
	UpdatedAt time.Time
	// Deleted makes the row a tombstone.
	Deleted bool
}

// MirroredOrganization is a WorkOS organization.
type MirroredOrganization struct {
	MirroredObject
	Name string
}

// MirroredUser is a WorkOS (AuthKit) user.
type MirroredUser struct {
	MirroredObject
	Email     string
	FirstName string
	LastName  string
}

// MirroredMembership is a WorkOS organization membership.
type MirroredMembership struct {
	MirroredObject
	OrgID  uuid.UUID
	UserID uuid.UUID
	// Role is the membership's role slug.
	Role string
	// Status is active, inactive or pending.
	Status string
}

// MirroredDomain is a WorkOS organization domain.
type MirroredDomain struct {
	MirroredObject
	OrgID  uuid.UUID
	Domain string
	// State is pending, verified, failed or legacy_verified.
	State string
}

// MirroredDirectory is a Directory Sync directory.
type MirroredDirectory struct {
	MirroredObject
	OrgID uuid.UUID
	Name  string
	Type  string
	State string
}

// MirroredDirectoryUser is a Directory Sync directory user.
type MirroredDirectoryUser struct {
	MirroredObject
	OrgID             uuid.UUID
	DirectoryWorkOSID string
	// UserWorkOSID is the AuthKit user id when the event carries one.
	UserWorkOSID string
	Email        string
	FirstName    string
	LastName     string
	// State is active or inactive.
	State string
}

// MirroredDirectoryGroup is a Directory Sync directory group.
type MirroredDirectoryGroup struct {
	MirroredObject
	OrgID             uuid.UUID
	DirectoryWorkOSID string
	Name              string
}

// InTx runs fn in a transaction without an organization, for the tenant
// registries (organizations, users, sessions) and the event cursor. Row-level
// security hides every business row from it.
func (s *Store) InTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}

// UpsertOrganization mirrors o and returns the platform id of the
// organization and whether the row changed.
func UpsertOrganization(ctx context.Context, tx pgx.Tx, o MirroredOrganization) (uuid.UUID, bool, error) {
	var id uuid.UUID
	var applied bool
	err := tx.QueryRow(ctx, `
		WITH upserted AS (
			INSERT INTO organizations (workos_id, name, workos_updated_at, deleted_at)
			VALUES ($1, $2, $3, CASE WHEN $4 THEN now() END)
			ON CONFLICT (workos_id) DO UPDATE SET
				name = EXCLUDED.name,
				workos_updated_at = EXCLUDED.workos_updated_at,
				deleted_at = CASE WHEN $4 THEN coalesce(organizations.deleted_at, now()) END,
				updated_at = now()
			WHERE organizations.workos_updated_at IS NULL
			   OR organizations.workos_updated_at < EXCLUDED.workos_updated_at
			   OR ($4 AND organizations.deleted_at IS NULL AND organizations.workos_updated_at <= EXCLUDED.workos_updated_at)
			RETURNING id
		)
		SELECT id, true FROM upserted
		UNION ALL
		SELECT id, false FROM organizations WHERE workos_id = $1
		LIMIT 1`, o.WorkOSID, o.Name, o.UpdatedAt, o.Deleted).Scan(&id, &applied)
	if err != nil {
		return uuid.Nil, false, fmt.Errorf("mirror organization %s: %w", o.WorkOSID, err)
	}
	return id, applied, nil
}

// UpsertUser mirrors u and returns the platform id of the user and whether
// the row changed.
func UpsertUser(ctx context.Context, tx pgx.Tx, u MirroredUser) (uuid.UUID, bool, error) {
	var id uuid.UUID
	var applied bool
	err := tx.QueryRow(ctx, `
		WITH upserted AS (
			INSERT INTO users (workos_id, email, first_name, last_name, workos_updated_at, deleted_at)
			VALUES ($1, $2, $3, $4, $5, CASE WHEN $6 THEN now() END)
			ON CONFLICT (workos_id) DO UPDATE SET
				email = EXCLUDED.email,
				first_name = EXCLUDED.first_name,
				last_name = EXCLUDED.last_name,
				workos_updated_at = EXCLUDED.workos_updated_at,
				deleted_at = CASE WHEN $6 THEN coalesce(users.deleted_at, now()) END,
				updated_at = now()
			WHERE users.workos_updated_at IS NULL
			   OR users.workos_updated_at < EXCLUDED.workos_updated_at
			   OR ($6 AND users.deleted_at IS NULL AND users.workos_updated_at <= EXCLUDED.workos_updated_at)
			RETURNING id
		)
		SELECT id, true FROM upserted
		UNION ALL
		SELECT id, false FROM users WHERE workos_id = $1
		LIMIT 1`, u.WorkOSID, u.Email, u.FirstName, u.LastName, u.UpdatedAt, u.Deleted).Scan(&id, &applied)
	if err != nil {
		return uuid.Nil, false, fmt.Errorf("mirror user %s: %w", u.WorkOSID, err)
	}
	return id, applied, nil
}

// UpsertMembership mirrors m in the transaction's organization and reports
// whether the row changed. The row created on first sight of a token has no
// WorkOS updated_at, so the first event always applies to it.
func UpsertMembership(ctx context.Context, tx pgx.Tx, m MirroredMembership) (bool, error) {
	tag, err := tx.Exec(ctx, `
		INSERT INTO organization_memberships (org_id, user_id, workos_id, role, status, workos_updated_at, deleted_at)
		VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $7 THEN now() END)
		ON CONFLICT (org_id, user_id) DO UPDATE SET
			workos_id = EXCLUDED.workos_id,
			role = EXCLUDED.role,
			status = EXCLUDED.status,
			workos_updated_at = EXCLUDED.workos_updated_at,
			deleted_at = CASE WHEN $7 THEN coalesce(organization_memberships.deleted_at, now()) END,
			updated_at = now()
		WHERE organization_memberships.workos_updated_at IS NULL
		   OR organization_memberships.workos_updated_at < EXCLUDED.workos_updated_at
		   OR ($7 AND organization_memberships.deleted_at IS NULL AND organization_memberships.workos_updated_at <= EXCLUDED.workos_updated_at)`,
		m.OrgID, m.UserID, m.WorkOSID, m.Role, m.Status, m.UpdatedAt, m.Deleted)
	if err != nil {
		return false, fmt.Errorf("mirror membership %s: %w", m.WorkOSID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// UpsertOrganizationDomain mirrors d and reports whether the row changed.
func UpsertOrganizationDomain(ctx context.Context, tx pgx.Tx, d MirroredDomain) (bool, error) {
	tag, err := tx.Exec(ctx, `
		INSERT INTO organization_domains (org_id, workos_id, domain, state, workos_updated_at, deleted_at)
		VALUES ($1, $2, $3, $4, $5, CASE WHEN $6 THEN now() END)
		ON CONFLICT (workos_id) DO UPDATE SET
			domain = EXCLUDED.domain,
			state = EXCLUDED.state,
			workos_updated_at = EXCLUDED.workos_updated_at,
			deleted_at = CASE WHEN $6 THEN coalesce(organization_domains.deleted_at, now()) END
		WHERE organization_domains.workos_updated_at < EXCLUDED.workos_updated_at
		   OR ($6 AND organization_domains.deleted_at IS NULL AND organization_domains.workos_updated_at <= EXCLUDED.workos_updated_at)`,
		d.OrgID, d.WorkOSID, d.Domain, d.State, d.UpdatedAt, d.Deleted)
	if err != nil {
		return false, fmt.Errorf("mirror organization domain %s: %w", d.WorkOSID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// UpsertDirectory mirrors d and reports whether the row changed. Deleting a
// directory also tombstones its users and groups: WorkOS sends only
// dsync.deleted, no deletion event per user or group.
func UpsertDirectory(ctx context.Context, tx pgx.Tx, d MirroredDirectory) (bool, error) {
	tag, err := tx.Exec(ctx, `
		INSERT INTO directories (org_id, workos_id, name, type, state, workos_updated_at, deleted_at)
		VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $7 THEN now() END)
		ON CONFLICT (workos_id) DO UPDATE SET
			name = EXCLUDED.name,
			type = EXCLUDED.type,
			state = EXCLUDED.state,
			workos_updated_at = EXCLUDED.workos_updated_at,
			deleted_at = CASE WHEN $7 THEN coalesce(directories.deleted_at, now()) END
		WHERE directories.workos_updated_at < EXCLUDED.workos_updated_at
		   OR ($7 AND directories.deleted_at IS NULL AND directories.workos_updated_at <= EXCLUDED.workos_updated_at)`,
		d.OrgID, d.WorkOSID, d.Name, d.Type, d.State, d.UpdatedAt, d.Deleted)
	if err != nil {
		return false, fmt.Errorf("mirror directory %s: %w", d.WorkOSID, err)
	}
	if tag.RowsAffected() == 0 || !d.Deleted {
		return tag.RowsAffected() == 1, nil
	}
	_, err = tx.Exec(ctx, `
		UPDATE user_sessions SET revoke_requested_at = now()
		WHERE org_id = $1 AND revoke_requested_at IS NULL
		  AND user_id IN (SELECT user_id FROM directory_users WHERE directory_workos_id = $2 AND deleted_at IS NULL)`,
		d.OrgID, d.WorkOSID)
	if err != nil {
		return false, fmt.Errorf("request revocation of sessions of deleted directory %s: %w", d.WorkOSID, err)
	}
	for _, table := range []string{"directory_users", "directory_groups"} {
		_, err := tx.Exec(ctx, `UPDATE `+table+` SET deleted_at = now() WHERE directory_workos_id = $1 AND deleted_at IS NULL`, d.WorkOSID)
		if err != nil {
			return false, fmt.Errorf("tombstone %s of deleted directory %s: %w", table, d.WorkOSID, err)
		}
	}
	return true, nil
}

// UpsertDirectoryUser mirrors u, linking it to the platform user with
// u.UserWorkOSID or, failing that, the same email. It returns the linked
// user's id (uuid.Nil when none) and whether the row changed.
func UpsertDirectoryUser(ctx context.Context, tx pgx.Tx, u MirroredDirectoryUser) (uuid.UUID, bool, error) {
	var linked *uuid.UUID
	var applied bool
	err := tx.QueryRow(ctx, `
		WITH link AS (
			SELECT id FROM (
				SELECT id, 0 AS rank FROM users WHERE $3 <> '' AND workos_id = $3
				UNION ALL
				SELECT id, 1 FROM users WHERE $4 <> '' AND email <> '' AND lower(email) = lower($4) AND deleted_at IS NULL
			) candidates ORDER BY rank LIMIT 1
		), upserted AS (
			INSERT INTO directory_users (org_id, workos_id, directory_workos_id, user_id, email, first_name, last_name, state, workos_updated_at, deleted_at)
			VALUES ($1, $2, $5, (SELECT id FROM link), $4, $6, $7, $8, $9, CASE WHEN $10 THEN now() END)
			ON CONFLICT (workos_id) DO UPDATE SET
				directory_workos_id = EXCLUDED.directory_workos_id,
				user_id = coalesce(EXCLUDED.user_id, directory_users.user_id),
				email = EXCLUDED.email,
				first_name = EXCLUDED.first_name,
				last_name = EXCLUDED.last_name,
				state = EXCLUDED.state,
				workos_updated_at = EXCLUDED.workos_updated_at,
				deleted_at = CASE WHEN $10 THEN coalesce(directory_users.deleted_at, now()) END
			WHERE directory_users.workos_updated_at < EXCLUDED.workos_updated_at
			   OR ($10 AND directory_users.deleted_at IS NULL AND directory_users.workos_updated_at <= EXCLUDED.workos_updated_at)
			RETURNING user_id
		)
		SELECT user_id, true FROM upserted
		UNION ALL
		SELECT user_id, false FROM directory_users WHERE workos_id = $2
		LIMIT 1`,
		u.OrgID, u.WorkOSID, u.UserWorkOSID, u.Email, u.DirectoryWorkOSID, u.FirstName, u.LastName, u.State, u.UpdatedAt, u.Deleted,
	).Scan(&linked, &applied)
	if err != nil {
		return uuid.Nil, false, fmt.Errorf("mirror directory user %s: %w", u.WorkOSID, err)
	}
	if linked == nil {
		return uuid.Nil, applied, nil
	}
	return *linked, applied, nil
}

// UpsertDirectoryGroup mirrors g and reports whether the row changed.
func UpsertDirectoryGroup(ctx context.Context, tx pgx.Tx, g MirroredDirectoryGroup) (bool, error) {
	tag, err := tx.Exec(ctx, `
		INSERT INTO directory_groups (org_id, workos_id, directory_workos_id, name, workos_updated_at, deleted_at)
		VALUES ($1, $2, $3, $4, $5, CASE WHEN $6 THEN now() END)
		ON CONFLICT (workos_id) DO UPDATE SET
			directory_workos_id = EXCLUDED.directory_workos_id,
			name = EXCLUDED.name,
			workos_updated_at = EXCLUDED.workos_updated_at,
			deleted_at = CASE WHEN $6 THEN coalesce(directory_groups.deleted_at, now()) END
		WHERE directory_groups.workos_updated_at < EXCLUDED.workos_updated_at
		   OR ($6 AND directory_groups.deleted_at IS NULL AND directory_groups.workos_updated_at <= EXCLUDED.workos_updated_at)`,
		g.OrgID, g.WorkOSID, g.DirectoryWorkOSID, g.Name, g.UpdatedAt, g.Deleted)
	if err != nil {
		return false, fmt.Errorf("mirror directory group %s: %w", g.WorkOSID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// SetDirectoryGroupMembership records that the directory user joined
// (removed false) or left (removed true) the group at eventAt, the event's
// created_at. An event older than the stored one changes nothing.
func SetDirectoryGroupMembership(ctx context.Context, tx pgx.Tx, orgID uuid.UUID, groupWorkOSID, userWorkOSID string, eventAt time.Time, removed bool) (bool, error) {
	tag, err := tx.Exec(ctx, `
		INSERT INTO directory_group_memberships (org_id, group_workos_id, directory_user_workos_id, event_created_at, deleted_at)
		VALUES ($1, $2, $3, $4, CASE WHEN $5 THEN now() END)
		ON CONFLICT (group_workos_id, directory_user_workos_id) DO UPDATE SET
			event_created_at = EXCLUDED.event_created_at,
			deleted_at = EXCLUDED.deleted_at
		WHERE directory_group_memberships.event_created_at < EXCLUDED.event_created_at`,
		orgID, groupWorkOSID, userWorkOSID, eventAt, removed)
	if err != nil {
		return false, fmt.Errorf("mirror membership of directory user %s in group %s: %w", userWorkOSID, groupWorkOSID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// DirectoryUserGroups returns the WorkOS ids of the groups the directory
// user currently belongs to, in the transaction's organization.
func DirectoryUserGroups(ctx context.Context, tx pgx.Tx, userWorkOSID string) ([]string, error) {
	rows, err := tx.Query(ctx, `
		SELECT m.group_workos_id FROM directory_group_memberships m
		JOIN directory_groups g ON g.workos_id = m.group_workos_id AND g.deleted_at IS NULL
		WHERE m.directory_user_workos_id = $1 AND m.deleted_at IS NULL
		ORDER BY m.group_workos_id`, userWorkOSID)
	if err != nil {
		return nil, fmt.Errorf("list groups of directory user %s: %w", userWorkOSID, err)
	}
	groups, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list groups of directory user %s: %w", userWorkOSID, err)
	}
	return groups, nil
}

// OrganizationIDByWorkOSID returns the platform id of the WorkOS
// organization, or ErrNotFound.
func OrganizationIDByWorkOSID(ctx context.Context, tx pgx.Tx, workosID string) (uuid.UUID, error) {
	var id uuid.UUID
	err := tx.QueryRow(ctx, `SELECT id FROM organizations WHERE workos_id = $1`, workosID).Scan(&id)
	if err != nil {
		return uuid.Nil, fmt.Errorf("find organization %s: %w", workosID, notFound(err))
	}
	return id, nil
}

// EventCursor returns the id of the last applied event of stream, or ""
// before the first one.
func EventCursor(ctx context.Context, tx pgx.Tx, stream string) (string, error) {
	var eventID string
	err := tx.QueryRow(ctx, `SELECT event_id FROM workos_event_cursors WHERE stream = $1`, stream).Scan(&eventID)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read event cursor %s: %w", stream, err)
	}
	return eventID, nil
}

// SetEventCursor stores eventID as the last applied event of stream.
func SetEventCursor(ctx context.Context, tx pgx.Tx, stream, eventID string) error {
	_, err := tx.Exec(ctx, `
		INSERT INTO workos_event_cursors (stream, event_id) VALUES ($1, $2)
		ON CONFLICT (stream) DO UPDATE SET event_id = EXCLUDED.event_id, updated_at = now()`, stream, eventID)
	if err != nil {
		return fmt.Errorf("set event cursor %s to %s: %w", stream, eventID, err)
	}
	return nil
}

// WithAdvisoryLock runs fn while holding the session-level advisory lock
// key on a connection of its own, and reports false without running fn when
// another session holds the lock. The lock outlives fn's transactions, and
// PostgreSQL releases it if the connection drops.
func (s *Store) WithAdvisoryLock(ctx context.Context, key int64, fn func() error) (bool, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return false, fmt.Errorf("acquire connection for advisory lock %d: %w", key, err)
	}
	defer conn.Release()

	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&locked); err != nil {
		return false, fmt.Errorf("take advisory lock %d: %w", key, err)
	}
	if !locked {
		return false, nil
	}
	defer func() {
		// A canceled ctx must not keep the lock on a pooled connection.
		if _, err := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, key); err != nil {
			conn.Conn().Close(context.Background())
		}
	}()
	return true, fn()
}

// RecordWebhookEvent stores the id of a verified webhook delivery and
// reports whether it is new. A redelivered event id returns false.
func (s *Store) RecordWebhookEvent(ctx context.Context, eventID, eventType string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `
		INSERT INTO workos_webhook_events (event_id, event_type) VALUES ($1, $2)
		ON CONFLICT (event_id) DO NOTHING`, eventID, eventType)
	if err != nil {
		return false, fmt.Errorf("record webhook event %s: %w", eventID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// MarkWebhookEventsSynced marks every webhook event received before
// startedAt as synced, because a sync run that started after them has read
// the Events API past them. It returns how many it marked.
func (s *Store) MarkWebhookEventsSynced(ctx context.Context, startedAt time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `
		UPDATE workos_webhook_events SET synced_at = now()
		WHERE synced_at IS NULL AND received_at < $1`, startedAt)
	if err != nil {
		return 0, fmt.Errorf("mark webhook events synced: %w", err)
	}
	return tag.RowsAffected(), nil
}

// UnsyncedWebhookEvents returns how many webhook events wait for a sync run.
func (s *Store) UnsyncedWebhookEvents(ctx context.Context) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM workos_webhook_events WHERE synced_at IS NULL`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count unsynced webhook events: %w", err)
	}
	return n, nil
}

// RecordSession stores an AuthKit session id seen in an access token, so
// that deprovisioning the user can revoke it.
func (s *Store) RecordSession(ctx context.Context, sessionID string, orgID, userID uuid.UUID) error {
	_, err := s.pool.Exec(ctx, `
		INSERT INTO user_sessions (session_id, org_id, user_id) VALUES ($1, $2, $3)
		ON CONFLICT (session_id) DO NOTHING`, sessionID, orgID, userID)
	if err != nil {
		return fmt.Errorf("record session %s: %w", sessionID, err)
	}
	return nil
}

// RequestSessionRevocation marks the user's sessions for revocation: in
// orgID, or in every organization when orgID is uuid.Nil. It returns how
// many sessions it marked.
func RequestSessionRevocation(ctx context.Context, tx pgx.Tx, orgID, userID uuid.UUID) (int64, error) {
	tag, err := tx.Exec(ctx, `
		UPDATE user_sessions SET revoke_requested_at = now()
		WHERE user_id = $2 AND ($1 = '00000000-0000-0000-0000-000000000000'::uuid OR org_id = $1)
		  AND revoke_requested_at IS NULL`, orgID, userID)
	if err != nil {
		return 0, fmt.Errorf("request revocation of sessions of user %s: %w", userID, err)
	}
	return tag.RowsAffected(), nil
}

// RequestOrganizationSessionRevocation marks every session in orgID for
// revocation, when the organization is deleted.
func RequestOrganizationSessionRevocation(ctx context.Context, tx pgx.Tx, orgID uuid.UUID) (int64, error) {
	tag, err := tx.Exec(ctx, `
		UPDATE user_sessions SET revoke_requested_at = now()
		WHERE org_id = $1 AND revoke_requested_at IS NULL`, orgID)
	if err != nil {
		return 0, fmt.Errorf("request revocation of sessions in organization %s: %w", orgID, err)
	}
	return tag.RowsAffected(), nil
}

// RequestSessionRevocationByID marks one session for revocation, for a
// session first seen after its user was deprovisioned. It is a no-op for a
// session already marked.
func (s *Store) RequestSessionRevocationByID(ctx context.Context, sessionID string) error {
	_, err := s.pool.Exec(ctx, `
		UPDATE user_sessions SET revoke_requested_at = now()
		WHERE session_id = $1 AND revoke_requested_at IS NULL`, sessionID)
	if err != nil {
		return fmt.Errorf("request revocation of session %s: %w", sessionID, err)
	}
	return nil
}

// PendingSessionRevocations returns up to limit session ids marked for
// revocation and not yet revoked, oldest request first.
func (s *Store) PendingSessionRevocations(ctx context.Context, limit int) ([]string, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT session_id FROM user_sessions
		WHERE revoke_requested_at IS NOT NULL AND revoked_at IS NULL
		ORDER BY revoke_requested_at LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("list sessions to revoke: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list sessions to revoke: %w", err)
	}
	return ids, nil
}

// MarkSessionRevoked records that WorkOS revoked the session.
func (s *Store) MarkSessionRevoked(ctx context.Context, sessionID string) error {
	if _, err := s.pool.Exec(ctx, `UPDATE user_sessions SET revoked_at = now() WHERE session_id = $1`, sessionID); err != nil {
		return fmt.Errorf("mark session %s revoked: %w", sessionID, err)
	}
	return nil
}

// Reasons AccessDenial returns.
const (
	DenialOrganizationDeleted   = "organization_deleted"
	DenialUserDeleted           = "user_deleted"
	DenialMembershipRemoved     = "membership_removed"
	DenialDirectoryUserInactive = "directory_user_inactive"
)

// AccessDenial returns why userID may no longer call the API in orgID (one
// of the Denial constants), or "" when access is allowed. It is one indexed
// statement, cheap enough for every request.
func (s *Store) AccessDenial(ctx context.Context, orgID, userID uuid.UUID) (string, error) {
	var reason *string
	if err := s.pool.QueryRow(ctx, `SELECT access_denial($1, $2)`, orgID, userID).Scan(&reason); err != nil {
		return "", fmt.Errorf("check access of user %s in organization %s: %w", userID, orgID, err)
	}
	if reason == nil {
		return "", nil
	}
	return *reason, nil
}
