package analytics_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bondingai/platform/shared/analytics"
	"github.com/bondingai/platform/shared/store"
)

var day = time.Date(2026, 11, 10, 0, 0, 0, 0, time.UTC)

// scriptedDay returns a day of use of one organization: sign-ins,
// conversations, answers from two models citing documents, searches,
// feedback and document ingestion, spread over the day's hours.
func scriptedDay(orgID uuid.UUID, start time.Time, users []uuid.UUID, documents []uuid.UUID, seed uint64) []analytics.Event {
	random := rand.New(rand.NewPCG(seed, 1))
	models := []string{"gpt-4o", "gpt-4o-mini"}
	var events []analytics.Event
	at := func() time.Time { return start.Add(time.Duration(random.Int64N(int64(24 * time.Hour)))) }
	for _, user := range users {
		events = append(events, analytics.Event{OrgID: orgID, UserID: user, Type: analytics.EventSignIn, OccurredAt: at()})
		for range 1 + random.IntN(3) {
			events = append(events, analytics.Event{OrgID: orgID, UserID: user, Type: analytics.EventConversationStarted, OccurredAt: at()})
		}
		for range 2 + random.IntN(6) {
			cited := []uuid.UUID{documents[random.IntN(len(documents))]}
			if random.IntN(2) == 0 {
				cited = append(cited, documents[0])
			}
			events = append(events, analytics.Event{
				OrgID: orgID, UserID: user, Type: analytics.EventMessageAnswered, OccurredAt: at(),
				Model: models[random.IntN(len(models))], PromptTokens: 200 + random.IntN(2000), CompletionTokens: 50 + random.IntN(500),
				LatencyMS: 300 + random.IntN(12000), CitationCount: len(cited), DocumentIDs: cited,
			})
		}
		for range random.IntN(3) {
			events = append(events, analytics.Event{OrgID: orgID, UserID: user, Type: analytics.EventSearch, OccurredAt: at(), DurationMS: 20 + random.IntN(200)})
		}
		score := 1
		if random.IntN(3) == 0 {
			score = -1
		}
		events = append(events, analytics.Event{OrgID: orgID, UserID: user, Type: analytics.EventFeedbackGiven, OccurredAt: at(), FeedbackScore: score})
	}
	for i, document := range documents {
		events = append(events,
			analytics.Event{OrgID: orgID, UserID: users[0], Type: analytics.EventDocumentUploaded, OccurredAt: at(), DocumentIDs: []uuid.UUID{document}},
			analytics.Event{OrgID: orgID, Type: analytics.EventDocumentReady, OccurredAt: at(), Pages: 3 + i, Chunks: 10 + i, DocumentIDs: []uuid.UUID{document}},
		)
	}
	events = append(events, analytics.Event{OrgID: orgID, Type: analytics.EventDocumentFailed, OccurredAt: at(), DocumentIDs: []uuid.UUID{uuid.New()}})
	return events
}

func newUsers(n int) []uuid.UUID {
	users := make([]uuid.UUID, n)
	for i := range users {
		users[i] = uuid.New()
	}
	return users
}

func TestRollupMatchesRawEvents(t *testing.T) {
	f := newFixture(t, day.Add(27*time.Hour))
	contoso, fabrikam := f.organization("org_contoso"), f.organization("org_fabrikam")
	handbook := f.createDocument(contoso, "handbook.pdf")
	expenses := f.createDocument(contoso, "expenses.docx")
	contosoUsers := newUsers(6)
	contosoEvents := scriptedDay(contoso, day, contosoUsers, []uuid.UUID{handbook, expenses}, 1)
	fabrikamEvents := scriptedDay(fabrikam, day, newUsers(2), []uuid.UUID{uuid.New()}, 2)
	f.record(append(contosoEvents, fabrikamEvents...)...)

	jobs := f.scheduleAndRun()
	if len(jobs) == 0 {
		t.Fatal("the scheduler enqueued no jobs")
	}

	// Every metric of the daily rollup equals the same aggregate computed
	// directly from the raw events.
	checks := []struct {
		metric, dimension, raw string
	}{
		{"events:message_answered", "", `SELECT count(*) FROM usage_events WHERE org_id = $1 AND type = 'message_answered'`},
		{"events:sign_in", "", `SELECT count(*) FROM usage_events WHERE org_id = $1 AND type = 'sign_in'`},
		{"events:conversation_started", "", `SELECT count(*) FROM usage_events WHERE org_id = $1 AND type = 'conversation_started'`},
		{"events:search", "", `SELECT count(*) FROM usage_events WHERE org_id = $1 AND type = 'search'`},
		{"events:document_failed", "", `SELECT count(*) FROM usage_events WHERE org_id = $1 AND type = 'document_failed'`},
		{"prompt_tokens", "gpt-4o", `SELECT sum(prompt_tokens) FROM usage_events WHERE org_id = $1 AND model = 'gpt-4o'`},
		{"completion_tokens", "gpt-4o-mini", `SELECT sum(completion_tokens) FROM usage_events WHERE org_id = $1 AND model = 'gpt-4o-mini'`},
		{"feedback", "up", `SELECT count(*) FROM usage_events WHERE org_id = $1 AND feedback_score = 1`},
		{"feedback", "down", `SELECT count(*) FROM usage_events WHERE org_id = $1 AND feedback_score = -1`},
		{"citations", handbook.String(), `SELECT count(*) FROM usage_events, unnest(document_ids) d WHERE org_id = $1 AND type = 'message_answered' AND d = '` + handbook.String() + `'`},
		{"pages", "", `SELECT sum(pages) FROM usage_events WHERE org_id = $1 AND type = 'document_ready'`},
	}
	for _, check := range checks {
		want := f.ownerInt(check.raw, contoso)
		got := f.ownerInt(`SELECT coalesce(sum(value), 0)::bigint FROM analytics_rollups
			WHERE org_id = $1 AND granularity = 'day' AND window_start = $2 AND metric = $3 AND dimension = $4`,
			contoso, day, check.metric, check.dimension)
		if got != want || want == 0 {
			t.Errorf("%s %s: day rollup %d, raw events %d (want equal and non-zero)", check.metric, check.dimension, got, want)
		}
	}
	hourlySum := f.ownerInt(`SELECT sum(value)::bigint FROM analytics_rollups WHERE org_id = $1 AND granularity = 'hour'`, contoso)
	dailySum := f.ownerInt(`SELECT sum(value)::bigint FROM analytics_rollups WHERE org_id = $1 AND granularity = 'day'`, contoso)
	if hourlySum != dailySum {
		t.Errorf("hourly rollups sum to %d, daily to %d", hourlySum, dailySum)
	}

	// The report agrees with counts computed from the scripted events.
	report := f.report(contoso, day, day.AddDate(0, 0, 1), analytics.GranularityDay)
	var messages, conversations, promptTokens, ready int64
	var latencies []int
	for _, e := range contosoEvents {
		switch e.Type {
		case analytics.EventMessageAnswered:
			messages++
			promptTokens += int64(e.PromptTokens)
			latencies = append(latencies, e.LatencyMS)
		case analytics.EventConversationStarted:
			conversations++
		case analytics.EventDocumentReady:
			ready++
		}
	}
	totals := report.Totals
	if totals.Messages != messages || totals.Conversations != conversations || totals.PromptTokens != promptTokens || totals.DocumentsIngested != ready {
		t.Errorf("report messages %d, conversations %d, prompt tokens %d, documents %d; events have %d, %d, %d, %d",
			totals.Messages, totals.Conversations, totals.PromptTokens, totals.DocumentsIngested, messages, conversations, promptTokens, ready)
	}
	if totals.DocumentsFailed != 1 {
		t.Errorf("documents failed = %d, want 1", totals.DocumentsFailed)
	}
	if totals.ActiveUsers == nil || *totals.ActiveUsers != int64(len(contosoUsers)) {
		t.Errorf("active users = %v, want %d", totals.ActiveUsers, len(contosoUsers))
	}
	if len(report.Series) != 1 || report.Series[0].Messages != messages {
		t.Errorf("series = %+v, want one day with %d messages", report.Series, messages)
	}

	// Each percentile estimate lies in the histogram bucket of the exact
	// percentile of the raw latencies.
	slices.Sort(latencies)
	for _, c := range []struct {
		name     string
		q        float64
		estimate *float64
	}{{"p50", 0.50, totals.LatencyP50MS}, {"p95", 0.95, totals.LatencyP95MS}} {
		exact := latencies[int(c.q*float64(len(latencies)-1)+0.5)]
		if c.estimate == nil {
			t.Errorf("%s is missing", c.name)
			continue
		}
		low, high := bucketOf(exact)
		if *c.estimate < low || *c.estimate > high {
			t.Errorf("%s estimate %.0f ms outside [%.0f, %.0f], the bucket of the exact %d ms", c.name, *c.estimate, low, high, exact)
		}
	}

	if len(report.TopDocuments) == 0 || report.TopDocuments[0].DocumentID != handbook || report.TopDocuments[0].Filename != "handbook.pdf" {
		t.Errorf("top documents = %+v, want handbook.pdf first", report.TopDocuments)
	}

	// The other organization's events stay out of this organization's
	// rollups, and its own rollups exist.
	fabrikamReport := f.report(fabrikam, day, day.AddDate(0, 0, 1), analytics.GranularityDay)
	if *fabrikamReport.Totals.ActiveUsers != 2 {
		t.Errorf("fabrikam active users = %d, want 2", *fabrikamReport.Totals.ActiveUsers)
	}
}

// bucketOf returns the histogram bucket holding ms.
func bucketOf(ms int) (low, high float64) {
	for _, bound := range analytics.LatencyBucketsMS {
		if ms < int(bound) {
			return low, float64(bound)
		}
		low = float64(bound)
	}
	return low, low
}

func TestRollupRerunGivesSameRows(t *testing.T) {
	// The clock stays inside the lateness window, so every hour is
	// recomputed on the second run instead of skipped as final.
	f := newFixture(t, day.Add(23*time.Hour+30*time.Minute))
	orgID := f.organization("org_contoso")
	var events []analytics.Event
	for _, e := range scriptedDay(orgID, day, newUsers(3), []uuid.UUID{uuid.New()}, 3) {
		if e.OccurredAt.Before(day.Add(23 * time.Hour)) {
			e.OccurredAt = day.Add(22*time.Hour + time.Duration(e.OccurredAt.Minute())*time.Minute)
		}
		events = append(events, e)
	}
	f.record(events...)

	first := f.scheduleAndRun()
	before := f.rollupRows(orgID)
	second := f.scheduleAndRun()
	after := f.rollupRows(orgID)

	if len(second) != len(first) || len(second) == 0 {
		t.Errorf("second run computed %d jobs, first %d", len(second), len(first))
	}
	if before == "[]" {
		t.Fatal("the first run wrote no rollups")
	}
	if after != before {
		t.Errorf("rollups changed on rerun:\nfirst  %s\nsecond %s", before, after)
	}
}

func TestRollupCountsLateEvents(t *testing.T) {
	hour := day.Add(11 * time.Hour)
	f := newFixture(t, hour.Add(70*time.Minute))
	orgID := f.organization("org_contoso")
	user := uuid.New()
	f.record(
		analytics.Event{OrgID: orgID, UserID: user, Type: analytics.EventSearch, OccurredAt: hour.Add(10 * time.Minute)},
		analytics.Event{OrgID: orgID, UserID: user, Type: analytics.EventSearch, OccurredAt: hour.Add(20 * time.Minute)},
	)
	f.scheduleAndRun()
	searches := func() int64 {
		return f.report(orgID, hour, hour.Add(time.Hour), analytics.GranularityHour).Totals.Searches
	}
	if got := searches(); got != 2 {
		t.Fatalf("searches = %d before the late event, want 2", got)
	}

	// An event of 11:30 arrives at 12:40, within the lateness window: the
	// next run recomputes the hour.
	f.clock.Set(hour.Add(100 * time.Minute))
	f.record(analytics.Event{OrgID: orgID, UserID: user, Type: analytics.EventSearch, OccurredAt: hour.Add(30 * time.Minute)})
	jobs := f.scheduleAndRun()
	if !slices.ContainsFunc(jobs, func(j analytics.Job) bool { return j.WindowStart.Equal(hour) }) {
		t.Fatalf("jobs %v do not include the hour %s", jobs, hour)
	}
	if got := searches(); got != 3 {
		t.Errorf("searches = %d after the late event, want 3", got)
	}

	// Once the lateness window has passed the hour is final and the
	// watermark moves past it; an event arriving later is not counted.
	f.clock.Set(hour.Add(time.Hour + analytics.LatenessDefault + 5*time.Minute))
	f.scheduleAndRun()
	watermark := f.watermark(orgID)
	if watermark.Before(hour.Add(time.Hour)) {
		t.Fatalf("watermark %s did not pass the final hour %s", watermark, hour)
	}
	f.record(analytics.Event{OrgID: orgID, UserID: user, Type: analytics.EventSearch, OccurredAt: hour.Add(40 * time.Minute)})
	result, err := f.rollup.Run(context.Background(), analytics.Job{OrgID: orgID, WindowStart: hour})
	if err != nil {
		t.Fatal(err)
	}
	if !result.Skipped {
		t.Error("a job for a final hour was recomputed")
	}
	f.scheduleAndRun()
	if got := searches(); got != 3 {
		t.Errorf("searches = %d after an event past the lateness window, want 3", got)
	}
}

func (f *fixture) watermark(orgID uuid.UUID) time.Time {
	f.t.Helper()
	var watermark time.Time
	err := f.store.InOrg(context.Background(), orgID, func(tx pgx.Tx) error {
		var err error
		watermark, err = store.AnalyticsWatermark(context.Background(), tx, orgID)
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return watermark
}

func TestRollupCatchesUpAfterDowntime(t *testing.T) {
	f := newFixture(t, day.Add(90*time.Minute))
	orgID := f.organization("org_contoso")
	user := uuid.New()
	var events []analytics.Event
	for hour := range 4 * 24 {
		events = append(events, analytics.Event{OrgID: orgID, UserID: user, Type: analytics.EventMessageAnswered,
			OccurredAt: day.Add(time.Duration(hour)*time.Hour + 15*time.Minute), Model: "gpt-4o", PromptTokens: 100, LatencyMS: 900})
	}
	f.record(events...)
	f.scheduleAndRun()

	// The scheduler stops for three days; its next run enqueues every hour
	// since the watermark, and the jobs bring every day up to date.
	f.clock.Set(day.Add(4*24*time.Hour + 5*time.Minute))
	watermark := f.watermark(orgID)
	jobs := f.scheduleAndRun()
	wantJobs := int(day.Add(4*24*time.Hour).Sub(watermark)/time.Hour) + 1
	if len(jobs) != wantJobs {
		t.Errorf("catch-up enqueued %d jobs, want %d (from %s to the current hour)", len(jobs), wantJobs, watermark)
	}
	if got, want := f.watermark(orgID), day.Add(4*24*time.Hour-analytics.LatenessDefault); !got.Equal(want) {
		t.Errorf("watermark = %s, want %s", got, want)
	}
	report := f.report(orgID, day, day.AddDate(0, 0, 4), analytics.GranularityDay)
	for _, point := range report.Series {
		if point.Messages != 24 || point.PromptTokens != 2400 {
			t.Errorf("day %s: %d messages, %d prompt tokens; want 24 and 2400", point.Start.Format(time.DateOnly), point.Messages, point.PromptTokens)
		}
	}

	// A backlog longer than MaxWindowsPerOrg is enqueued oldest first, a
	// bounded number per run.
	f.rollup.MaxWindowsPerOrg = 5
	f.clock.Set(day.Add(9 * 24 * time.Hour))
	pending, err := f.rollup.PendingJobs(context.Background(), orgID)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 5 || !pending[0].WindowStart.Equal(f.watermark(orgID)) {
		t.Errorf("pending jobs = %v, want 5 starting at the watermark", pending)
	}
}

func TestActiveUsersExactAcrossWeekAndMonth(t *testing.T) {
	saturday := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	f := newFixture(t, saturday.AddDate(0, 0, 5))
	orgID := f.organization("org_contoso")
	u1, u2, u3, u4 := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	active := map[int][]uuid.UUID{
		0: {u1},         // Saturday 28 November
		1: {u2},         // Sunday 29 November
		2: {u1, u3},     // Monday 30 November: a new week
		3: {u3, u4, u1}, // Tuesday 1 December: a new month
	}
	var events []analytics.Event
	for offset, users := range active {
		for _, user := range users {
			// Two events per user and day: a user counts once.
			for range 2 {
				events = append(events, analytics.Event{OrgID: orgID, UserID: user, Type: analytics.EventSearch, OccurredAt: saturday.AddDate(0, 0, offset)})
			}
		}
	}
	// Ingestion events do not make a user active.
	events = append(events, analytics.Event{OrgID: orgID, UserID: uuid.New(), Type: analytics.EventDocumentReady, OccurredAt: saturday})
	f.record(events...)
	f.scheduleAndRun()

	from := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	report := f.report(orgID, from, from.AddDate(0, 0, 4), analytics.GranularityDay)
	check := func(name string, got []analytics.PeriodCount, want []int64) {
		t.Helper()
		var users []int64
		for _, c := range got {
			users = append(users, c.Users)
		}
		if !slices.Equal(users, want) {
			t.Errorf("%s active users = %v, want %v", name, users, want)
		}
	}
	check("daily", report.ActiveUsers.Daily, []int64{1, 1, 2, 3})
	check("weekly", report.ActiveUsers.Weekly, []int64{2, 3})
	check("monthly", report.ActiveUsers.Monthly, []int64{3, 3})
	if *report.Totals.ActiveUsers != 4 {
		t.Errorf("active users over the period = %d, want 4", *report.Totals.ActiveUsers)
	}
	if len(report.ActiveUsers.Weekly) == 2 && !report.ActiveUsers.Weekly[1].Start.Equal(time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("second week starts %s, want Monday 30 November", report.ActiveUsers.Weekly[1].Start)
	}

	weekly := f.report(orgID, time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC), analytics.GranularityWeek)
	var series []int64
	for _, point := range weekly.Series {
		series = append(series, *point.ActiveUsers)
	}
	if !slices.Equal(series, []int64{2, 3}) {
		t.Errorf("weekly series active users = %v, want [2 3]", series)
	}
}

func TestRetentionDeletesRolledUpEvents(t *testing.T) {
	now := day.Add(10 * 24 * time.Hour)
	f := newFixture(t, now)
	short, standard := f.organization("org_short"), f.organization("org_standard")
	admin, err := f.store.EnsureUser(context.Background(), "user_admin")
	if err != nil {
		t.Fatal(err)
	}
	err = f.store.InOrg(context.Background(), short, func(tx pgx.Tx) error {
		_, err := store.PutOrganizationSettings(context.Background(), tx, short, admin, []byte(`{"retention_days": 2}`), 0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, orgID := range []uuid.UUID{short, standard} {
		f.record(
			analytics.Event{OrgID: orgID, UserID: admin, Type: analytics.EventSearch, OccurredAt: now.AddDate(0, 0, -5)},
			analytics.Event{OrgID: orgID, UserID: admin, Type: analytics.EventSearch, OccurredAt: now.Add(-time.Hour)},
		)
	}
	f.scheduleAndRun()

	if got := f.ownerInt(`SELECT count(*) FROM usage_events WHERE org_id = $1`, short); got != 1 {
		t.Errorf("organization with 2-day retention keeps %d events, want 1 (the recent one)", got)
	}
	if got := f.ownerInt(`SELECT count(*) FROM usage_events WHERE org_id = $1`, standard); got != 2 {
		t.Errorf("organization with the default retention keeps %d events, want 2", got)
	}
	// The deleted event stays counted in its rollup.
	report := f.report(short, now.AddDate(0, 0, -6), now.AddDate(0, 0, 1), analytics.GranularityDay)
	if report.Totals.Searches != 2 {
		t.Errorf("searches = %d after retention, want 2", report.Totals.Searches)
	}
}
