package funchost

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"
)

// Defaults the real Functions host applies when host.json leaves a value out.
const (
	// InitializationTimeoutDefault is how long the handler gets to respond to its
	// first GET / (customHandler.initializationTimeout).
	InitializationTimeoutDefault = 30 * time.Second

	// RoutePrefixDefault is extensions.http.routePrefix when host.json omits it.
	RoutePrefixDefault = "api"

	// PoisonBlobThresholdDefault is extensions.blobs.poisonBlobThreshold.
	PoisonBlobThresholdDefault = 5

	// MaxAutoLockRenewalDurationDefault is
	// extensions.serviceBus.maxAutoLockRenewalDuration.
	MaxAutoLockRenewalDurationDefault = 5 * time.Minute

	// RequestBodySizeLimitDefault is the request body limit of HTTP functions
	// (100 MiB), overridden by the FUNCTIONS_REQUEST_BODY_SIZE_LIMIT setting.
	RequestBodySizeLimitDefault = 100 << 20
)

// Binding types the local host runs. Others are reported at start-up.
const (
	bindingHTTPTrigger       = "httptrigger"
	bindingHTTP              = "http"
	bindingBlobTrigger       = "blobtrigger"
	bindingServiceBusTrigger = "servicebustrigger"
	bindingTimerTrigger      = "timertrigger"
	bindingServiceBus        = "servicebus"
)

// hostJSON is the subset of host.json the local host reads. encoding/json
// matches keys case-insensitively, as the real host does.
type hostJSON struct {
	Version         string `json:"version"`
	FunctionTimeout string `json:"functionTimeout"`
	CustomHandler   *struct {
		Description struct {
			DefaultExecutablePath string   `json:"defaultExecutablePath"`
			WorkingDirectory      string   `json:"workingDirectory"`
			Arguments             []string `json:"arguments"`
		} `json:"description"`
		EnableForwardingHTTPRequest bool   `json:"enableForwardingHttpRequest"`
		EnableProxyingHTTPRequest   bool   `json:"enableProxyingHttpRequest"`
		Port                        int    `json:"port"`
		InitializationTimeout       string `json:"initializationTimeout"`
	} `json:"customHandler"`
	Extensions struct {
		HTTP struct {
			RoutePrefix *string `json:"routePrefix"`
		} `json:"http"`
		ServiceBus struct {
			MaxConcurrentCalls         int    `json:"maxConcurrentCalls"`
			MaxAutoLockRenewalDuration string `json:"maxAutoLockRenewalDuration"`
		} `json:"serviceBus"`
		Blobs struct {
			PoisonBlobThreshold    int `json:"poisonBlobThreshold"`
			MaxDegreeOfParallelism int `json:"maxDegreeOfParallelism"`
		} `json:"blobs"`
	} `json:"extensions"`
}

// HostSettings are the host.json values the local host uses, with defaults
// applied.
type HostSettings struct {
	// ExecutablePath is the handler command; relative paths that exist under
	// the app folder are made absolute, others are looked up in PATH.
	ExecutablePath string
	// Arguments are passed to the handler after %Setting% expansion.
	Arguments []string
	// WorkingDirectory is the handler's working directory, the app folder by
	// default.
	WorkingDirectory string
	// ForwardHTTPRequests is enableForwardingHttpRequest or
	// enableProxyingHttpRequest. The local host streams in both modes.
	ForwardHTTPRequests bool
	// HandlerPort is a fixed handler port, zero for a free port.
	HandlerPort int
	// InitializationTimeout bounds the wait for the handler's first response.
	InitializationTimeout time.Duration
	// FunctionTimeout bounds one invocation; zero means no limit.
	FunctionTimeout time.Duration
	// RoutePrefix is prepended to every HTTP route, without slashes.
	RoutePrefix string
	// MaxConcurrentCalls limits concurrent Service Bus invocations per function.
	MaxConcurrentCalls int
	// MaxAutoLockRenewalDuration is how long a message lock is renewed while
	// its invocation runs.
	MaxAutoLockRenewalDuration time.Duration
	// PoisonBlobThreshold is the number of tries before a blob is poison.
	PoisonBlobThreshold int
	// MaxDegreeOfParallelism limits concurrent blob invocations per function.
	MaxDegreeOfParallelism int
}

// Binding is one entry of function.json "bindings". Only the fields of the
// triggers and outputs the local host runs are decoded.
type Binding struct {
	Type      string   `json:"type"`
	Direction string   `json:"direction"`
	Name      string   `json:"name"`
	DataType  string   `json:"dataType"`
	AuthLevel string   `json:"authLevel"`
	Methods   []string `json:"methods"`
	Route     string   `json:"route"`

	Path       string `json:"path"`
	Connection string `json:"connection"`
	Source     string `json:"source"`

	QueueName        string `json:"queueName"`
	TopicName        string `json:"topicName"`
	SubscriptionName string `json:"subscriptionName"`
	Cardinality      string `json:"cardinality"`
	IsSessions       bool   `json:"isSessionsEnabled"`

	Schedule     string `json:"schedule"`
	RunOnStartup bool   `json:"runOnStartup"`
}

// Function is one function folder with its parsed function.json.
type Function struct {
	// Name is the folder name, which is also the handler path for
	// non-HTTP invocations (POST /<Name>).
	Name     string
	Bindings []Binding
	// Trigger is the one binding whose type ends in "Trigger".
	Trigger Binding
	// Outputs are the bindings with direction "out", $return included.
	Outputs []Binding
}

// triggerType returns the lower-case trigger type of f.
func (f *Function) triggerType() string {
	return strings.ToLower(f.Trigger.Type)
}

// isHTTPInAndOut reports whether f has exactly one httpTrigger and one http
// output, the only shape the real host forwards as a plain HTTP request.
func (f *Function) isHTTPInAndOut() bool {
	if len(f.Bindings) != 2 {
		return false
	}
	var trigger, output bool
	for _, binding := range f.Bindings {
		switch strings.ToLower(binding.Type) {
		case bindingHTTPTrigger:
			trigger = true
		case bindingHTTP:
			output = strings.EqualFold(binding.Direction, "out")
		}
	}
	return trigger && output
}

// App is a function app folder: host.json and one folder per function.
type App struct {
	Dir       string
	Host      HostSettings
	Functions []*Function
}

// LoadApp reads host.json and every <dir>/<Name>/function.json, expands
// %Setting% references from settings and applies the host's defaults. It
// reports every problem it finds at once, and it leaves out functions that
// settings disable with AzureWebJobs.<Name>.Disabled.
func LoadApp(dir string, settings map[string]string) (*App, error) {
	absoluteDir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("load app %s: %w", dir, err)
	}
	var problems []error

	host, err := loadHostSettings(absoluteDir, settings)
	if err != nil {
		problems = append(problems, err)
	}

	entries, err := os.ReadDir(absoluteDir)
	if err != nil {
		return nil, fmt.Errorf("load app %s: %w", absoluteDir, err)
	}
	app := &App{Dir: absoluteDir, Host: host}
	for _, entry := range entries {
		if !entry.IsDir() {
			continue
		}
		path := filepath.Join(absoluteDir, entry.Name(), "function.json")
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			continue
		}
		if isDisabled(entry.Name(), settings) {
			continue
		}
		function, err := loadFunction(path, entry.Name(), settings)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		if function != nil {
			app.Functions = append(app.Functions, function)
		}
	}
	sort.Slice(app.Functions, func(i, j int) bool { return app.Functions[i].Name < app.Functions[j].Name })

	if err := errors.Join(problems...); err != nil {
		return nil, fmt.Errorf("load app %s: %w", absoluteDir, err)
	}
	return app, nil
}

func isDisabled(name string, settings map[string]string) bool {
	value, ok := lookupSetting(settings, "AzureWebJobs."+name+".Disabled")
	return ok && (strings.EqualFold(value, "true") || value == "1")
}

func loadHostSettings(appDir string, settings map[string]string) (HostSettings, error) {
	path := filepath.Join(appDir, "host.json")
	content, err := os.ReadFile(path)
	if err != nil {
		return HostSettings{}, fmt.Errorf("read host.json: %w", err)
	}
	var raw hostJSON
	if err := json.Unmarshal(content, &raw); err != nil {
		return HostSettings{}, fmt.Errorf("parse %s: %w", path, err)
	}
	if raw.CustomHandler == nil {
		return HostSettings{}, fmt.Errorf("%s: missing customHandler section", path)
	}

	var problems []error
	host := HostSettings{
		Arguments:                  raw.CustomHandler.Description.Arguments,
		ForwardHTTPRequests:        raw.CustomHandler.EnableForwardingHTTPRequest || raw.CustomHandler.EnableProxyingHTTPRequest,
		HandlerPort:                raw.CustomHandler.Port,
		InitializationTimeout:      InitializationTimeoutDefault,
		RoutePrefix:                RoutePrefixDefault,
		MaxConcurrentCalls:         16 * runtime.NumCPU(),
		MaxAutoLockRenewalDuration: MaxAutoLockRenewalDurationDefault,
		PoisonBlobThreshold:        PoisonBlobThresholdDefault,
		MaxDegreeOfParallelism:     8 * runtime.NumCPU(),
	}

	executable := raw.CustomHandler.Description.DefaultExecutablePath
	if executable == "" {
		problems = append(problems, fmt.Errorf("%s: missing customHandler.description.defaultExecutablePath", path))
	} else if !filepath.IsAbs(executable) {
		candidate := filepath.Join(appDir, executable)
		if _, err := os.Stat(candidate); err == nil {
			executable = candidate
		}
	}
	host.ExecutablePath = executable

	host.WorkingDirectory = appDir
	if dir := raw.CustomHandler.Description.WorkingDirectory; dir != "" {
		if filepath.IsAbs(dir) {
			host.WorkingDirectory = dir
		} else {
			host.WorkingDirectory = filepath.Join(appDir, dir)
		}
	}
	for i, argument := range host.Arguments {
		expanded, err := expandSettings(argument, settings)
		if err != nil {
			problems = append(problems, fmt.Errorf("%s: customHandler.description.arguments[%d]: %w", path, i, err))
		}
		host.Arguments[i] = expanded
	}

	durations := []struct {
		field  string
		value  string
		target *time.Duration
	}{
		{"customHandler.initializationTimeout", raw.CustomHandler.InitializationTimeout, &host.InitializationTimeout},
		{"functionTimeout", raw.FunctionTimeout, &host.FunctionTimeout},
		{"extensions.serviceBus.maxAutoLockRenewalDuration", raw.Extensions.ServiceBus.MaxAutoLockRenewalDuration, &host.MaxAutoLockRenewalDuration},
	}
	for _, duration := range durations {
		if duration.value == "" {
			continue
		}
		parsed, err := parseTimeSpan(duration.value)
		if err != nil {
			problems = append(problems, fmt.Errorf("%s: %s: %w", path, duration.field, err))
			continue
		}
		*duration.target = parsed
	}

	if raw.Extensions.HTTP.RoutePrefix != nil {
		host.RoutePrefix = strings.Trim(*raw.Extensions.HTTP.RoutePrefix, "/")
	}
	if raw.Extensions.ServiceBus.MaxConcurrentCalls > 0 {
		host.MaxConcurrentCalls = raw.Extensions.ServiceBus.MaxConcurrentCalls
	}
	if raw.Extensions.Blobs.PoisonBlobThreshold > 0 {
		host.PoisonBlobThreshold = raw.Extensions.Blobs.PoisonBlobThreshold
	}
	if raw.Extensions.Blobs.MaxDegreeOfParallelism > 0 {
		host.MaxDegreeOfParallelism = raw.Extensions.Blobs.MaxDegreeOfParallelism
	}
	return host, errors.Join(problems...)
}

// loadFunction parses one function.json. It returns nil, nil for a function
// that function.json itself disables.
func loadFunction(path, name string, settings map[string]string) (*Function, error) {
	content, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read function %s: %w", name, err)
	}
	var raw struct {
		Disabled bool      `json:"disabled"`
		Bindings []Binding `json:"bindings"`
	}
	if err := json.Unmarshal(content, &raw); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	if raw.Disabled {
		return nil, nil
	}

	function := &Function{Name: name, Bindings: raw.Bindings}
	var problems []error
	triggers := 0
	for i := range function.Bindings {
		binding := &function.Bindings[i]
		for _, field := range []*string{&binding.Path, &binding.QueueName, &binding.TopicName, &binding.SubscriptionName, &binding.Schedule} {
			expanded, err := expandSettings(*field, settings)
			if err != nil {
				problems = append(problems, fmt.Errorf("function %s: binding %s: %w", name, binding.Name, err))
			}
			*field = expanded
		}

		if strings.HasSuffix(strings.ToLower(binding.Type), "trigger") {
			triggers++
			function.Trigger = *binding
		}
		if strings.EqualFold(binding.Direction, "out") {
			function.Outputs = append(function.Outputs, *binding)
		}
	}
	if triggers != 1 {
		problems = append(problems, fmt.Errorf("function %s: found %d trigger bindings, want exactly 1", name, triggers))
	}
	if err := errors.Join(problems...); err != nil {
		return nil, err
	}
	return function, nil
}

// expandSettings replaces each %Name% in value with the setting Name, as the
// real host resolves binding expressions. "%%" is not an escape there, so it
// is not one here either.
func expandSettings(value string, settings map[string]string) (string, error) {
	var result strings.Builder
	rest := value
	for {
		start := strings.IndexByte(rest, '%')
		if start < 0 {
			result.WriteString(rest)
			return result.String(), nil
		}
		end := strings.IndexByte(rest[start+1:], '%')
		if end < 0 {
			return "", fmt.Errorf("invalid setting reference in %q: missing closing %%", value)
		}
		name := rest[start+1 : start+1+end]
		setting, ok := lookupSetting(settings, name)
		if !ok {
			return "", fmt.Errorf("setting %s referenced in %q not found: add it to local.settings.json Values", name, value)
		}
		result.WriteString(rest[:start])
		result.WriteString(setting)
		rest = rest[start+end+2:]
	}
}

// lookupSetting returns a setting by name. Names match case-insensitively,
// as keys do in .NET configuration, which the real host reads settings from.
func lookupSetting(settings map[string]string, name string) (string, bool) {
	if value, ok := settings[name]; ok {
		return value, true
	}
	for key, value := range settings {
		if strings.EqualFold(key, name) {
			return value, true
		}
	}
	return "", false
}
