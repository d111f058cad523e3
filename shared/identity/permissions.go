package identity

import "slices"

// Permission slugs the platform checks in the access token's permissions
// claim. WorkOS copies them into the token from the roles configured for the
// environment.
const (
	PermissionDocumentsRead      = "documents:read"
	PermissionDocumentsWrite     = "documents:write"
	PermissionSearchRead         = "search:read"
	PermissionAnalyticsRead      = "analytics:read"
	PermissionAdminSettingsWrite = "admin:settings:write"
)

// HasPermission reports whether the access token grants permission.
func (c *Claims) HasPermission(permission string) bool {
	return slices.Contains(c.Permissions, permission)
}
