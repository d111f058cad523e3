package directory

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/workos/workos-go/v4/pkg/events"
)

// EventTypes are the WorkOS events the sync reads and applies.
var EventTypes = []string{
	events.OrganizationCreated, events.OrganizationUpdated, events.OrganizationDeleted,
	events.OrganizationDomainCreated, events.OrganizationDomainUpdated, events.OrganizationDomainDeleted,
	events.OrganizationDomainVerified, events.OrganizationDomainVerificationFailed,
	events.UserCreated, events.UserUpdated, events.UserDeleted,
	events.OrganizationMembershipCreated, events.OrganizationMembershipUpdated, events.OrganizationMembershipDeleted,
	events.DirectoryActivated, events.DirectoryDeleted,
	events.DirectoryUserCreated, events.DirectoryUserUpdated, events.DirectoryUserDeleted,
	events.DirectoryGroupCreated, events.DirectoryGroupUpdated, events.DirectoryGroupDeleted,
	events.DirectoryGroupUserAdded, events.DirectoryGroupUserRemoved,
}

// The payloads below hold the fields of the WorkOS objects the mirror keeps,
// as the events reference documents them (https://workos.com/docs/events).

type organizationData struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	UpdatedAt time.Time `json:"updated_at"`
}

type domainData struct {
	ID             string    `json:"id"`
	OrganizationID string    `json:"organization_id"`
	Domain         string    `json:"domain"`
	State          string    `json:"state"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// domainVerificationFailedData is the payload of
// organization_domain.verification_failed, which wraps the domain.
type domainVerificationFailedData struct {
	Reason             string     `json:"reason"`
	OrganizationDomain domainData `json:"organization_domain"`
}

type userData struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	FirstName string    `json:"first_name"`
	LastName  string    `json:"last_name"`
	UpdatedAt time.Time `json:"updated_at"`
}

type membershipData struct {
	ID             string `json:"id"`
	UserID         string `json:"user_id"`
	OrganizationID string `json:"organization_id"`
	Status         string `json:"status"`
	Role           struct {
		Slug string `json:"slug"`
	} `json:"role"`
	UpdatedAt time.Time `json:"updated_at"`
}

type directoryData struct {
	ID             string    `json:"id"`
	OrganizationID string    `json:"organization_id"`
	Name           string    `json:"name"`
	Type           string    `json:"type"`
	State          string    `json:"state"`
	UpdatedAt      time.Time `json:"updated_at"`
}

type directoryUserData struct {
	ID             string `json:"id"`
	DirectoryID    string `json:"directory_id"`
	OrganizationID string `json:"organization_id"`
	// UserID is an AuthKit user id; WorkOS does not document it on
	// directory users, so it is used only when present.
	UserID    string `json:"user_id"`
	Email     string `json:"email"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	State     string `json:"state"`
	// Emails is the deprecated list older payloads carry instead of email.
	Emails []struct {
		Primary bool   `json:"primary"`
		Value   string `json:"value"`
	} `json:"emails"`
	UpdatedAt time.Time `json:"updated_at"`
}

// primaryEmail returns email, or the primary entry of the deprecated list.
func (u directoryUserData) primaryEmail() string {
	if u.Email != "" {
		return u.Email
	}
	for _, e := range u.Emails {
		if e.Primary {
			return e.Value
		}
	}
	if len(u.Emails) > 0 {
		return u.Emails[0].Value
	}
	return ""
}

type directoryGroupData struct {
	ID             string    `json:"id"`
	DirectoryID    string    `json:"directory_id"`
	OrganizationID string    `json:"organization_id"`
	Name           string    `json:"name"`
	UpdatedAt      time.Time `json:"updated_at"`
}

type groupMembershipData struct {
	DirectoryID string             `json:"directory_id"`
	User        directoryUserData  `json:"user"`
	Group       directoryGroupData `json:"group"`
}

// decode unmarshals the event's data into v and checks that the object has
// an id and an updated_at to order by.
func decode[T any](event events.Event, v *T, id func(*T) string, updatedAt func(*T) time.Time) error {
	if err := json.Unmarshal(event.Data, v); err != nil {
		return fmt.Errorf("decode %s event %s: %w", event.Event, event.ID, err)
	}
	if id(v) == "" {
		return fmt.Errorf("decode %s event %s: the object has no id", event.Event, event.ID)
	}
	if updatedAt != nil && updatedAt(v).IsZero() {
		return fmt.Errorf("decode %s event %s: object %s has no updated_at", event.Event, event.ID, id(v))
	}
	return nil
}
