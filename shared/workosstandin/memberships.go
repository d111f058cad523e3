package workosstandin

import (
	"net/http"
	"slices"
)

// Organization membership statuses.
const (
	MembershipActive   = "active"
	MembershipInactive = "inactive"
	MembershipPending  = "pending"
)

// OrganizationMembership links a user to an organization with one role, as
// the User Management API returns it.
type OrganizationMembership struct {
	Object           string   `json:"object"`
	ID               string   `json:"id"`
	UserID           string   `json:"user_id"`
	OrganizationID   string   `json:"organization_id"`
	OrganizationName string   `json:"organization_name"`
	Role             RoleSlug `json:"role"`
	Status           string   `json:"status"`
	CreatedAt        string   `json:"created_at"`
	UpdatedAt        string   `json:"updated_at"`
}

// RoleSlug is the role reference inside a membership.
type RoleSlug struct {
	Slug string `json:"slug"`
}

// createMembershipRequest is the body workos-go v4 sends from
// usermanagement.CreateOrganizationMembershipOpts.
type createMembershipRequest struct {
	UserID         string `json:"user_id"`
	OrganizationID string `json:"organization_id"`
	RoleSlug       string `json:"role_slug"`
}

func (s *Server) handleCreateMembership(w http.ResponseWriter, r *http.Request) {
	var req createMembershipRequest
	if err := decodeJSONBody(w, r, &req); err != nil {
		writeError(w, http.StatusBadRequest, apiError{Message: err.Error(), Code: "invalid_json"})
		return
	}
	var invalid []fieldError
	if req.UserID == "" {
		invalid = append(invalid, fieldError{Field: "user_id", Code: "user_id_required"})
	}
	if req.OrganizationID == "" {
		invalid = append(invalid, fieldError{Field: "organization_id", Code: "organization_id_required"})
	}
	if req.RoleSlug == "" {
		req.RoleSlug = RoleDefault
	}
	if _, ok := rolePermissions[req.RoleSlug]; !ok {
		invalid = append(invalid, fieldError{Field: "role_slug", Code: "role_slug_invalid"})
	}
	if len(invalid) > 0 {
		writeValidationFailed(w, invalid...)
		return
	}

	now := formatTimestamp(s.now())
	var created *OrganizationMembership
	var missingEntity, missingID string
	var duplicate bool
	err := s.store.update(func(st *state) error {
		if _, ok := findByID(st.Users, req.UserID, userID); !ok {
			missingEntity, missingID = "User", req.UserID
			return nil
		}
		org, ok := findByID(st.Organizations, req.OrganizationID, organizationID)
		if !ok {
			missingEntity, missingID = "Organization", req.OrganizationID
			return nil
		}
		for _, m := range st.Memberships {
			if m.UserID == req.UserID && m.OrganizationID == req.OrganizationID {
				duplicate = true
				return nil
			}
		}

		membership := &OrganizationMembership{
			Object:           "organization_membership",
			ID:               newID("om"),
			UserID:           req.UserID,
			OrganizationID:   org.ID,
			OrganizationName: org.Name,
			Role:             RoleSlug{Slug: req.RoleSlug},
			Status:           MembershipActive,
			CreatedAt:        now,
			UpdatedAt:        now,
		}
		s.addMembershipLocked(st, membership)
		created = membership
		return nil
	})
	switch {
	case err != nil:
		s.logger.Error("workos stand-in failed to create organization membership", "error", err)
		writeInternalError(w)
	case missingEntity != "":
		writeNotFound(w, missingEntity, missingID)
	case duplicate:
		// NOTE: WorkOS rejects a second membership of the same user in the
		// same organization; the exact code it sends is not verified here.
		writeError(w, http.StatusUnprocessableEntity, apiError{
			Message: "The user is already a member of the organization.",
			Code:    "organization_membership_already_exists",
		})
	default:
		writeJSON(w, http.StatusCreated, created)
	}
}

func (s *Server) handleGetMembership(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var membership OrganizationMembership
	var found bool
	s.store.read(func(st *state) {
		if m, ok := findByID(st.Memberships, id, membershipID); ok {
			membership, found = *m, true
		}
	})
	if !found {
		writeNotFound(w, "Organization Membership", id)
		return
	}
	writeJSON(w, http.StatusOK, membership)
}

// handleListMemberships serves GET /user_management/organization_memberships.
// Like WorkOS, it returns only active memberships unless the request names
// statuses (workos-go v4 sends them as repeated statuses parameters).
func (s *Server) handleListMemberships(w http.ResponseWriter, r *http.Request) {
	values := r.URL.Query()
	q, invalid := parseListQuery(values)
	if len(invalid) > 0 {
		writeValidationFailed(w, invalid...)
		return
	}
	user := values.Get("user_id")
	organization := values.Get("organization_id")
	if user == "" && organization == "" {
		writeValidationFailed(w, fieldError{Field: "user_id", Code: "user_id_or_organization_id_required"})
		return
	}
	statuses := append(values["statuses"], values["statuses[]"]...)
	if len(statuses) == 0 {
		statuses = []string{MembershipActive}
	}

	var matched []OrganizationMembership
	s.store.read(func(st *state) {
		for _, m := range st.Memberships {
			if user != "" && m.UserID != user {
				continue
			}
			if organization != "" && m.OrganizationID != organization {
				continue
			}
			if !slices.Contains(statuses, m.Status) {
				continue
			}
			matched = append(matched, *m)
		}
	})

	writeJSON(w, http.StatusOK, paginate(matched, func(m OrganizationMembership) string { return m.ID }, q))
}

// hasMembershipLocked reports whether the user is an active member of the
// organization. The caller holds the store lock.
func hasMembershipLocked(st *state, user, organization string) bool {
	return activeMembershipLocked(st, user, organization) != nil
}

func activeMembershipLocked(st *state, user, organization string) *OrganizationMembership {
	for _, m := range st.Memberships {
		if m.UserID == user && m.OrganizationID == organization && m.Status == MembershipActive {
			return m
		}
	}
	return nil
}

func membershipID(m *OrganizationMembership) string { return m.ID }

// newMembership returns an active membership of user in org with role.
func newMembership(user string, org *Organization, role, now string) *OrganizationMembership {
	return &OrganizationMembership{
		Object:           "organization_membership",
		ID:               newID("om"),
		UserID:           user,
		OrganizationID:   org.ID,
		OrganizationName: org.Name,
		Role:             RoleSlug{Slug: role},
		Status:           MembershipActive,
		CreatedAt:        now,
		UpdatedAt:        now,
	}
}

// addMembershipLocked stores a new membership and emits
// organization_membership.created.
func (s *Server) addMembershipLocked(st *state, membership *OrganizationMembership) {
	st.Memberships = append(st.Memberships, membership)
	s.emitLocked(st, EventMembershipCreated, membership.OrganizationID, membership)
}

// updateMembershipRequest is the body workos-go v4 sends from
// usermanagement.UpdateOrganizationMembershipOpts.
type updateMembershipRequest struct {
	RoleSlug string `json:"role_slug"`
}

// handleUpdateMembership serves PUT
// /user_management/organization_memberships/{id}, which changes the role.
// Tokens minted before the change keep the old role until they expire, as
// AuthKit tokens do until the session refreshes.
func (s *Server) handleUpdateMembership(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var req updateMembershipRequest
	if err := decodeJSONBody(w, r, &req); err != nil {
		writeError(w, http.StatusBadRequest, apiError{Message: err.Error(), Code: "invalid_json"})
		return
	}
	if _, ok := rolePermissions[req.RoleSlug]; !ok {
		writeValidationFailed(w, fieldError{Field: "role_slug", Code: "role_slug_invalid"})
		return
	}

	var updated OrganizationMembership
	var found bool
	err := s.store.update(func(st *state) error {
		m, ok := findByID(st.Memberships, id, membershipID)
		if !ok {
			return nil
		}
		m.Role = RoleSlug{Slug: req.RoleSlug}
		m.UpdatedAt = s.nextUpdatedAt(m.UpdatedAt)
		updated, found = *m, true
		s.emitLocked(st, EventMembershipUpdated, m.OrganizationID, m)
		return nil
	})
	switch {
	case err != nil:
		s.logger.Error("workos stand-in failed to update organization membership", "membership_id", id, "error", err)
		writeInternalError(w)
	case !found:
		writeNotFound(w, "Organization Membership", id)
	default:
		writeJSON(w, http.StatusOK, updated)
	}
}

// handleDeleteMembership serves DELETE
// /user_management/organization_memberships/{id} (workos-go v4's
// DeleteOrganizationMembership) and the development endpoint that removes a
// membership. It emits organization_membership.deleted and revokes the
// user's sessions in that organization, so their refresh tokens fail.
// NOTE: whether WorkOS revokes those sessions itself is not verified; the
// platform must deny the user on its own either way, because issued access
// tokens stay valid until they expire.
func (s *Server) handleDeleteMembership(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var found bool
	err := s.store.update(func(st *state) error {
		membership, ok := findByID(st.Memberships, id, membershipID)
		if !ok {
			return nil
		}
		found = true
		s.deleteMembershipLocked(st, membership)
		return nil
	})
	switch {
	case err != nil:
		s.logger.Error("workos stand-in failed to delete organization membership", "membership_id", id, "error", err)
		writeInternalError(w)
	case !found:
		writeNotFound(w, "Organization Membership", id)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) deleteMembershipLocked(st *state, membership *OrganizationMembership) {
	st.Memberships = slices.DeleteFunc(st.Memberships, func(m *OrganizationMembership) bool { return m.ID == membership.ID })
	membership.UpdatedAt = s.nextUpdatedAt(membership.UpdatedAt)
	s.emitLocked(st, EventMembershipDeleted, membership.OrganizationID, membership)
	s.revokeSessionsLocked(st, func(session *Session) bool {
		return session.UserID == membership.UserID && session.OrganizationID == membership.OrganizationID
	})
}
