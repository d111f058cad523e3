// Package admin holds organization administration: the organization's
// settings document stored in PostgreSQL, and WorkOS Admin Portal links
// through which the customer's IT team configures SSO, Directory Sync and
// domains themselves.
package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bondingai/platform/shared/problem"
	"github.com/bondingai/platform/shared/store"
)

// Limits of the settings document.
const (
	MaxDisplayNameRunes   = 100
	MaxEmailDomains       = 50
	MinRetentionDays      = 1
	MaxRetentionDays      = 3650
	MaxCustomBytes        = 16 << 10
	maxDomainBytes        = 253
	maxDeploymentNameRune = 64
)

// Settings is an organization's configuration. Every field is optional;
// null or absent means the platform default.
type Settings struct {
	// DisplayName replaces the WorkOS organization name in the user interface.
	DisplayName string `json:"display_name"`
	// AllowedEmailDomains restricts which email domains may be invited; empty
	// allows any.
	AllowedEmailDomains []string `json:"allowed_email_domains"`
	// RetentionDays keeps analytics for that many days; null keeps the
	// platform default.
	RetentionDays *int `json:"retention_days"`
	// ChatModelDeployment names the Azure OpenAI chat deployment; empty
	// uses the platform's.
	ChatModelDeployment string `json:"chat_model_deployment"`
	// Custom is a free-form JSON object of at most MaxCustomBytes.
	Custom json.RawMessage `json:"custom"`
}

// DefaultSettings returns the settings of an organization that has never
// saved any.
func DefaultSettings() Settings {
	return Settings{AllowedEmailDomains: []string{}, Custom: json.RawMessage("{}")}
}

var (
	// domainLabel is one DNS label: letters, digits and inner hyphens.
	domainLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	// deploymentName follows Azure OpenAI deployment names: letters, digits,
	// hyphens, underscores and dots.
	deploymentName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
)

// Validate checks every field and normalizes email domains to lower case.
// It returns one FieldError per invalid field, or none.
func (s *Settings) Validate() []problem.FieldError {
	var errs []problem.FieldError
	fail := func(field, format string, args ...any) {
		errs = append(errs, problem.FieldError{Field: field, Detail: fmt.Sprintf(format, args...)})
	}

	if n := len([]rune(s.DisplayName)); n > MaxDisplayNameRunes {
		fail("display_name", "must be at most %d characters; it has %d", MaxDisplayNameRunes, n)
	}
	if strings.IndexFunc(s.DisplayName, unicode.IsControl) >= 0 {
		fail("display_name", "must not contain control characters")
	}

	if s.AllowedEmailDomains == nil {
		s.AllowedEmailDomains = []string{}
	}
	if len(s.AllowedEmailDomains) > MaxEmailDomains {
		fail("allowed_email_domains", "must list at most %d domains; it lists %d", MaxEmailDomains, len(s.AllowedEmailDomains))
	}
	seen := map[string]bool{}
	for i, domain := range s.AllowedEmailDomains {
		field := "allowed_email_domains[" + strconv.Itoa(i) + "]"
		domain = strings.ToLower(strings.TrimSpace(domain))
		s.AllowedEmailDomains[i] = domain
		switch {
		case !isDomain(domain):
			fail(field, "%q is not a domain name such as contoso.com", domain)
		case seen[domain]:
			fail(field, "%q is listed twice", domain)
		}
		seen[domain] = true
	}

	if s.RetentionDays != nil && (*s.RetentionDays < MinRetentionDays || *s.RetentionDays > MaxRetentionDays) {
		fail("retention_days", "must be between %d and %d, or null for the default", MinRetentionDays, MaxRetentionDays)
	}

	if s.ChatModelDeployment != "" && (len(s.ChatModelDeployment) > maxDeploymentNameRune || !deploymentName.MatchString(s.ChatModelDeployment)) {
		fail("chat_model_deployment", "must be an Azure OpenAI deployment name: up to %d letters, digits, '-', '_' or '.'", maxDeploymentNameRune)
	}

	custom := bytes.TrimSpace(s.Custom)
	switch {
	case len(custom) == 0 || bytes.Equal(custom, []byte("null")):
		s.Custom = json.RawMessage("{}")
	case custom[0] != '{':
		fail("custom", "must be a JSON object")
	case len(custom) > MaxCustomBytes:
		fail("custom", "must be at most %d bytes of JSON; it has %d", MaxCustomBytes, len(custom))
	}
	return errs
}

// isDomain reports whether domain is a lower-case DNS name with at least
// two labels.
func isDomain(domain string) bool {
	if len(domain) > maxDomainBytes {
		return false
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return false
	}
	for _, label := range labels {
		if !domainLabel.MatchString(label) {
			return false
		}
	}
	return true
}

// ErrVersionMismatch is returned by Put when the settings changed since
// the version the caller read.
var ErrVersionMismatch = store.ErrVersionMismatch

// StoredSettings is the settings document with its version and author.
type StoredSettings struct {
	Settings Settings `json:"settings"`
	// Version grows by one with every write; 0 means never saved.
	Version   int64      `json:"version"`
	UpdatedBy *uuid.UUID `json:"updated_by"`
	UpdatedAt *time.Time `json:"updated_at"`
}

// ETag returns the entity tag of this version, for If-Match.
func (s StoredSettings) ETag() string {
	return `"v` + strconv.FormatInt(s.Version, 10) + `"`
}

// ParseETag returns the version in an entity tag ETag made, accepting the
// weak form W/"v3" that some proxies produce.
func ParseETag(tag string) (int64, bool) {
	tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
	if len(tag) < 4 || !strings.HasPrefix(tag, `"v`) || !strings.HasSuffix(tag, `"`) {
		return 0, false
	}
	version, err := strconv.ParseInt(tag[2:len(tag)-1], 10, 64)
	if err != nil || version < 0 {
		return 0, false
	}
	return version, true
}

// SettingsService reads and writes organization settings.
type SettingsService struct {
	Store *store.Store
}

// Get returns the organization's settings, or the defaults at version 0.
func (s *SettingsService) Get(ctx context.Context, orgID uuid.UUID) (StoredSettings, error) {
	var result StoredSettings
	err := s.Store.InOrg(ctx, orgID, func(tx pgx.Tx) error {
		row, err := store.GetOrganizationSettings(ctx, tx, orgID)
		if errors.Is(err, store.ErrNotFound) {
			result = StoredSettings{Settings: DefaultSettings()}
			return nil
		}
		if err != nil {
			return err
		}
		result, err = fromRow(row)
		return err
	})
	return result, err
}

// Put replaces the settings when the stored version is expectedVersion.
// The caller validates settings first.
func (s *SettingsService) Put(ctx context.Context, orgID, userID uuid.UUID, settings Settings, expectedVersion int64) (StoredSettings, error) {
	document, err := json.Marshal(settings)
	if err != nil {
		return StoredSettings{}, fmt.Errorf("encode settings of organization %s: %w", orgID, err)
	}
	var result StoredSettings
	err = s.Store.InOrg(ctx, orgID, func(tx pgx.Tx) error {
		row, err := store.PutOrganizationSettings(ctx, tx, orgID, userID, document, expectedVersion)
		if err != nil {
			return err
		}
		result, err = fromRow(row)
		return err
	})
	return result, err
}

func fromRow(row store.OrganizationSettings) (StoredSettings, error) {
	result := StoredSettings{Settings: DefaultSettings(), Version: row.Version, UpdatedBy: row.UpdatedBy, UpdatedAt: &row.UpdatedAt}
	if err := json.Unmarshal(row.Document, &result.Settings); err != nil {
		return StoredSettings{}, fmt.Errorf("decode stored settings version %d: %w", row.Version, err)
	}
	if result.Settings.AllowedEmailDomains == nil {
		result.Settings.AllowedEmailDomains = []string{}
	}
	return result, nil
}
