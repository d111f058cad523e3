package funchost

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"
)

// LoadSettings reads the Values of a local.settings.json file. As in Azure
// Functions Core Tools, an environment variable of the same name wins over
// the file, and each such name is logged.
func LoadSettings(path string, logger *slog.Logger) (map[string]string, error) {
	content, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read settings file: %w", err)
	}
	var file struct {
		IsEncrypted bool              `json:"IsEncrypted"`
		Values      map[string]string `json:"Values"`
	}
	if err := json.Unmarshal(content, &file); err != nil {
		return nil, fmt.Errorf("parse settings file %s: %w", path, err)
	}
	if file.IsEncrypted {
		return nil, fmt.Errorf("settings file %s is encrypted: decrypt it with func settings decrypt", path)
	}

	settings := make(map[string]string, len(file.Values))
	for name, value := range file.Values {
		if fromEnvironment, ok := os.LookupEnv(name); ok {
			logger.Info("setting from local settings skipped, environment variable wins", "setting", name)
			value = fromEnvironment
		}
		settings[name] = value
	}
	return settings, nil
}

// parseTimeSpan parses a .NET TimeSpan in the "[-][d.]hh:mm:ss[.fffffff]"
// form host.json uses.
func parseTimeSpan(value string) (time.Duration, error) {
	text := strings.TrimSpace(value)
	negative := strings.HasPrefix(text, "-")
	text = strings.TrimPrefix(text, "-")

	var days int64
	parts := strings.Split(text, ":")
	if len(parts) != 3 {
		return 0, fmt.Errorf("invalid TimeSpan %q: want [d.]hh:mm:ss", value)
	}
	hoursText := parts[0]
	if dot := strings.IndexByte(hoursText, '.'); dot >= 0 {
		parsed, err := strconv.ParseInt(hoursText[:dot], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("invalid TimeSpan %q: days: %w", value, err)
		}
		days = parsed
		hoursText = hoursText[dot+1:]
	}
	hours, err := strconv.ParseInt(hoursText, 10, 64)
	if err != nil || hours > 23 {
		return 0, fmt.Errorf("invalid TimeSpan %q: hours must be 0-23", value)
	}
	minutes, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || minutes > 59 {
		return 0, fmt.Errorf("invalid TimeSpan %q: minutes must be 0-59", value)
	}
	seconds, err := strconv.ParseFloat(parts[2], 64)
	if err != nil || seconds >= 60 || seconds < 0 {
		return 0, fmt.Errorf("invalid TimeSpan %q: seconds must be 0-59", value)
	}

	duration := time.Duration(days)*24*time.Hour +
		time.Duration(hours)*time.Hour +
		time.Duration(minutes)*time.Minute +
		time.Duration(seconds*float64(time.Second))
	if negative {
		duration = -duration
	}
	return duration, nil
}
