package funchost

import (
	"context"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bondingai/platform/shared/queue/localqueue/localqueuetest"
)

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadAppDefaultsAndExpansion(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"host.json":            `{"version":"2.0","customHandler":{"description":{"defaultExecutablePath":"handler","arguments":["--mode","%Mode%"]}}}`,
		"handler":              "",
		"Rollup/function.json": `{"bindings":[{"type":"timerTrigger","direction":"in","name":"timer","schedule":"%RollupSchedule%"}]}`,
		"Off/function.json":    `{"bindings":[{"type":"timerTrigger","direction":"in","name":"timer","schedule":"0 0 * * * *"}]}`,
		"Legacy/function.json": `{"disabled":true,"bindings":[{"type":"timerTrigger","direction":"in","name":"timer","schedule":"0 0 * * * *"}]}`,
		"notes/readme.txt":     "not a function",
	})
	app, err := LoadApp(dir, map[string]string{
		"Mode":                      "local",
		"rollupschedule":            "0 */5 * * * *",
		"AzureWebJobs.Off.Disabled": "true",
	})
	if err != nil {
		t.Fatalf("LoadApp: %v", err)
	}

	if app.Host.ExecutablePath != filepath.Join(dir, "handler") {
		t.Errorf("ExecutablePath = %q, want the absolute path of the existing file", app.Host.ExecutablePath)
	}
	if strings.Join(app.Host.Arguments, " ") != "--mode local" {
		t.Errorf("Arguments = %v", app.Host.Arguments)
	}
	if app.Host.InitializationTimeout != InitializationTimeoutDefault {
		t.Errorf("InitializationTimeout = %v", app.Host.InitializationTimeout)
	}
	if app.Host.RoutePrefix != RoutePrefixDefault {
		t.Errorf("RoutePrefix = %q", app.Host.RoutePrefix)
	}
	if app.Host.PoisonBlobThreshold != PoisonBlobThresholdDefault {
		t.Errorf("PoisonBlobThreshold = %d", app.Host.PoisonBlobThreshold)
	}
	if app.Host.WorkingDirectory != dir {
		t.Errorf("WorkingDirectory = %q", app.Host.WorkingDirectory)
	}
	if len(app.Functions) != 1 || app.Functions[0].Name != "Rollup" {
		t.Fatalf("functions = %v, want only Rollup", app.Functions)
	}
	if app.Functions[0].Trigger.Schedule != "0 */5 * * * *" {
		t.Errorf("schedule = %q, want the expanded setting", app.Functions[0].Trigger.Schedule)
	}
}

func TestLoadAppHostSettings(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"host.json": `{"version":"2.0","functionTimeout":"00:10:00",
			"customHandler":{"description":{"defaultExecutablePath":"/bin/handler","workingDirectory":"bin"},
				"enableForwardingHttpRequest":true,"initializationTimeout":"00:01:00"},
			"extensions":{"http":{"routePrefix":""},"serviceBus":{"maxConcurrentCalls":4,"maxAutoLockRenewalDuration":"00:10:00"},
				"blobs":{"poisonBlobThreshold":3,"maxDegreeOfParallelism":2}}}`,
	})
	app, err := LoadApp(dir, nil)
	if err != nil {
		t.Fatalf("LoadApp: %v", err)
	}
	host := app.Host
	checks := []struct {
		name string
		ok   bool
	}{
		{"ExecutablePath", host.ExecutablePath == "/bin/handler"},
		{"WorkingDirectory", host.WorkingDirectory == filepath.Join(dir, "bin")},
		{"ForwardHTTPRequests", host.ForwardHTTPRequests},
		{"InitializationTimeout", host.InitializationTimeout == time.Minute},
		{"FunctionTimeout", host.FunctionTimeout == 10*time.Minute},
		{"RoutePrefix", host.RoutePrefix == ""},
		{"MaxConcurrentCalls", host.MaxConcurrentCalls == 4},
		{"MaxAutoLockRenewalDuration", host.MaxAutoLockRenewalDuration == 10*time.Minute},
		{"PoisonBlobThreshold", host.PoisonBlobThreshold == 3},
		{"MaxDegreeOfParallelism", host.MaxDegreeOfParallelism == 2},
	}
	for _, check := range checks {
		if !check.ok {
			t.Errorf("%s not read from host.json: %+v", check.name, host)
		}
	}
}

func TestLoadAppReportsEveryProblem(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"host.json":       `{"version":"2.0","functionTimeout":"ten minutes","customHandler":{"description":{}}}`,
		"A/function.json": `{"bindings":[{"type":"timerTrigger","direction":"in","name":"timer","schedule":"%Missing%"}]}`,
		"B/function.json": `{"bindings":[]}`,
		"C/function.json": `not json`,
	})
	_, err := LoadApp(dir, nil)
	if err == nil {
		t.Fatal("LoadApp succeeded on an invalid app")
	}
	for _, fragment := range []string{"defaultExecutablePath", "functionTimeout", "setting Missing", "function B: found 0 trigger", "C"} {
		if !strings.Contains(err.Error(), fragment) {
			t.Errorf("error does not mention %q:\n%v", fragment, err)
		}
	}
}

func TestExpandSettings(t *testing.T) {
	settings := map[string]string{"Queue": "embed", "Env": "dev"}
	got, err := expandSettings("%Queue%-%env%", settings)
	if err != nil || got != "embed-dev" {
		t.Errorf("expandSettings = %q, %v; want embed-dev", got, err)
	}
	if _, err := expandSettings("%Queue", settings); err == nil {
		t.Error("unclosed reference accepted")
	}
	if _, err := expandSettings("%Nope%", settings); err == nil {
		t.Error("missing setting accepted")
	}
}

func TestLoadSettingsEnvironmentWins(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"local.settings.json": `{"IsEncrypted":false,"Values":{"FUNCHOST_TEST_A":"file","FUNCHOST_TEST_B":"file"}}`,
		"encrypted.json":      `{"IsEncrypted":true,"Values":{}}`,
	})
	t.Setenv("FUNCHOST_TEST_B", "environment")

	settings, err := LoadSettings(filepath.Join(dir, "local.settings.json"), discardLogger())
	if err != nil {
		t.Fatalf("LoadSettings: %v", err)
	}
	want := map[string]string{"FUNCHOST_TEST_A": "file", "FUNCHOST_TEST_B": "environment"}
	if !maps.Equal(settings, want) {
		t.Errorf("settings = %v, want %v", settings, want)
	}
	if _, err := LoadSettings(filepath.Join(dir, "encrypted.json"), discardLogger()); err == nil {
		t.Error("encrypted settings accepted")
	}
	if _, err := LoadSettings(filepath.Join(dir, "missing.json"), discardLogger()); err == nil {
		t.Error("missing settings file accepted")
	}
}

func TestCompileBlobPattern(t *testing.T) {
	pattern, prefix, err := compileBlobPattern("uploads/{orgId}/{documentId}/{name}")
	if err != nil {
		t.Fatal(err)
	}
	if prefix != "uploads/" {
		t.Errorf("prefix = %q", prefix)
	}
	trigger := &blobTrigger{pattern: pattern}
	got, ok := trigger.matchBlob("uploads/o1/d1/folder/a.pdf")
	want := map[string]string{"orgId": "o1", "documentId": "d1", "name": "folder/a.pdf"}
	if !ok || !maps.Equal(got, want) {
		t.Errorf("match = %v, %v; want %v", got, ok, want)
	}
	if _, ok := trigger.matchBlob("uploads/o1/a.pdf"); ok {
		t.Error("blob with too few segments matched")
	}
	if _, ok := trigger.matchBlob("other/o1/d1/a.pdf"); ok {
		t.Error("blob outside the prefix matched")
	}
	for _, invalid := range []string{"{a}/{a}", "{a", "a}", "{1}"} {
		if _, _, err := compileBlobPattern(invalid); err == nil {
			t.Errorf("compileBlobPattern(%q) succeeded", invalid)
		}
	}
}

func TestBlobTriggerSkipsDeletedBlob(t *testing.T) {
	connection := os.Getenv("BONDINGAI_TEST_STORAGE_CONNECTION")
	if connection == "" {
		t.Fatal("BONDINGAI_TEST_STORAGE_CONNECTION is not set: run the tests with scripts/test, which starts PostgreSQL and Azurite")
	}
	dir := writeFiles(t, map[string]string{
		"host.json":            `{"version":"2.0","customHandler":{"description":{"defaultExecutablePath":"/nonexistent"}}}`,
		"Ingest/function.json": `{"bindings":[{"type":"blobTrigger","direction":"in","name":"document","path":"gone-` + localqueuetest.RandomSuffix(t) + `/{name}","connection":"DocumentStorage"}]}`,
	})
	host, err := newHost(Config{AppDir: dir, Settings: map[string]string{"DocumentStorage": connection}, Logger: discardLogger()})
	if err != nil {
		t.Fatalf("newHost: %v", err)
	}
	trigger, err := host.newBlobTrigger(host.app.Functions[0])
	if err != nil {
		t.Fatalf("newBlobTrigger: %v", err)
	}
	if err := trigger.connect(context.Background()); err != nil {
		t.Fatalf("connect: %v", err)
	}

	// The handler never started, so an invocation attempt would block until
	// the context ends; a skipped blob returns at once.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	trigger.process(ctx, "deleted.txt", `"0x1"`, map[string]string{"name": "deleted.txt"}, nil)
	if ctx.Err() != nil {
		t.Fatal("process waited for the handler instead of skipping the deleted blob")
	}
	if !trigger.isFinished("deleted.txt", `"0x1"`) {
		t.Error("deleted blob version not marked as finished")
	}
}

func discardLogger() *slog.Logger {
	return slog.New(slog.DiscardHandler)
}
