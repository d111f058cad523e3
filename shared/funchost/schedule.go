package funchost

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// ncrontabParser reads NCRONTAB expressions: six fields
// "{second} {minute} {hour} {day} {month} {day-of-week}", or the five-field
// form without seconds, which fires at second 0.
var ncrontabParser = cron.NewParser(
	cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow,
)

// Schedule is a parsed timerTrigger schedule, evaluated in UTC.
type Schedule struct {
	expression string
	schedule   cron.Schedule
}

// ParseSchedule parses a timerTrigger schedule: an NCRONTAB expression
// with five or six fields, or a TimeSpan such as "00:05:00" that repeats at a
// fixed interval (the real host allows TimeSpan only on App Service plans).
func ParseSchedule(expression string) (*Schedule, error) {
	trimmed := strings.TrimSpace(expression)
	if trimmed == "" {
		return nil, fmt.Errorf("invalid schedule: empty expression")
	}
	if strings.Contains(trimmed, ":") {
		interval, err := parseTimeSpan(trimmed)
		if err != nil {
			return nil, fmt.Errorf("invalid schedule %q: %w", expression, err)
		}
		if interval < time.Second {
			return nil, fmt.Errorf("invalid schedule %q: interval must be at least 1 second", expression)
		}
		return &Schedule{expression: trimmed, schedule: cron.Every(interval)}, nil
	}
	if strings.HasPrefix(trimmed, "@") || strings.HasPrefix(trimmed, "TZ=") || strings.HasPrefix(trimmed, "CRON_TZ=") {
		return nil, fmt.Errorf("invalid schedule %q: want an NCRONTAB expression with 5 or 6 fields", expression)
	}
	fields := len(strings.Fields(trimmed))
	if fields != 5 && fields != 6 {
		return nil, fmt.Errorf("invalid schedule %q: found %d fields, want 6 ({second} {minute} {hour} {day} {month} {day-of-week}) or 5", expression, fields)
	}
	schedule, err := ncrontabParser.Parse(trimmed)
	if err != nil {
		return nil, fmt.Errorf("invalid schedule %q: %w", expression, err)
	}
	return &Schedule{expression: trimmed, schedule: schedule}, nil
}

// Next returns the first occurrence strictly after t, in UTC.
func (s *Schedule) Next(t time.Time) time.Time {
	return s.schedule.Next(t.UTC()).UTC()
}

// String returns the expression the schedule was parsed from.
func (s *Schedule) String() string {
	return s.expression
}
