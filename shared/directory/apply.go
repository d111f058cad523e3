package directory

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/workos/workos-go/v4/pkg/events"

	"github.com/bondingai/platform/shared/store"
)

// change applies a decoded event inside the transaction apply opens and
// reports whether the mirror changed.
type change func(ctx context.Context, tx pgx.Tx) (bool, error)

// plan decodes event and returns the platform organization to scope the
// transaction to (uuid.Nil for user events) and the change to apply. It
// creates the organization's registry row when the organization is new,
// because every mirrored row references it.
func (s *Syncer) plan(ctx context.Context, event events.Event) (uuid.UUID, change, error) {
	switch event.Event {
	case events.OrganizationCreated, events.OrganizationUpdated, events.OrganizationDeleted:
		var o organizationData
		if err := decode(event, &o, func(o *organizationData) string { return o.ID }, func(o *organizationData) time.Time { return o.UpdatedAt }); err != nil {
			return uuid.Nil, nil, malformed(err)
		}
		return s.planOrganization(event, o)

	case events.OrganizationDomainCreated, events.OrganizationDomainUpdated, events.OrganizationDomainDeleted,
		events.OrganizationDomainVerified, events.OrganizationDomainVerificationFailed:
		var d domainData
		if event.Event == events.OrganizationDomainVerificationFailed {
			var failed domainVerificationFailedData
			if err := decode(event, &failed, func(f *domainVerificationFailedData) string { return f.OrganizationDomain.ID }, nil); err != nil {
				return uuid.Nil, nil, malformed(err)
			}
			d = failed.OrganizationDomain
		} else if err := decode(event, &d, func(d *domainData) string { return d.ID }, nil); err != nil {
			return uuid.Nil, nil, malformed(err)
		}
		orgID, err := s.organization(ctx, event, d.OrganizationID)
		if err != nil {
			return uuid.Nil, nil, err
		}
		updatedAt := orderTime(d.UpdatedAt, event)
		return orgID, func(ctx context.Context, tx pgx.Tx) (bool, error) {
			return store.UpsertOrganizationDomain(ctx, tx, store.MirroredDomain{
				MirroredObject: store.MirroredObject{WorkOSID: d.ID, UpdatedAt: updatedAt, Deleted: event.Event == events.OrganizationDomainDeleted},
				OrgID:          orgID, Domain: d.Domain, State: d.State,
			})
		}, nil

	case events.UserCreated, events.UserUpdated, events.UserDeleted:
		var u userData
		if err := decode(event, &u, func(u *userData) string { return u.ID }, func(u *userData) time.Time { return u.UpdatedAt }); err != nil {
			return uuid.Nil, nil, malformed(err)
		}
		deleted := event.Event == events.UserDeleted
		return uuid.Nil, func(ctx context.Context, tx pgx.Tx) (bool, error) {
			userID, applied, err := store.UpsertUser(ctx, tx, store.MirroredUser{
				MirroredObject: store.MirroredObject{WorkOSID: u.ID, UpdatedAt: u.UpdatedAt, Deleted: deleted},
				Email:          u.Email, FirstName: u.FirstName, LastName: u.LastName,
			})
			if err != nil || !applied || !deleted {
				return applied, err
			}
			_, err = store.RequestSessionRevocation(ctx, tx, uuid.Nil, userID)
			return true, err
		}, nil

	case events.OrganizationMembershipCreated, events.OrganizationMembershipUpdated, events.OrganizationMembershipDeleted:
		var m membershipData
		if err := decode(event, &m, func(m *membershipData) string { return m.ID }, func(m *membershipData) time.Time { return m.UpdatedAt }); err != nil {
			return uuid.Nil, nil, malformed(err)
		}
		if m.UserID == "" || m.OrganizationID == "" {
			return uuid.Nil, nil, malformed(fmt.Errorf("membership %s in event %s has no user_id or organization_id", m.ID, event.ID))
		}
		orgID, err := s.organization(ctx, event, m.OrganizationID)
		if err != nil {
			return uuid.Nil, nil, err
		}
		userID, err := s.Store.EnsureUser(ctx, m.UserID)
		if err != nil {
			return uuid.Nil, nil, err
		}
		deleted := event.Event == events.OrganizationMembershipDeleted
		return orgID, func(ctx context.Context, tx pgx.Tx) (bool, error) {
			applied, err := store.UpsertMembership(ctx, tx, store.MirroredMembership{
				MirroredObject: store.MirroredObject{WorkOSID: m.ID, UpdatedAt: m.UpdatedAt, Deleted: deleted},
				OrgID:          orgID, UserID: userID, Role: m.Role.Slug, Status: m.Status,
			})
			if err != nil || !applied || (!deleted && m.Status != "inactive") {
				return applied, err
			}
			_, err = store.RequestSessionRevocation(ctx, tx, orgID, userID)
			return true, err
		}, nil

	case events.DirectoryActivated, events.DirectoryDeleted:
		var d directoryData
		if err := decode(event, &d, func(d *directoryData) string { return d.ID }, nil); err != nil {
			return uuid.Nil, nil, malformed(err)
		}
		orgID, err := s.organization(ctx, event, d.OrganizationID)
		if err != nil {
			return uuid.Nil, nil, err
		}
		updatedAt := orderTime(d.UpdatedAt, event)
		return orgID, func(ctx context.Context, tx pgx.Tx) (bool, error) {
			return store.UpsertDirectory(ctx, tx, store.MirroredDirectory{
				MirroredObject: store.MirroredObject{WorkOSID: d.ID, UpdatedAt: updatedAt, Deleted: event.Event == events.DirectoryDeleted},
				OrgID:          orgID, Name: d.Name, Type: d.Type, State: d.State,
			})
		}, nil

	case events.DirectoryUserCreated, events.DirectoryUserUpdated, events.DirectoryUserDeleted:
		var u directoryUserData
		if err := decode(event, &u, func(u *directoryUserData) string { return u.ID }, func(u *directoryUserData) time.Time { return u.UpdatedAt }); err != nil {
			return uuid.Nil, nil, malformed(err)
		}
		orgID, err := s.organization(ctx, event, u.OrganizationID)
		if err != nil {
			return uuid.Nil, nil, err
		}
		return orgID, s.directoryUserChange(orgID, u, event.Event == events.DirectoryUserDeleted), nil

	case events.DirectoryGroupCreated, events.DirectoryGroupUpdated, events.DirectoryGroupDeleted:
		var g directoryGroupData
		if err := decode(event, &g, func(g *directoryGroupData) string { return g.ID }, func(g *directoryGroupData) time.Time { return g.UpdatedAt }); err != nil {
			return uuid.Nil, nil, malformed(err)
		}
		orgID, err := s.organization(ctx, event, g.OrganizationID)
		if err != nil {
			return uuid.Nil, nil, err
		}
		return orgID, func(ctx context.Context, tx pgx.Tx) (bool, error) {
			return store.UpsertDirectoryGroup(ctx, tx, store.MirroredDirectoryGroup{
				MirroredObject:    store.MirroredObject{WorkOSID: g.ID, UpdatedAt: g.UpdatedAt, Deleted: event.Event == events.DirectoryGroupDeleted},
				OrgID:             orgID,
				DirectoryWorkOSID: g.DirectoryID,
				Name:              g.Name,
			})
		}, nil

	case events.DirectoryGroupUserAdded, events.DirectoryGroupUserRemoved:
		var gm groupMembershipData
		if err := decode(event, &gm, func(gm *groupMembershipData) string { return gm.Group.ID + gm.User.ID }, nil); err != nil {
			return uuid.Nil, nil, malformed(err)
		}
		if gm.Group.ID == "" || gm.User.ID == "" {
			return uuid.Nil, nil, malformed(fmt.Errorf("event %s lacks the group or the user id", event.ID))
		}
		orgWorkOSID := gm.Group.OrganizationID
		if orgWorkOSID == "" {
			orgWorkOSID = gm.User.OrganizationID
		}
		orgID, err := s.organization(ctx, event, orgWorkOSID)
		if err != nil {
			return uuid.Nil, nil, err
		}
		return orgID, func(ctx context.Context, tx pgx.Tx) (bool, error) {
			return store.SetDirectoryGroupMembership(ctx, tx, orgID, gm.Group.ID, gm.User.ID, event.CreatedAt,
				event.Event == events.DirectoryGroupUserRemoved)
		}, nil
	}
	return uuid.Nil, nil, malformed(fmt.Errorf("event %s has the unhandled type %q", event.ID, event.Event))
}

func (s *Syncer) planOrganization(event events.Event, o organizationData) (uuid.UUID, change, error) {
	deleted := event.Event == events.OrganizationDeleted
	return uuid.Nil, func(ctx context.Context, tx pgx.Tx) (bool, error) {
		orgID, applied, err := store.UpsertOrganization(ctx, tx, store.MirroredOrganization{
			MirroredObject: store.MirroredObject{WorkOSID: o.ID, UpdatedAt: o.UpdatedAt, Deleted: deleted},
			Name:           o.Name,
		})
		if err != nil || !applied || !deleted {
			return applied, err
		}
		_, err = store.RequestOrganizationSessionRevocation(ctx, tx, orgID)
		return true, err
	}, nil
}

// directoryUserChange mirrors a directory user; deactivating or deleting
// one marks the linked user's sessions in the organization for revocation.
func (s *Syncer) directoryUserChange(orgID uuid.UUID, u directoryUserData, deleted bool) change {
	return func(ctx context.Context, tx pgx.Tx) (bool, error) {
		userID, applied, err := store.UpsertDirectoryUser(ctx, tx, store.MirroredDirectoryUser{
			MirroredObject:    store.MirroredObject{WorkOSID: u.ID, UpdatedAt: u.UpdatedAt, Deleted: deleted},
			OrgID:             orgID,
			DirectoryWorkOSID: u.DirectoryID,
			UserWorkOSID:      u.UserID,
			Email:             u.primaryEmail(),
			FirstName:         u.FirstName,
			LastName:          u.LastName,
			State:             u.State,
		})
		if err != nil || !applied || userID == uuid.Nil || (!deleted && u.State == "active") {
			return applied, err
		}
		_, err = store.RequestSessionRevocation(ctx, tx, orgID, userID)
		return true, err
	}
}

// organization returns the platform id of the WorkOS organization an event
// belongs to, creating the registry row on first sight.
func (s *Syncer) organization(ctx context.Context, event events.Event, workosID string) (uuid.UUID, error) {
	if workosID == "" {
		return uuid.Nil, malformed(fmt.Errorf("%s event %s has no organization_id", event.Event, event.ID))
	}
	return s.Store.EnsureOrganization(ctx, workosID)
}

// orderTime returns the object's updated_at, or the event's created_at for
// payloads that may omit it (directories and domains).
func orderTime(updatedAt time.Time, event events.Event) time.Time {
	if updatedAt.IsZero() {
		return event.CreatedAt
	}
	return updatedAt
}

func malformed(err error) error {
	return fmt.Errorf("%w: %w", ErrMalformedEvent, err)
}
