package workosstandin

import (
	"net/http"
	"slices"
	"strings"
)

// The development endpoints of this file play the identity provider: they
// change directories, directory users and groups the way a SCIM sync would,
// and emit the events WorkOS emits for those changes.

// CreateDirectoryRequest is the body of POST /_standin/directories.
type CreateDirectoryRequest struct {
	OrganizationID string `json:"organization_id"`
	Name           string `json:"name"`
	// Domain defaults to the organization's first domain.
	Domain string `json:"domain"`
}

// CreateDirectoryUserRequest is the body of POST /_standin/directory-users.
type CreateDirectoryUserRequest struct {
	DirectoryID string `json:"directory_id"`
	Email       string `json:"email"`
	FirstName   string `json:"first_name"`
	LastName    string `json:"last_name"`
	// State defaults to active.
	State string `json:"state"`
	// Role defaults to RoleDefault.
	Role     string   `json:"role"`
	GroupIDs []string `json:"group_ids"`
}

// UpdateDirectoryUserRequest is the body of PUT
// /_standin/directory-users/{id}. Absent fields keep their values.
type UpdateDirectoryUserRequest struct {
	Email     *string   `json:"email"`
	FirstName *string   `json:"first_name"`
	LastName  *string   `json:"last_name"`
	State     *string   `json:"state"`
	Role      *string   `json:"role"`
	GroupIDs  *[]string `json:"group_ids"`
}

// DirectoryGroupRequest is the body of POST /_standin/directory-groups and
// PUT /_standin/directory-groups/{id}; directory_id is ignored by PUT.
type DirectoryGroupRequest struct {
	DirectoryID string `json:"directory_id"`
	Name        string `json:"name"`
}

func (s *Server) handleCreateDirectory(w http.ResponseWriter, r *http.Request) {
	var req CreateDirectoryRequest
	if err := decodeJSONBody(w, r, &req); err != nil {
		writeError(w, http.StatusBadRequest, apiError{Message: err.Error(), Code: "invalid_json"})
		return
	}
	if req.OrganizationID == "" {
		writeValidationFailed(w, fieldError{Field: "organization_id", Code: "organization_id_required"})
		return
	}

	var created *Directory
	err := s.store.update(func(st *state) error {
		org, ok := findByID(st.Organizations, req.OrganizationID, organizationID)
		if !ok {
			return nil
		}
		now := formatTimestamp(s.now())
		directory := &Directory{
			Object:         "directory",
			ID:             newID("directory"),
			Name:           strings.TrimSpace(req.Name),
			Domain:         strings.ToLower(req.Domain),
			Type:           directoryTypeDefault,
			State:          "linked",
			OrganizationID: org.ID,
			CreatedAt:      now,
			UpdatedAt:      now,
		}
		directory.ExternalKey = strings.TrimPrefix(directory.ID, "directory_")
		if directory.Name == "" {
			directory.Name = org.Name + " directory"
		}
		if directory.Domain == "" && len(org.Domains) > 0 {
			directory.Domain = org.Domains[0].Domain
		}
		st.Directories = append(st.Directories, directory)
		created = directory

		activated := directoryActivatedData{Directory: *directory, Domains: []directoryDomain{}}
		for _, domain := range org.Domains {
			activated.Domains = append(activated.Domains, directoryDomain{Object: "organization_domain", ID: domain.ID, Domain: domain.Domain})
		}
		s.emitLocked(st, EventDirectoryActivated, org.ID, activated)
		return nil
	})
	switch {
	case err != nil:
		s.logger.Error("workos stand-in failed to create directory", "org_id", req.OrganizationID, "error", err)
		writeInternalError(w)
	case created == nil:
		writeNotFound(w, "Organization", req.OrganizationID)
	default:
		writeJSON(w, http.StatusCreated, created)
	}
}

func validDirectoryUserState(state string) bool {
	return state == DirectoryUserActive || state == DirectoryUserInactive
}

func (s *Server) handleCreateDirectoryUser(w http.ResponseWriter, r *http.Request) {
	var req CreateDirectoryUserRequest
	if err := decodeJSONBody(w, r, &req); err != nil {
		writeError(w, http.StatusBadRequest, apiError{Message: err.Error(), Code: "invalid_json"})
		return
	}
	if req.State == "" {
		req.State = DirectoryUserActive
	}
	if req.Role == "" {
		req.Role = RoleDefault
	}
	email, emailOK := normalizeEmail(req.Email)
	var invalid []fieldError
	if req.DirectoryID == "" {
		invalid = append(invalid, fieldError{Field: "directory_id", Code: "directory_id_required"})
	}
	if !emailOK {
		invalid = append(invalid, fieldError{Field: "email", Code: "email_invalid"})
	}
	if !validDirectoryUserState(req.State) {
		invalid = append(invalid, fieldError{Field: "state", Code: "state_invalid"})
	}
	if _, ok := rolePermissions[req.Role]; !ok {
		invalid = append(invalid, fieldError{Field: "role", Code: "role_invalid"})
	}
	if len(invalid) > 0 {
		writeValidationFailed(w, invalid...)
		return
	}

	var created DirectoryUser
	var missingEntity, missingID string
	err := s.store.update(func(st *state) error {
		directory, ok := findByID(st.Directories, req.DirectoryID, directoryID)
		if !ok {
			missingEntity, missingID = "Directory", req.DirectoryID
			return nil
		}
		if id, ok := missingGroupLocked(st, directory.ID, req.GroupIDs); !ok {
			missingEntity, missingID = "Directory Group", id
			return nil
		}

		now := formatTimestamp(s.now())
		user := &directoryUser{DirectoryUser: DirectoryUser{
			Object:           "directory_user",
			ID:               newID("directory_user"),
			IdpID:            newID("idp"),
			DirectoryID:      directory.ID,
			OrganizationID:   directory.OrganizationID,
			Email:            email,
			Emails:           []directoryUserEmail{{Primary: true, Type: "work", Value: email}},
			FirstName:        req.FirstName,
			LastName:         req.LastName,
			State:            req.State,
			Role:             RoleSlug{Slug: req.Role},
			Roles:            []RoleSlug{{Slug: req.Role}},
			CustomAttributes: map[string]any{},
			RawAttributes:    map[string]any{},
			CreatedAt:        now,
			UpdatedAt:        now,
		}}
		st.DirectoryUsers = append(st.DirectoryUsers, user)
		s.emitLocked(st, EventDirectoryUserCreated, user.OrganizationID, user.DirectoryUser)
		s.setDirectoryUserGroupsLocked(st, user, slices.Compact(slices.Sorted(slices.Values(req.GroupIDs))))
		created = apiDirectoryUserLocked(st, user)
		return nil
	})
	switch {
	case err != nil:
		s.logger.Error("workos stand-in failed to create directory user", "directory_id", req.DirectoryID, "error", err)
		writeInternalError(w)
	case missingEntity != "":
		writeNotFound(w, missingEntity, missingID)
	default:
		writeJSON(w, http.StatusCreated, created)
	}
}

// missingGroupLocked returns the first group ID that is not a group of the
// directory, and false when there is one.
func missingGroupLocked(st *state, directory string, groups []string) (string, bool) {
	for _, id := range groups {
		group, ok := findByID(st.DirectoryGroups, id, directoryGroupID)
		if !ok || group.DirectoryID != directory {
			return id, false
		}
	}
	return "", true
}

// setDirectoryUserGroupsLocked replaces the groups of a user and emits
// dsync.group.user_removed and dsync.group.user_added for the difference.
func (s *Server) setDirectoryUserGroupsLocked(st *state, user *directoryUser, groups []string) {
	previous := user.GroupIDs
	user.GroupIDs = groups
	for _, id := range previous {
		if slices.Contains(groups, id) {
			continue
		}
		if group, ok := findByID(st.DirectoryGroups, id, directoryGroupID); ok {
			s.emitLocked(st, EventDirectoryGroupUserRemoved, user.OrganizationID,
				directoryGroupMembershipData{DirectoryID: user.DirectoryID, User: user.DirectoryUser, Group: *group})
		}
	}
	for _, id := range groups {
		if slices.Contains(previous, id) {
			continue
		}
		if group, ok := findByID(st.DirectoryGroups, id, directoryGroupID); ok {
			s.emitLocked(st, EventDirectoryGroupUserAdded, user.OrganizationID,
				directoryGroupMembershipData{DirectoryID: user.DirectoryID, User: user.DirectoryUser, Group: *group})
		}
	}
}

func (s *Server) handleUpdateDirectoryUser(w http.ResponseWriter, r *http.Request) {
	var req UpdateDirectoryUserRequest
	if err := decodeJSONBody(w, r, &req); err != nil {
		writeError(w, http.StatusBadRequest, apiError{Message: err.Error(), Code: "invalid_json"})
		return
	}
	s.updateDirectoryUser(w, r.PathValue("id"), req)
}

// handleDeactivateDirectoryUser sets the state to inactive, which WorkOS
// reports as dsync.user.updated, as an identity provider's SCIM
// deactivation does.
func (s *Server) handleDeactivateDirectoryUser(w http.ResponseWriter, r *http.Request) {
	inactive := DirectoryUserInactive
	s.updateDirectoryUser(w, r.PathValue("id"), UpdateDirectoryUserRequest{State: &inactive})
}

func (s *Server) updateDirectoryUser(w http.ResponseWriter, id string, req UpdateDirectoryUserRequest) {
	var invalid []fieldError
	var email string
	if req.Email != nil {
		normalized, ok := normalizeEmail(*req.Email)
		if !ok {
			invalid = append(invalid, fieldError{Field: "email", Code: "email_invalid"})
		}
		email = normalized
	}
	if req.State != nil && !validDirectoryUserState(*req.State) {
		invalid = append(invalid, fieldError{Field: "state", Code: "state_invalid"})
	}
	if req.Role != nil {
		if _, ok := rolePermissions[*req.Role]; !ok {
			invalid = append(invalid, fieldError{Field: "role", Code: "role_invalid"})
		}
	}
	if len(invalid) > 0 {
		writeValidationFailed(w, invalid...)
		return
	}

	var updated DirectoryUser
	var missingEntity, missingID string
	err := s.store.update(func(st *state) error {
		user, ok := findByID(st.DirectoryUsers, id, directoryUserID)
		if !ok {
			missingEntity, missingID = "Directory User", id
			return nil
		}
		if req.GroupIDs != nil {
			if groupID, ok := missingGroupLocked(st, user.DirectoryID, *req.GroupIDs); !ok {
				missingEntity, missingID = "Directory Group", groupID
				return nil
			}
		}

		previous := map[string]any{}
		if req.Email != nil && email != user.Email {
			previous["email"] = user.Email
			user.Email = email
			user.Emails = []directoryUserEmail{{Primary: true, Type: "work", Value: email}}
		}
		if req.FirstName != nil && *req.FirstName != user.FirstName {
			previous["first_name"] = user.FirstName
			user.FirstName = *req.FirstName
		}
		if req.LastName != nil && *req.LastName != user.LastName {
			previous["last_name"] = user.LastName
			user.LastName = *req.LastName
		}
		if req.State != nil && *req.State != user.State {
			previous["state"] = user.State
			user.State = *req.State
		}
		if req.Role != nil && *req.Role != user.Role.Slug {
			previous["role"] = user.Role
			user.Role = RoleSlug{Slug: *req.Role}
			user.Roles = []RoleSlug{user.Role}
		}
		if len(previous) > 0 {
			user.UpdatedAt = s.nextUpdatedAt(user.UpdatedAt)
			s.emitLocked(st, EventDirectoryUserUpdated, user.OrganizationID,
				directoryUserUpdatedData{DirectoryUser: user.DirectoryUser, PreviousAttributes: previous})
		}
		if req.GroupIDs != nil {
			s.setDirectoryUserGroupsLocked(st, user, slices.Compact(slices.Sorted(slices.Values(*req.GroupIDs))))
		}
		updated = apiDirectoryUserLocked(st, user)
		return nil
	})
	switch {
	case err != nil:
		s.logger.Error("workos stand-in failed to update directory user", "directory_user_id", id, "error", err)
		writeInternalError(w)
	case missingEntity != "":
		writeNotFound(w, missingEntity, missingID)
	default:
		writeJSON(w, http.StatusOK, updated)
	}
}

// handleDeleteDirectoryUser removes a user, as an identity provider's
// deprovisioning does, and emits dsync.user.deleted.
func (s *Server) handleDeleteDirectoryUser(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var found bool
	err := s.store.update(func(st *state) error {
		user, ok := findByID(st.DirectoryUsers, id, directoryUserID)
		if !ok {
			return nil
		}
		found = true
		st.DirectoryUsers = slices.DeleteFunc(st.DirectoryUsers, func(u *directoryUser) bool { return u.ID == id })
		user.UpdatedAt = s.nextUpdatedAt(user.UpdatedAt)
		s.emitLocked(st, EventDirectoryUserDeleted, user.OrganizationID, user.DirectoryUser)
		return nil
	})
	switch {
	case err != nil:
		s.logger.Error("workos stand-in failed to delete directory user", "directory_user_id", id, "error", err)
		writeInternalError(w)
	case !found:
		writeNotFound(w, "Directory User", id)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) handleCreateDirectoryGroup(w http.ResponseWriter, r *http.Request) {
	var req DirectoryGroupRequest
	if err := decodeJSONBody(w, r, &req); err != nil {
		writeError(w, http.StatusBadRequest, apiError{Message: err.Error(), Code: "invalid_json"})
		return
	}
	req.Name = strings.TrimSpace(req.Name)
	var invalid []fieldError
	if req.DirectoryID == "" {
		invalid = append(invalid, fieldError{Field: "directory_id", Code: "directory_id_required"})
	}
	if req.Name == "" {
		invalid = append(invalid, fieldError{Field: "name", Code: "name_required"})
	}
	if len(invalid) > 0 {
		writeValidationFailed(w, invalid...)
		return
	}

	var created *DirectoryGroup
	err := s.store.update(func(st *state) error {
		directory, ok := findByID(st.Directories, req.DirectoryID, directoryID)
		if !ok {
			return nil
		}
		now := formatTimestamp(s.now())
		created = &DirectoryGroup{
			Object:         "directory_group",
			ID:             newID("directory_group"),
			IdpID:          newID("idp"),
			DirectoryID:    directory.ID,
			OrganizationID: directory.OrganizationID,
			Name:           req.Name,
			RawAttributes:  map[string]any{},
			CreatedAt:      now,
			UpdatedAt:      now,
		}
		st.DirectoryGroups = append(st.DirectoryGroups, created)
		s.emitLocked(st, EventDirectoryGroupCreated, created.OrganizationID, created)
		return nil
	})
	switch {
	case err != nil:
		s.logger.Error("workos stand-in failed to create directory group", "directory_id", req.DirectoryID, "error", err)
		writeInternalError(w)
	case created == nil:
		writeNotFound(w, "Directory", req.DirectoryID)
	default:
		writeJSON(w, http.StatusCreated, created)
	}
}

func (s *Server) handleUpdateDirectoryGroup(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var req DirectoryGroupRequest
	if err := decodeJSONBody(w, r, &req); err != nil {
		writeError(w, http.StatusBadRequest, apiError{Message: err.Error(), Code: "invalid_json"})
		return
	}
	req.Name = strings.TrimSpace(req.Name)
	if req.Name == "" {
		writeValidationFailed(w, fieldError{Field: "name", Code: "name_required"})
		return
	}

	var updated *DirectoryGroup
	err := s.store.update(func(st *state) error {
		group, ok := findByID(st.DirectoryGroups, id, directoryGroupID)
		if !ok {
			return nil
		}
		if group.Name != req.Name {
			previous := map[string]any{"name": group.Name}
			group.Name = req.Name
			group.UpdatedAt = s.nextUpdatedAt(group.UpdatedAt)
			s.emitLocked(st, EventDirectoryGroupUpdated, group.OrganizationID,
				directoryGroupUpdatedData{DirectoryGroup: *group, PreviousAttributes: previous})
		}
		updated = group
		return nil
	})
	switch {
	case err != nil:
		s.logger.Error("workos stand-in failed to update directory group", "directory_group_id", id, "error", err)
		writeInternalError(w)
	case updated == nil:
		writeNotFound(w, "Directory Group", id)
	default:
		writeJSON(w, http.StatusOK, updated)
	}
}

// handleDeleteDirectoryGroup removes a group from the directory and from its
// users, emitting dsync.group.user_removed for each member and then
// dsync.group.deleted.
func (s *Server) handleDeleteDirectoryGroup(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var found bool
	err := s.store.update(func(st *state) error {
		group, ok := findByID(st.DirectoryGroups, id, directoryGroupID)
		if !ok {
			return nil
		}
		found = true
		for _, user := range st.DirectoryUsers {
			if slices.Contains(user.GroupIDs, id) {
				remaining := slices.DeleteFunc(slices.Clone(user.GroupIDs), func(g string) bool { return g == id })
				s.setDirectoryUserGroupsLocked(st, user, remaining)
			}
		}
		st.DirectoryGroups = slices.DeleteFunc(st.DirectoryGroups, func(g *DirectoryGroup) bool { return g.ID == id })
		group.UpdatedAt = s.nextUpdatedAt(group.UpdatedAt)
		s.emitLocked(st, EventDirectoryGroupDeleted, group.OrganizationID, group)
		return nil
	})
	switch {
	case err != nil:
		s.logger.Error("workos stand-in failed to delete directory group", "directory_group_id", id, "error", err)
		writeInternalError(w)
	case !found:
		writeNotFound(w, "Directory Group", id)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}
