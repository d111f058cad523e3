package workosstandin

import (
	"slices"

	"github.com/bondingai/platform/shared/identity"
)

// Role slugs of the stand-in's environment. In WorkOS, roles and their
// permissions are configured per environment in the dashboard; this map is
// the stand-in's copy of that configuration and the one place it lives.
const (
	RoleAdmin  = "admin"
	RoleMember = "member"

	// RoleDefault is the role a membership gets when none is requested,
	// like the default role of a WorkOS environment.
	RoleDefault = RoleMember
)

var rolePermissions = map[string][]string{
	RoleAdmin: {
		identity.PermissionDocumentsRead,
		identity.PermissionDocumentsWrite,
		identity.PermissionSearchRead,
		identity.PermissionAnalyticsRead,
		identity.PermissionAdminSettingsWrite,
	},
	RoleMember: {
		identity.PermissionDocumentsRead,
		identity.PermissionSearchRead,
	},
}

// RolePermissions returns a copy of the permissions granted by role, and
// false when the role does not exist.
func RolePermissions(role string) ([]string, bool) {
	permissions, ok := rolePermissions[role]
	return slices.Clone(permissions), ok
}
