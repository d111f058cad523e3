package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// ErrVersionMismatch is returned when a settings write names a version that
// is no longer the stored one: another administrator wrote in between.
var ErrVersionMismatch = errors.New("settings version mismatch")

// OrganizationSettings is an organization's stored configuration document.
type OrganizationSettings struct {
	// Document is the JSON document, validated by the caller before writing.
	Document []byte
	// Version starts at 1 and grows by one with every write; 0 means the
	// organization has never saved settings.
	Version   int64
	UpdatedBy *uuid.UUID
	UpdatedAt time.Time
}

// GetOrganizationSettings returns the settings of the transaction's
// organization, or ErrNotFound when none were saved.
func GetOrganizationSettings(ctx context.Context, tx pgx.Tx, orgID uuid.UUID) (OrganizationSettings, error) {
	var s OrganizationSettings
	err := tx.QueryRow(ctx, `
		SELECT document, version, updated_by, updated_at FROM organization_settings WHERE org_id = $1`,
		orgID).Scan(&s.Document, &s.Version, &s.UpdatedBy, &s.UpdatedAt)
	if err != nil {
		return OrganizationSettings{}, fmt.Errorf("read settings of organization %s: %w", orgID, notFound(err))
	}
	return s, nil
}

// PutOrganizationSettings replaces the settings document when the stored
// version is expectedVersion (0 when none are stored yet), and returns the
// new row. Otherwise it returns ErrVersionMismatch.
func PutOrganizationSettings(ctx context.Context, tx pgx.Tx, orgID, updatedBy uuid.UUID, document []byte, expectedVersion int64) (OrganizationSettings, error) {
	s := OrganizationSettings{Document: document}
	var err error
	if expectedVersion == 0 {
		err = tx.QueryRow(ctx, `
			INSERT INTO organization_settings (org_id, document, version, updated_by) VALUES ($1, $2, 1, $3)
			ON CONFLICT (org_id) DO NOTHING
			RETURNING version, updated_by, updated_at`, orgID, document, updatedBy).Scan(&s.Version, &s.UpdatedBy, &s.UpdatedAt)
	} else {
		err = tx.QueryRow(ctx, `
			UPDATE organization_settings SET document = $2, version = version + 1, updated_by = $3, updated_at = now()
			WHERE org_id = $1 AND version = $4
			RETURNING version, updated_by, updated_at`, orgID, document, updatedBy, expectedVersion).Scan(&s.Version, &s.UpdatedBy, &s.UpdatedAt)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return OrganizationSettings{}, fmt.Errorf("write settings of organization %s at version %d: %w", orgID, expectedVersion, ErrVersionMismatch)
	}
	if err != nil {
		return OrganizationSettings{}, fmt.Errorf("write settings of organization %s: %w", orgID, err)
	}
	return s, nil
}
