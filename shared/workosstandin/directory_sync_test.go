package workosstandin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/bondingai/platform/shared/workosstandin"
	"github.com/workos/workos-go/v4/pkg/directorysync"
	"github.com/workos/workos-go/v4/pkg/organizations"
	"github.com/workos/workos-go/v4/pkg/usermanagement"
)

// devRequest sends a JSON request with the API key to a development
// endpoint and decodes a JSON response into out when out is not nil.
func devRequest(t *testing.T, c clients, method, path string, body any, out any) int {
	t.Helper()
	var reader io.Reader
	if body != nil {
		encoded, err := json.Marshal(body)
		if err != nil {
			t.Fatalf("encode request: %v", err)
		}
		reader = bytes.NewReader(encoded)
	}
	req, err := http.NewRequest(method, c.server.URL+path, reader)
	if err != nil {
		t.Fatalf("build request: %v", err)
	}
	req.Header.Set("Authorization", "Bearer "+testAPIKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.server.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("decode %s %s response %s: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode
}

func directoryClient(c clients) *directorysync.Client {
	return &directorysync.Client{APIKey: testAPIKey, Endpoint: c.server.URL, HTTPClient: c.server.Client()}
}

// seedDirectory creates an organization with a domain and a directory.
func seedDirectory(t *testing.T, c clients) (orgID string, directory workosstandin.Directory) {
	t.Helper()
	org, err := c.orgs.CreateOrganization(context.Background(), organizations.CreateOrganizationOpts{
		Name:       "Contoso",
		DomainData: []organizations.OrganizationDomainData{{Domain: "contoso.example", State: organizations.Verified}},
	})
	if err != nil {
		t.Fatalf("CreateOrganization: %v", err)
	}
	status := devRequest(t, c, http.MethodPost, "/_standin/directories", workosstandin.CreateDirectoryRequest{OrganizationID: org.ID}, &directory)
	if status != http.StatusCreated {
		t.Fatalf("create directory status = %d, want 201", status)
	}
	return org.ID, directory
}

func TestDirectorySyncObjectsThroughSDK(t *testing.T) {
	c := startStandinWith(t, workosstandin.Config{})
	ctx := context.Background()
	dsync := directoryClient(c)
	orgID, directory := seedDirectory(t, c)

	var group workosstandin.DirectoryGroup
	if status := devRequest(t, c, http.MethodPost, "/_standin/directory-groups", workosstandin.DirectoryGroupRequest{DirectoryID: directory.ID, Name: "Engineering"}, &group); status != http.StatusCreated {
		t.Fatalf("create group status = %d", status)
	}
	var user workosstandin.DirectoryUser
	status := devRequest(t, c, http.MethodPost, "/_standin/directory-users", workosstandin.CreateDirectoryUserRequest{
		DirectoryID: directory.ID, Email: "Ana@Contoso.example", FirstName: "Ana", LastName: "Lima", GroupIDs: []string{group.ID},
	}, &user)
	if status != http.StatusCreated {
		t.Fatalf("create directory user status = %d", status)
	}
	if !strings.HasPrefix(user.ID, "directory_user_") || user.State != workosstandin.DirectoryUserActive {
		t.Errorf("directory user = %+v, want an active directory_user_", user)
	}

	dirs, err := dsync.ListDirectories(ctx, directorysync.ListDirectoriesOpts{OrganizationID: orgID})
	if err != nil {
		t.Fatalf("ListDirectories: %v", err)
	}
	if len(dirs.Data) != 1 || dirs.Data[0].ID != directory.ID || dirs.Data[0].State != directorysync.Linked || dirs.Data[0].Domain != "contoso.example" {
		t.Errorf("directories = %+v, want the linked directory with the org domain", dirs.Data)
	}
	got, err := dsync.GetDirectory(ctx, directorysync.GetDirectoryOpts{Directory: directory.ID})
	if err != nil || got.OrganizationID != orgID {
		t.Errorf("GetDirectory = %+v, %v", got, err)
	}

	users, err := dsync.ListUsers(ctx, directorysync.ListUsersOpts{Directory: directory.ID})
	if err != nil {
		t.Fatalf("ListUsers: %v", err)
	}
	if len(users.Data) != 1 {
		t.Fatalf("users = %d, want 1", len(users.Data))
	}
	listed := users.Data[0]
	if listed.Email != "ana@contoso.example" || listed.FirstName != "Ana" || listed.OrganizationID != orgID || listed.State != directorysync.Active {
		t.Errorf("listed user = %+v", listed)
	}
	if len(listed.Groups) != 1 || listed.Groups[0].ID != group.ID || listed.Groups[0].Name != "Engineering" {
		t.Errorf("user groups = %+v, want Engineering", listed.Groups)
	}

	byGroup, err := dsync.ListUsers(ctx, directorysync.ListUsersOpts{Group: group.ID})
	if err != nil || len(byGroup.Data) != 1 {
		t.Errorf("ListUsers by group = %d users, %v; want 1", len(byGroup.Data), err)
	}
	one, err := dsync.GetUser(ctx, directorysync.GetUserOpts{User: user.ID})
	if err != nil || one.Email != "ana@contoso.example" {
		t.Errorf("GetUser = %+v, %v", one, err)
	}
	groups, err := dsync.ListGroups(ctx, directorysync.ListGroupsOpts{User: user.ID})
	if err != nil || len(groups.Data) != 1 || groups.Data[0].ID != group.ID {
		t.Errorf("ListGroups by user = %+v, %v", groups.Data, err)
	}
	gotGroup, err := dsync.GetGroup(ctx, directorysync.GetGroupOpts{Group: group.ID})
	if err != nil || gotGroup.Name != "Engineering" {
		t.Errorf("GetGroup = %+v, %v", gotGroup, err)
	}

	_, err = dsync.ListUsers(ctx, directorysync.ListUsersOpts{})
	requireHTTPError(t, err, http.StatusUnprocessableEntity, "invalid_request_parameters")
	_, err = dsync.GetUser(ctx, directorysync.GetUserOpts{User: "directory_user_missing"})
	requireHTTPError(t, err, http.StatusNotFound, "entity_not_found")
}

func TestDirectoryUserLifecycleEmitsEvents(t *testing.T) {
	c := startStandinWith(t, workosstandin.Config{})
	ctx := context.Background()
	_, directory := seedDirectory(t, c)

	var engineering, sales workosstandin.DirectoryGroup
	devRequest(t, c, http.MethodPost, "/_standin/directory-groups", workosstandin.DirectoryGroupRequest{DirectoryID: directory.ID, Name: "Engineering"}, &engineering)
	devRequest(t, c, http.MethodPost, "/_standin/directory-groups", workosstandin.DirectoryGroupRequest{DirectoryID: directory.ID, Name: "Sales"}, &sales)
	var user workosstandin.DirectoryUser
	devRequest(t, c, http.MethodPost, "/_standin/directory-users", workosstandin.CreateDirectoryUserRequest{
		DirectoryID: directory.ID, Email: "ana@contoso.example", GroupIDs: []string{engineering.ID},
	}, &user)

	// Move Ana from Engineering to Sales and rename her.
	groups := []string{sales.ID}
	name := "Ana Maria"
	if status := devRequest(t, c, http.MethodPut, "/_standin/directory-users/"+user.ID, workosstandin.UpdateDirectoryUserRequest{FirstName: &name, GroupIDs: &groups}, nil); status != http.StatusOK {
		t.Fatalf("update status = %d", status)
	}
	if status := devRequest(t, c, http.MethodPost, "/_standin/directory-users/"+user.ID+"/deactivate", nil, nil); status != http.StatusOK {
		t.Fatalf("deactivate status = %d", status)
	}
	got, err := directoryClient(c).GetUser(ctx, directorysync.GetUserOpts{User: user.ID})
	if err != nil || got.State != directorysync.Inactive {
		t.Errorf("state after deactivate = %q, %v; want inactive", got.State, err)
	}
	if status := devRequest(t, c, http.MethodDelete, "/_standin/directory-groups/"+sales.ID, nil, nil); status != http.StatusNoContent {
		t.Errorf("delete group status = %d", status)
	}
	if status := devRequest(t, c, http.MethodDelete, "/_standin/directory-users/"+user.ID, nil, nil); status != http.StatusNoContent {
		t.Errorf("delete user status = %d", status)
	}
	if status := devRequest(t, c, http.MethodDelete, "/_standin/directory-users/"+user.ID, nil, nil); status != http.StatusNotFound {
		t.Errorf("second delete status = %d, want 404", status)
	}

	var dsyncEvents []workosstandin.Event
	for _, event := range c.standin.Events() {
		if strings.HasPrefix(event.Event, "dsync.") {
			dsyncEvents = append(dsyncEvents, event)
		}
	}
	var names []string
	for _, event := range dsyncEvents {
		names = append(names, event.Event)
	}
	want := []string{
		"dsync.activated", "dsync.group.created", "dsync.group.created",
		"dsync.user.created", "dsync.group.user_added",
		"dsync.user.updated", "dsync.group.user_removed", "dsync.group.user_added",
		"dsync.user.updated",
		"dsync.group.user_removed", "dsync.group.deleted",
		"dsync.user.deleted",
	}
	if !slices.Equal(names, want) {
		t.Fatalf("dsync events = %v\nwant %v", names, want)
	}

	var deactivated struct {
		ID                 string         `json:"id"`
		State              string         `json:"state"`
		PreviousAttributes map[string]any `json:"previous_attributes"`
		Groups             any            `json:"groups"`
	}
	if err := json.Unmarshal(dsyncEvents[8].Data, &deactivated); err != nil {
		t.Fatalf("decode dsync.user.updated: %v", err)
	}
	if deactivated.ID != user.ID || deactivated.State != "inactive" || deactivated.PreviousAttributes["state"] != "active" {
		t.Errorf("deactivation payload = %+v, want state inactive with previous state active", deactivated)
	}
	if deactivated.Groups != nil {
		t.Error("event payload carries groups, which WorkOS leaves out")
	}

	var added struct {
		DirectoryID string              `json:"directory_id"`
		User        struct{ ID string } `json:"user"`
		Group       struct{ ID string } `json:"group"`
	}
	if err := json.Unmarshal(dsyncEvents[4].Data, &added); err != nil {
		t.Fatalf("decode dsync.group.user_added: %v", err)
	}
	if added.DirectoryID != directory.ID || added.User.ID != user.ID || added.Group.ID != engineering.ID {
		t.Errorf("user_added payload = %+v", added)
	}

	var activated struct {
		ID      string `json:"id"`
		Domains []struct {
			Domain string `json:"domain"`
		} `json:"domains"`
	}
	if err := json.Unmarshal(dsyncEvents[0].Data, &activated); err != nil {
		t.Fatalf("decode dsync.activated: %v", err)
	}
	if activated.ID != directory.ID || len(activated.Domains) != 1 || activated.Domains[0].Domain != "contoso.example" {
		t.Errorf("dsync.activated payload = %+v", activated)
	}
}

func TestDirectoryDevEndpointsRejectInvalidInput(t *testing.T) {
	c := startStandinWith(t, workosstandin.Config{})
	_, directory := seedDirectory(t, c)
	other := workosstandin.Directory{}
	org2, _ := c.orgs.CreateOrganization(context.Background(), organizations.CreateOrganizationOpts{Name: "Fabrikam"})
	devRequest(t, c, http.MethodPost, "/_standin/directories", workosstandin.CreateDirectoryRequest{OrganizationID: org2.ID}, &other)
	var foreignGroup workosstandin.DirectoryGroup
	devRequest(t, c, http.MethodPost, "/_standin/directory-groups", workosstandin.DirectoryGroupRequest{DirectoryID: other.ID, Name: "Other"}, &foreignGroup)
	bogus := "deleted"

	cases := []struct {
		name   string
		method string
		path   string
		body   any
		want   int
	}{
		{"directory for unknown org", http.MethodPost, "/_standin/directories", workosstandin.CreateDirectoryRequest{OrganizationID: "org_missing"}, http.StatusNotFound},
		{"directory without org", http.MethodPost, "/_standin/directories", workosstandin.CreateDirectoryRequest{}, http.StatusUnprocessableEntity},
		{"user with invalid email", http.MethodPost, "/_standin/directory-users", workosstandin.CreateDirectoryUserRequest{DirectoryID: directory.ID, Email: "nope"}, http.StatusUnprocessableEntity},
		{"user with invalid state", http.MethodPost, "/_standin/directory-users", workosstandin.CreateDirectoryUserRequest{DirectoryID: directory.ID, Email: "a@contoso.example", State: "suspended"}, http.StatusUnprocessableEntity},
		{"user in unknown directory", http.MethodPost, "/_standin/directory-users", workosstandin.CreateDirectoryUserRequest{DirectoryID: "directory_missing", Email: "a@contoso.example"}, http.StatusNotFound},
		{"user in another directory's group", http.MethodPost, "/_standin/directory-users", workosstandin.CreateDirectoryUserRequest{DirectoryID: directory.ID, Email: "a@contoso.example", GroupIDs: []string{foreignGroup.ID}}, http.StatusNotFound},
		{"update with invalid state", http.MethodPut, "/_standin/directory-users/directory_user_missing", workosstandin.UpdateDirectoryUserRequest{State: &bogus}, http.StatusUnprocessableEntity},
		{"update unknown user", http.MethodPut, "/_standin/directory-users/directory_user_missing", workosstandin.UpdateDirectoryUserRequest{}, http.StatusNotFound},
		{"group without name", http.MethodPost, "/_standin/directory-groups", workosstandin.DirectoryGroupRequest{DirectoryID: directory.ID}, http.StatusUnprocessableEntity},
		{"delete unknown group", http.MethodDelete, "/_standin/directory-groups/directory_group_missing", nil, http.StatusNotFound},
	}
	before := len(c.standin.Events())
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if status := devRequest(t, c, tc.method, tc.path, tc.body, nil); status != tc.want {
				t.Errorf("status = %d, want %d", status, tc.want)
			}
		})
	}
	if after := len(c.standin.Events()); after != before {
		t.Errorf("rejected requests emitted %d events", after-before)
	}
}

func TestDeleteMembershipAndOrganizationRevokeSessions(t *testing.T) {
	c := startStandinWith(t, workosstandin.Config{})
	ctx := context.Background()
	ana := signIn(t, c, "ana@contoso.example", "Contoso", "admin")
	ben := signIn(t, c, "ben@contoso.example", "Contoso", "member")
	carl := signIn(t, c, "carl@fabrikam.example", "Fabrikam", "admin")

	memberships, err := c.users.ListOrganizationMemberships(ctx, usermanagement.ListOrganizationMembershipsOpts{UserID: ana.User.ID, OrganizationID: ana.OrganizationID})
	if err != nil || len(memberships.Data) != 1 {
		t.Fatalf("ListOrganizationMemberships = %d, %v", len(memberships.Data), err)
	}
	if status := devRequest(t, c, http.MethodDelete, "/_standin/organization-memberships/"+memberships.Data[0].ID, nil, nil); status != http.StatusNoContent {
		t.Fatalf("delete membership status = %d", status)
	}
	_, err = c.users.AuthenticateWithRefreshToken(ctx, usermanagement.AuthenticateWithRefreshTokenOpts{ClientID: testClientID, RefreshToken: ana.RefreshToken})
	requireHTTPError(t, err, http.StatusBadRequest, "invalid_grant")
	benRefreshed, err := c.users.AuthenticateWithRefreshToken(ctx, usermanagement.AuthenticateWithRefreshTokenOpts{ClientID: testClientID, RefreshToken: ben.RefreshToken})
	if err != nil {
		t.Fatalf("refresh of another member: %v", err)
	}

	// workos-go v4 deletes organizations through /Organizations/{id}.
	if err := c.orgs.DeleteOrganization(ctx, organizations.DeleteOrganizationOpts{Organization: ben.OrganizationID}); err != nil {
		t.Fatalf("DeleteOrganization: %v", err)
	}
	_, err = c.users.AuthenticateWithRefreshToken(ctx, usermanagement.AuthenticateWithRefreshTokenOpts{ClientID: testClientID, RefreshToken: benRefreshed.RefreshToken})
	requireHTTPError(t, err, http.StatusBadRequest, "invalid_grant")
	if _, err := c.users.AuthenticateWithRefreshToken(ctx, usermanagement.AuthenticateWithRefreshTokenOpts{ClientID: testClientID, RefreshToken: carl.RefreshToken}); err != nil {
		t.Errorf("refresh in another organization: %v", err)
	}
	_, err = c.orgs.GetOrganization(ctx, organizations.GetOrganizationOpts{Organization: ben.OrganizationID})
	requireHTTPError(t, err, http.StatusNotFound, "entity_not_found")

	for name, want := range map[string]int{
		workosstandin.EventMembershipDeleted:   2,
		workosstandin.EventSessionRevoked:      2,
		workosstandin.EventOrganizationDeleted: 1,
	} {
		if got := countEvents(c, name); got != want {
			t.Errorf("%s events = %d, want %d", name, got, want)
		}
	}
	if status := devRequest(t, c, http.MethodDelete, "/_standin/organizations/org_missing", nil, nil); status != http.StatusNotFound {
		t.Errorf("delete unknown organization status = %d, want 404", status)
	}
}

func TestDeleteDirectoryPurgesUsersWithOneEvent(t *testing.T) {
	c := startStandinWith(t, workosstandin.Config{})
	ctx := context.Background()
	_, directory := seedDirectory(t, c)
	devRequest(t, c, http.MethodPost, "/_standin/directory-users", workosstandin.CreateDirectoryUserRequest{DirectoryID: directory.ID, Email: "ana@contoso.example"}, nil)

	if err := directoryClient(c).DeleteDirectory(ctx, directorysync.DeleteDirectoryOpts{Directory: directory.ID}); err != nil {
		t.Fatalf("DeleteDirectory: %v", err)
	}
	_, err := directoryClient(c).GetDirectory(ctx, directorysync.GetDirectoryOpts{Directory: directory.ID})
	requireHTTPError(t, err, http.StatusNotFound, "entity_not_found")
	users, err := directoryClient(c).ListUsers(ctx, directorysync.ListUsersOpts{Directory: directory.ID})
	if err != nil || len(users.Data) != 0 {
		t.Errorf("users after delete = %d, %v; want none", len(users.Data), err)
	}
	if got := countEvents(c, workosstandin.EventDirectoryDeleted); got != 1 {
		t.Errorf("dsync.deleted events = %d, want 1", got)
	}
	if got := countEvents(c, workosstandin.EventDirectoryUserDeleted); got != 0 {
		t.Errorf("dsync.user.deleted events = %d, want none", got)
	}
}

func TestDirectoryUserUpdatedAtIncreasesWithinOneMillisecond(t *testing.T) {
	clock := newTestClock()
	c := startStandinWith(t, workosstandin.Config{Now: clock.Now})
	_, directory := seedDirectory(t, c)
	var user workosstandin.DirectoryUser
	devRequest(t, c, http.MethodPost, "/_standin/directory-users", workosstandin.CreateDirectoryUserRequest{DirectoryID: directory.ID, Email: "ana@contoso.example"}, &user)

	// The clock stands still, as it can between two quick changes.
	previous := user.UpdatedAt
	for _, state := range []string{"inactive", "active", "inactive"} {
		var updated workosstandin.DirectoryUser
		devRequest(t, c, http.MethodPut, "/_standin/directory-users/"+user.ID, workosstandin.UpdateDirectoryUserRequest{State: &state}, &updated)
		if updated.UpdatedAt <= previous {
			t.Errorf("updated_at after setting %s = %s, want later than %s", state, updated.UpdatedAt, previous)
		}
		previous = updated.UpdatedAt
	}
}
