package workosstandin

import (
	"net/http"
	"slices"
	"strings"
)

// Directory user states, as workos-go v4's directorysync.UserState has them.
const (
	DirectoryUserActive   = "active"
	DirectoryUserInactive = "inactive"
)

// directoryTypeDefault is the type of directories created through the
// development endpoint, a SCIM directory as most identity providers use.
const directoryTypeDefault = "generic scim v2.0"

// Directory is a Directory Sync directory of one organization.
type Directory struct {
	Object         string `json:"object"`
	ID             string `json:"id"`
	Name           string `json:"name"`
	Domain         string `json:"domain"`
	ExternalKey    string `json:"external_key"`
	Type           string `json:"type"`
	State          string `json:"state"`
	IdpID          string `json:"idp_id"`
	OrganizationID string `json:"organization_id"`
	CreatedAt      string `json:"created_at"`
	UpdatedAt      string `json:"updated_at"`
}

// DirectoryGroup is a group of a directory.
type DirectoryGroup struct {
	Object         string         `json:"object"`
	ID             string         `json:"id"`
	IdpID          string         `json:"idp_id"`
	DirectoryID    string         `json:"directory_id"`
	OrganizationID string         `json:"organization_id"`
	Name           string         `json:"name"`
	RawAttributes  map[string]any `json:"raw_attributes"`
	CreatedAt      string         `json:"created_at"`
	UpdatedAt      string         `json:"updated_at"`
}

// DirectoryUser is a user of a directory as GET /directory_users returns it.
// Event payloads leave Groups out, as WorkOS does.
type DirectoryUser struct {
	Object           string               `json:"object"`
	ID               string               `json:"id"`
	IdpID            string               `json:"idp_id"`
	DirectoryID      string               `json:"directory_id"`
	OrganizationID   string               `json:"organization_id"`
	Email            string               `json:"email"`
	Emails           []directoryUserEmail `json:"emails"`
	FirstName        string               `json:"first_name"`
	LastName         string               `json:"last_name"`
	State            string               `json:"state"`
	Role             RoleSlug             `json:"role"`
	Roles            []RoleSlug           `json:"roles"`
	CustomAttributes map[string]any       `json:"custom_attributes"`
	RawAttributes    map[string]any       `json:"raw_attributes"`
	Groups           []DirectoryGroup     `json:"groups,omitempty"`
	CreatedAt        string               `json:"created_at"`
	UpdatedAt        string               `json:"updated_at"`
}

type directoryUserEmail struct {
	Primary bool   `json:"primary"`
	Type    string `json:"type"`
	Value   string `json:"value"`
}

// directoryUser is a stored directory user: the API object without groups,
// and the IDs of its groups.
type directoryUser struct {
	DirectoryUser
	GroupIDs []string `json:"group_ids"`
}

// directoryActivatedData is the payload of dsync.activated.
type directoryActivatedData struct {
	Directory
	Domains []directoryDomain `json:"domains"`
}

type directoryDomain struct {
	Object string `json:"object"`
	ID     string `json:"id"`
	Domain string `json:"domain"`
}

// directoryUserUpdatedData is the payload of dsync.user.updated: the user
// and the values of the attributes that changed.
type directoryUserUpdatedData struct {
	DirectoryUser
	PreviousAttributes map[string]any `json:"previous_attributes"`
}

// directoryGroupUpdatedData is the payload of dsync.group.updated.
type directoryGroupUpdatedData struct {
	DirectoryGroup
	PreviousAttributes map[string]any `json:"previous_attributes"`
}

// directoryGroupMembershipData is the payload of dsync.group.user_added and
// dsync.group.user_removed.
type directoryGroupMembershipData struct {
	DirectoryID string         `json:"directory_id"`
	User        DirectoryUser  `json:"user"`
	Group       DirectoryGroup `json:"group"`
}

func directoryID(d *Directory) string           { return d.ID }
func directoryUserID(u *directoryUser) string   { return u.ID }
func directoryGroupID(g *DirectoryGroup) string { return g.ID }

// apiDirectoryUserLocked returns the API object of a stored user with its
// groups.
func apiDirectoryUserLocked(st *state, user *directoryUser) DirectoryUser {
	out := user.DirectoryUser
	out.Groups = []DirectoryGroup{}
	for _, id := range user.GroupIDs {
		if group, ok := findByID(st.DirectoryGroups, id, directoryGroupID); ok {
			out.Groups = append(out.Groups, *group)
		}
	}
	return out
}

func (s *Server) handleListDirectories(w http.ResponseWriter, r *http.Request) {
	values := r.URL.Query()
	q, invalid := parseListQuery(values)
	if len(invalid) > 0 {
		writeValidationFailed(w, invalid...)
		return
	}
	organization := values.Get("organization_id")
	domain := strings.ToLower(values.Get("domain"))
	search := strings.ToLower(values.Get("search"))

	var matched []Directory
	s.store.read(func(st *state) {
		for _, d := range st.Directories {
			if organization != "" && d.OrganizationID != organization {
				continue
			}
			if domain != "" && !strings.EqualFold(d.Domain, domain) {
				continue
			}
			if search != "" && !strings.Contains(strings.ToLower(d.Name), search) {
				continue
			}
			matched = append(matched, *d)
		}
	})
	writeJSON(w, http.StatusOK, paginate(matched, func(d Directory) string { return d.ID }, q))
}

func (s *Server) handleGetDirectory(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var directory Directory
	var found bool
	s.store.read(func(st *state) {
		if d, ok := findByID(st.Directories, id, directoryID); ok {
			directory, found = *d, true
		}
	})
	if !found {
		writeNotFound(w, "Directory", id)
		return
	}
	writeJSON(w, http.StatusOK, directory)
}

// handleListDirectoryUsers serves GET /directory_users, which needs a
// directory or a group filter.
func (s *Server) handleListDirectoryUsers(w http.ResponseWriter, r *http.Request) {
	values := r.URL.Query()
	q, invalid := parseListQuery(values)
	directory := values.Get("directory")
	group := values.Get("group")
	if directory == "" && group == "" {
		invalid = append(invalid, fieldError{Field: "directory", Code: "directory_or_group_required"})
	}
	if len(invalid) > 0 {
		writeValidationFailed(w, invalid...)
		return
	}

	var matched []DirectoryUser
	s.store.read(func(st *state) {
		for _, user := range st.DirectoryUsers {
			if directory != "" && user.DirectoryID != directory {
				continue
			}
			if group != "" && !slices.Contains(user.GroupIDs, group) {
				continue
			}
			matched = append(matched, apiDirectoryUserLocked(st, user))
		}
	})
	writeJSON(w, http.StatusOK, paginate(matched, func(u DirectoryUser) string { return u.ID }, q))
}

func (s *Server) handleGetDirectoryUser(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var user DirectoryUser
	var found bool
	s.store.read(func(st *state) {
		if u, ok := findByID(st.DirectoryUsers, id, directoryUserID); ok {
			user, found = apiDirectoryUserLocked(st, u), true
		}
	})
	if !found {
		writeNotFound(w, "Directory User", id)
		return
	}
	writeJSON(w, http.StatusOK, user)
}

// handleListDirectoryGroups serves GET /directory_groups, which needs a
// directory or a user filter.
func (s *Server) handleListDirectoryGroups(w http.ResponseWriter, r *http.Request) {
	values := r.URL.Query()
	q, invalid := parseListQuery(values)
	directory := values.Get("directory")
	user := values.Get("user")
	if directory == "" && user == "" {
		invalid = append(invalid, fieldError{Field: "directory", Code: "directory_or_user_required"})
	}
	if len(invalid) > 0 {
		writeValidationFailed(w, invalid...)
		return
	}

	var matched []DirectoryGroup
	s.store.read(func(st *state) {
		var userGroups []string
		if user != "" {
			if u, ok := findByID(st.DirectoryUsers, user, directoryUserID); ok {
				userGroups = u.GroupIDs
			}
		}
		for _, group := range st.DirectoryGroups {
			if directory != "" && group.DirectoryID != directory {
				continue
			}
			if user != "" && !slices.Contains(userGroups, group.ID) {
				continue
			}
			matched = append(matched, *group)
		}
	})
	writeJSON(w, http.StatusOK, paginate(matched, func(g DirectoryGroup) string { return g.ID }, q))
}

func (s *Server) handleGetDirectoryGroup(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var group DirectoryGroup
	var found bool
	s.store.read(func(st *state) {
		if g, ok := findByID(st.DirectoryGroups, id, directoryGroupID); ok {
			group, found = *g, true
		}
	})
	if !found {
		writeNotFound(w, "Directory Group", id)
		return
	}
	writeJSON(w, http.StatusOK, group)
}

// handleDeleteDirectory serves DELETE /directories/{id}.
func (s *Server) handleDeleteDirectory(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var found bool
	err := s.store.update(func(st *state) error {
		directory, ok := findByID(st.Directories, id, directoryID)
		if !ok {
			return nil
		}
		found = true
		s.deleteDirectoryLocked(st, directory)
		return nil
	})
	switch {
	case err != nil:
		s.logger.Error("workos stand-in failed to delete directory", "directory_id", id, "error", err)
		writeInternalError(w)
	case !found:
		writeNotFound(w, "Directory", id)
	default:
		w.WriteHeader(http.StatusAccepted)
	}
}

// deleteDirectoryLocked removes a directory with its users and groups and
// emits dsync.deleted only: like WorkOS, it emits no event per user or
// group, so consumers purge them on dsync.deleted.
func (s *Server) deleteDirectoryLocked(st *state, directory *Directory) {
	st.Directories = slices.DeleteFunc(st.Directories, func(d *Directory) bool { return d.ID == directory.ID })
	st.DirectoryUsers = slices.DeleteFunc(st.DirectoryUsers, func(u *directoryUser) bool { return u.DirectoryID == directory.ID })
	st.DirectoryGroups = slices.DeleteFunc(st.DirectoryGroups, func(g *DirectoryGroup) bool { return g.DirectoryID == directory.ID })

	deleted := *directory
	deleted.State = "deleting"
	deleted.UpdatedAt = s.nextUpdatedAt(deleted.UpdatedAt)
	s.emitLocked(st, EventDirectoryDeleted, directory.OrganizationID, deleted)
}
