package funchost

import (
	"testing"
	"time"
)

func TestScheduleNext(t *testing.T) {
	from := time.Date(2026, 3, 14, 10, 20, 30, 500, time.UTC)
	cases := []struct {
		expression string
		want       time.Time
	}{
		{"0 */5 * * * *", time.Date(2026, 3, 14, 10, 25, 0, 0, time.UTC)},
		{"*/10 * * * * *", time.Date(2026, 3, 14, 10, 20, 40, 0, time.UTC)},
		{"0 0 2 * * *", time.Date(2026, 3, 15, 2, 0, 0, 0, time.UTC)},
		{"30 15 9 * * 1-5", time.Date(2026, 3, 16, 9, 15, 30, 0, time.UTC)}, // 14 March 2026 is a Saturday
		{"0 0 0 1 1 *", time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"0 0 12 * * MON", time.Date(2026, 3, 16, 12, 0, 0, 0, time.UTC)},
		{"*/15 * * * *", time.Date(2026, 3, 14, 10, 30, 0, 0, time.UTC)}, // five fields: minutes first
		{"00:05:00", from.Add(5 * time.Minute).Truncate(time.Second)},
	}
	for _, c := range cases {
		schedule, err := ParseSchedule(c.expression)
		if err != nil {
			t.Fatalf("ParseSchedule(%q): %v", c.expression, err)
		}
		if got := schedule.Next(from); !got.Equal(c.want) {
			t.Errorf("%q: Next(%v) = %v, want %v", c.expression, from, got, c.want)
		}
	}
}

func TestScheduleNextConvertsToUTC(t *testing.T) {
	schedule, err := ParseSchedule("0 0 9 * * *")
	if err != nil {
		t.Fatal(err)
	}
	zone := time.FixedZone("UTC+5", 5*60*60)
	from := time.Date(2026, 3, 14, 10, 0, 0, 0, zone) // 05:00 UTC
	want := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	if got := schedule.Next(from); !got.Equal(want) || got.Location() != time.UTC {
		t.Errorf("Next = %v, want %v in UTC", got, want)
	}
}

func TestParseScheduleInvalid(t *testing.T) {
	for _, expression := range []string{
		"",
		"* * * *",
		"* * * * * * *",
		"61 * * * * *",
		"@daily",
		"TZ=Europe/Paris 0 0 * * * *",
		"00:00:00.5",
		"25:00:00",
	} {
		if _, err := ParseSchedule(expression); err == nil {
			t.Errorf("ParseSchedule(%q) succeeded, want an error", expression)
		}
	}
}

func TestParseTimeSpan(t *testing.T) {
	cases := []struct {
		value string
		want  time.Duration
	}{
		{"00:00:30", 30 * time.Second},
		{"01:02:03", time.Hour + 2*time.Minute + 3*time.Second},
		{"1.00:00:00", 24 * time.Hour},
		{"00:00:00.5", 500 * time.Millisecond},
		{"-00:00:00.0010000", -time.Millisecond},
	}
	for _, c := range cases {
		got, err := parseTimeSpan(c.value)
		if err != nil {
			t.Errorf("parseTimeSpan(%q): %v", c.value, err)
			continue
		}
		if got != c.want {
			t.Errorf("parseTimeSpan(%q) = %v, want %v", c.value, got, c.want)
		}
	}
	for _, value := range []string{"30", "00:60:00", "24:00:00", "a:b:c", "00:00:60"} {
		if _, err := parseTimeSpan(value); err == nil {
			t.Errorf("parseTimeSpan(%q) succeeded, want an error", value)
		}
	}
}
