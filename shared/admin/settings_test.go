package admin

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/bondingai/platform/shared/store/storetest"
)

func intPointer(n int) *int { return &n }

func TestSettingsValidateAccepts(t *testing.T) {
	s := Settings{
		DisplayName:         "Contoso Ltd.",
		AllowedEmailDomains: []string{" Contoso.com", "fabrikam.co.uk"},
		RetentionDays:       intPointer(365),
		ChatModelDeployment: "gpt-4o-mini_2024.07",
		Custom:              json.RawMessage(`{"theme":"dark"}`),
	}
	if errs := s.Validate(); len(errs) != 0 {
		t.Fatalf("Validate = %v, want no errors", errs)
	}
	if s.AllowedEmailDomains[0] != "contoso.com" {
		t.Errorf("domain not normalized: %q", s.AllowedEmailDomains[0])
	}

	empty := Settings{}
	if errs := empty.Validate(); len(errs) != 0 {
		t.Fatalf("Validate of empty settings = %v", errs)
	}
	if string(empty.Custom) != "{}" || empty.AllowedEmailDomains == nil {
		t.Errorf("empty settings normalized to custom %s, domains %v", empty.Custom, empty.AllowedEmailDomains)
	}
}

func TestSettingsValidateRejects(t *testing.T) {
	manyDomains := make([]string, MaxEmailDomains+1)
	for i := range manyDomains {
		manyDomains[i] = "d" + strings.Repeat("x", i%5) + uuid.NewString()[:8] + ".com"
	}
	cases := map[string]struct {
		settings Settings
		field    string
	}{
		"display name too long":    {Settings{DisplayName: strings.Repeat("é", MaxDisplayNameRunes+1)}, "display_name"},
		"display name control":     {Settings{DisplayName: "Contoso\x00"}, "display_name"},
		"domain without dot":       {Settings{AllowedEmailDomains: []string{"localhost"}}, "allowed_email_domains[0]"},
		"domain with scheme":       {Settings{AllowedEmailDomains: []string{"contoso.com", "https://contoso.com"}}, "allowed_email_domains[1]"},
		"domain with at sign":      {Settings{AllowedEmailDomains: []string{"ada@contoso.com"}}, "allowed_email_domains[0]"},
		"duplicate domain":         {Settings{AllowedEmailDomains: []string{"contoso.com", "CONTOSO.com"}}, "allowed_email_domains[1]"},
		"too many domains":         {Settings{AllowedEmailDomains: manyDomains}, "allowed_email_domains"},
		"retention zero":           {Settings{RetentionDays: intPointer(0)}, "retention_days"},
		"retention too long":       {Settings{RetentionDays: intPointer(MaxRetentionDays + 1)}, "retention_days"},
		"deployment with space":    {Settings{ChatModelDeployment: "gpt 4o"}, "chat_model_deployment"},
		"deployment too long":      {Settings{ChatModelDeployment: strings.Repeat("a", 65)}, "chat_model_deployment"},
		"custom not an object":     {Settings{Custom: json.RawMessage(`[1,2]`)}, "custom"},
		"custom over 16 KB":        {Settings{Custom: json.RawMessage(`{"a":"` + strings.Repeat("x", MaxCustomBytes) + `"}`)}, "custom"},
		"custom string not object": {Settings{Custom: json.RawMessage(`"text"`)}, "custom"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			errs := c.settings.Validate()
			if len(errs) != 1 {
				t.Fatalf("Validate = %v, want one error on %s", errs, c.field)
			}
			if errs[0].Field != c.field {
				t.Errorf("error field = %q, want %q", errs[0].Field, c.field)
			}
		})
	}
}

func TestSettingsValidateReportsEveryField(t *testing.T) {
	s := Settings{DisplayName: "\x07", RetentionDays: intPointer(-1), Custom: json.RawMessage(`1`)}
	if errs := s.Validate(); len(errs) != 3 {
		t.Errorf("Validate = %v, want 3 errors", errs)
	}
}

func TestParseETag(t *testing.T) {
	cases := map[string]struct {
		version int64
		ok      bool
	}{
		`"v0"`: {0, true}, `"v12"`: {12, true}, `W/"v3"`: {3, true},
		`v3`: {0, false}, `"3"`: {0, false}, `"v-1"`: {0, false}, `"vx"`: {0, false}, `*`: {0, false}, ``: {0, false},
	}
	for tag, want := range cases {
		version, ok := ParseETag(tag)
		if version != want.version || ok != want.ok {
			t.Errorf("ParseETag(%q) = %d, %v, want %d, %v", tag, version, ok, want.version, want.ok)
		}
	}
	if got := (StoredSettings{Version: 7}).ETag(); got != `"v7"` {
		t.Errorf("ETag = %s, want \"v7\"", got)
	}
}

func TestSettingsServiceOptimisticConcurrency(t *testing.T) {
	ctx := context.Background()
	s, _ := storetest.Open(t)
	orgID, err := s.EnsureOrganization(ctx, "org_01")
	if err != nil {
		t.Fatal(err)
	}
	adminID, err := s.EnsureUser(ctx, "user_admin")
	if err != nil {
		t.Fatal(err)
	}
	service := &SettingsService{Store: s}

	initial, err := service.Get(ctx, orgID)
	if err != nil {
		t.Fatal(err)
	}
	if initial.Version != 0 || initial.UpdatedBy != nil || string(initial.Settings.Custom) != "{}" {
		t.Fatalf("initial settings = %+v, want defaults at version 0", initial)
	}

	first, err := service.Put(ctx, orgID, adminID, Settings{DisplayName: "Contoso", Custom: json.RawMessage(`{"a":1}`)}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if first.Version != 1 || first.UpdatedBy == nil || *first.UpdatedBy != adminID || first.UpdatedAt == nil {
		t.Errorf("first write = %+v, want version 1 by %s", first, adminID)
	}

	// A second writer that also read version 0 loses.
	if _, err := service.Put(ctx, orgID, adminID, Settings{DisplayName: "Other"}, 0); !errors.Is(err, ErrVersionMismatch) {
		t.Errorf("write at stale version 0 = %v, want ErrVersionMismatch", err)
	}
	if _, err := service.Put(ctx, orgID, adminID, Settings{DisplayName: "Other"}, 5); !errors.Is(err, ErrVersionMismatch) {
		t.Errorf("write at future version 5 = %v, want ErrVersionMismatch", err)
	}

	second, err := service.Put(ctx, orgID, adminID, Settings{DisplayName: "Contoso Ltd."}, 1)
	if err != nil {
		t.Fatal(err)
	}
	read, err := service.Get(ctx, orgID)
	if err != nil {
		t.Fatal(err)
	}
	if second.Version != 2 || read.Version != 2 || read.Settings.DisplayName != "Contoso Ltd." {
		t.Errorf("after second write read %+v, want version 2 named Contoso Ltd.", read)
	}

	// Another organization reads only its own defaults.
	otherOrg, err := s.EnsureOrganization(ctx, "org_02")
	if err != nil {
		t.Fatal(err)
	}
	other, err := service.Get(ctx, otherOrg)
	if err != nil || other.Version != 0 || other.Settings.DisplayName != "" {
		t.Errorf("other organization's settings = %+v, %v, want defaults", other, err)
	}
}
