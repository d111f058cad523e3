package functions

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/bondingai/platform/shared/customhandler"
	"github.com/bondingai/platform/shared/documents"
	"github.com/bondingai/platform/shared/ingest"
	"github.com/bondingai/platform/shared/platform"
)

type binding struct {
	Type      string   `json:"type"`
	Direction string   `json:"direction"`
	Name      string   `json:"name"`
	Methods   []string `json:"methods"`
	Route     string   `json:"route"`
	Path      string   `json:"path"`
	QueueName string   `json:"queueName"`
	DataType  string   `json:"dataType"`
}

type functionJSON struct {
	Bindings []binding `json:"bindings"`
}

func readFunctions(t *testing.T) map[string]functionJSON {
	t.Helper()
	paths, err := filepath.Glob("*/function.json")
	if err != nil {
		t.Fatal(err)
	}
	all := map[string]functionJSON{}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var f functionJSON
		if err := json.Unmarshal(data, &f); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		all[filepath.Dir(path)] = f
	}
	return all
}

func TestEveryFolderIsRegistered(t *testing.T) {
	folders := readFunctions(t)
	var onDisk []string
	for name := range folders {
		onDisk = append(onDisk, name)
	}
	registered := Names()
	sort.Strings(onDisk)
	sort.Strings(registered)
	if strings.Join(onDisk, ",") != strings.Join(registered, ",") {
		t.Errorf("function folders %v differ from registered functions %v", onDisk, registered)
	}
}

var routeParameter = regexp.MustCompile(`\{[^}]+\}`)

// The host forwards HTTP requests to the same path, so every method and
// route in a function.json must reach a handler of that function.
func TestBindingsReachHandlers(t *testing.T) {
	var logs bytes.Buffer
	app := customhandler.NewApp(customhandler.NewLogger(&logs, nil))
	Register(app, &platform.Platform{})
	mux := app.Handler().(*http.ServeMux)

	for name, f := range readFunctions(t) {
		trigger := f.Bindings[0]
		switch trigger.Type {
		case "httpTrigger":
			if len(f.Bindings) != 2 || f.Bindings[1].Type != "http" {
				t.Errorf("%s: forwarding needs exactly one httpTrigger and one http output", name)
			}
			path := "/api/" + routeParameter.ReplaceAllString(trigger.Route, "00000000-0000-0000-0000-000000000001")
			for _, method := range trigger.Methods {
				req := httptest.NewRequest(strings.ToUpper(method), path, nil)
				if _, pattern := mux.Handler(req); pattern == "" || pattern == "GET /{$}" {
					t.Errorf("%s: %s %s reaches no handler", name, strings.ToUpper(method), path)
				}
			}
		default:
			req := httptest.NewRequest(http.MethodPost, "/"+name, nil)
			if _, pattern := mux.Handler(req); pattern != "POST /"+name {
				t.Errorf("%s: trigger invocations reach %q, want POST /%s", name, pattern, name)
			}
		}
	}
}

func TestTriggerBindingsMatchCode(t *testing.T) {
	folders := readFunctions(t)
	blob := folders["IngestDocument"].Bindings[0]
	if !strings.HasPrefix(blob.Path, documents.Container+"/") {
		t.Errorf("IngestDocument path %q does not start with container %q", blob.Path, documents.Container)
	}
	if blob.DataType != "binary" {
		t.Errorf("IngestDocument dataType = %q, want binary so the host sends base64", blob.DataType)
	}
	queue := folders["EmbedChunks"].Bindings[0]
	if queue.QueueName != ingest.EmbeddingQueue {
		t.Errorf("EmbedChunks queueName %q, want %q", queue.QueueName, ingest.EmbeddingQueue)
	}
}
