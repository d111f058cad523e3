package funchost

import (
	"maps"
	"testing"
)

func TestRouteMatch(t *testing.T) {
	cases := []struct {
		template string
		path     string
		want     map[string]string
	}{
		{"documents", "documents", map[string]string{}},
		{"documents", "Documents/", map[string]string{}},
		{"documents/{id}", "documents/42", map[string]string{"id": "42"}},
		{"documents/{id}", "documents", nil},
		{"documents/{id}", "documents/42/x", nil},
		{"documents/{id:guid}", "documents/0b7c6a2e-5f43-4c8e-9a55-7d1f7e1a8f00", map[string]string{"id": "0b7c6a2e-5f43-4c8e-9a55-7d1f7e1a8f00"}},
		{"documents/{id:guid}", "documents/42", nil},
		{"pages/{page:int}", "pages/7", map[string]string{"page": "7"}},
		{"pages/{page:int}", "pages/seven", nil},
		{"pages/{page:int?}", "pages", map[string]string{}},
		{"items/{page?}", "items", map[string]string{}},
		{"items/{page?}", "items/3", map[string]string{"page": "3"}},
		{"files/{*rest}", "files/a/b/c.txt", map[string]string{"rest": "a/b/c.txt"}},
		{"files/{*rest}", "files", map[string]string{"rest": ""}},
		{"{**path}", "anything/at/all", map[string]string{"path": "anything/at/all"}},
		{"{*path}", "", map[string]string{"path": ""}},
		{"downloads/{name}.{extension}", "downloads/report.final.pdf", map[string]string{"name": "report", "extension": "final.pdf"}},
		{"downloads/{name}.{extension}", "downloads/report", nil},
		{"flags/{on:bool}", "flags/true", map[string]string{"on": "true"}},
		{"flags/{on:bool}", "flags/1", nil},
		{"names/{name:alpha}", "names/abc", map[string]string{"name": "abc"}},
		{"names/{name:alpha}", "names/ab1", nil},
		{"names/{name:regex(^a)}", "names/zzz", map[string]string{"name": "zzz"}},
	}
	for _, c := range cases {
		route, err := ParseRoute(c.template)
		if err != nil {
			t.Fatalf("ParseRoute(%q): %v", c.template, err)
		}
		got, ok := route.Match(c.path)
		if c.want == nil {
			if ok {
				t.Errorf("%q matched %q with %v, want no match", c.template, c.path, got)
			}
			continue
		}
		if !ok {
			t.Errorf("%q did not match %q", c.template, c.path)
			continue
		}
		if !maps.Equal(got, c.want) {
			t.Errorf("%q on %q = %v, want %v", c.template, c.path, got, c.want)
		}
	}
}

func TestParseRouteInvalid(t *testing.T) {
	for _, template := range []string{
		"files/{*rest}/more",
		"items/{page?}/more",
		"a//b",
		"a/{}",
		"a/{1x}",
		"a/{x}{",
		"a/{x?}.{y}",
	} {
		if _, err := ParseRoute(template); err == nil {
			t.Errorf("ParseRoute(%q) succeeded, want an error", template)
		}
	}
}

func TestRoutePrecedence(t *testing.T) {
	templates := []string{"{*rest}", "documents/{id}", "documents/{id:guid}", "documents/search", "documents/{id?}"}
	var routes []*httpRoute
	for _, template := range templates {
		route, err := ParseRoute(template)
		if err != nil {
			t.Fatal(err)
		}
		routes = append(routes, &httpRoute{route: route})
	}
	sortRoutes(routes)

	var order []string
	for _, route := range routes {
		order = append(order, route.route.Template)
	}
	want := []string{"documents/search", "documents/{id:guid}", "documents/{id}", "documents/{id?}", "{*rest}"}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("route order = %v, want %v", order, want)
		}
	}
}
