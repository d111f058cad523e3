package analytics

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bondingai/platform/shared/config"
	"github.com/bondingai/platform/shared/store"
)

// Granularity is the width of one point of a KPI series.
type Granularity string

// Granularities of the KPI API. Weeks start on Monday, UTC.
const (
	GranularityHour Granularity = "hour"
	GranularityDay  Granularity = "day"
	GranularityWeek Granularity = "week"
)

// MaxRange is the longest period one KPI request may cover per
// granularity, which bounds a series to at most a few hundred points.
var MaxRange = map[Granularity]time.Duration{
	GranularityHour: 7 * 24 * time.Hour,
	GranularityDay:  366 * 24 * time.Hour,
	GranularityWeek: 2 * 366 * 24 * time.Hour,
}

// DefaultRange is the period a KPI request without from covers.
const DefaultRange = 30 * 24 * time.Hour

// topDocumentsLimit is the number of most-cited documents a report lists.
const topDocumentsLimit = 10

// Query is a validated KPI request: the half-open period [From, To),
// aligned to whole granularity windows.
type Query struct {
	From        time.Time
	To          time.Time
	Granularity Granularity
}

// QueryError is an invalid KPI request parameter; its message is meant for
// the caller.
type QueryError struct {
	Parameter string
	Message   string
}

func (e *QueryError) Error() string {
	return fmt.Sprintf("parameter %s: %s", e.Parameter, e.Message)
}

// ParseQuery validates the from, to and granularity parameters. from and to
// are RFC 3339 times or dates (YYYY-MM-DD, UTC); a to date includes that
// whole day. Without to the period ends now; without from it starts
// DefaultRange before to; granularity defaults to day. The period is then
// widened to whole windows of the granularity.
func ParseQuery(values url.Values, now time.Time) (Query, error) {
	q := Query{Granularity: GranularityDay}
	if g := values.Get("granularity"); g != "" {
		q.Granularity = Granularity(g)
		if _, ok := MaxRange[q.Granularity]; !ok {
			return Query{}, &QueryError{"granularity", fmt.Sprintf("invalid value %q: want hour, day or week", g)}
		}
	}

	q.To = now.UTC()
	if v := values.Get("to"); v != "" {
		to, isDate, err := parseTime(v)
		if err != nil {
			return Query{}, &QueryError{"to", err.Error()}
		}
		if isDate {
			to = to.AddDate(0, 0, 1)
		}
		q.To = to
	}
	q.From = q.To.Add(-DefaultRange)
	if v := values.Get("from"); v != "" {
		from, _, err := parseTime(v)
		if err != nil {
			return Query{}, &QueryError{"from", err.Error()}
		}
		q.From = from
	}
	if !q.From.Before(q.To) {
		return Query{}, &QueryError{"from", "must be before to"}
	}

	q.From = windowStart(q.From, q.Granularity)
	if end := windowStart(q.To, q.Granularity); end.Before(q.To) {
		q.To = nextWindow(end, q.Granularity)
	}
	if maxRange := MaxRange[q.Granularity]; q.To.Sub(q.From) > maxRange {
		return Query{}, &QueryError{"from", fmt.Sprintf("the period from %s to %s is longer than %d days, the maximum for granularity %s",
			q.From.Format(time.RFC3339), q.To.Format(time.RFC3339), int(maxRange.Hours()/24), q.Granularity)}
	}
	return q, nil
}

func parseTime(value string) (t time.Time, isDate bool, err error) {
	if t, err := time.Parse(time.DateOnly, value); err == nil {
		return t, true, nil
	}
	t, err = time.Parse(time.RFC3339, value)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("invalid time %q: want RFC 3339 (2026-12-01T00:00:00Z) or a date (2026-12-01)", value)
	}
	return t.UTC(), false, nil
}

// windowStart returns the start of the granularity window holding t.
func windowStart(t time.Time, g Granularity) time.Time {
	t = t.UTC()
	switch g {
	case GranularityHour:
		return t.Truncate(time.Hour)
	case GranularityWeek:
		day := t.Truncate(24 * time.Hour)
		// time.Weekday counts from Sunday; ISO weeks start on Monday.
		return day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
	default:
		return t.Truncate(24 * time.Hour)
	}
}

func nextWindow(start time.Time, g Granularity) time.Time {
	switch g {
	case GranularityHour:
		return start.Add(time.Hour)
	case GranularityWeek:
		return start.AddDate(0, 0, 7)
	default:
		return start.AddDate(0, 0, 1)
	}
}

// Metrics are the KPIs of one series point or of the whole period.
type Metrics struct {
	// ActiveUsers is the number of distinct users in the window; null for
	// hourly points, because active users are kept per day.
	ActiveUsers       *int64  `json:"active_users"`
	SignIns           int64   `json:"sign_ins"`
	Conversations     int64   `json:"conversations"`
	Messages          int64   `json:"messages"`
	Searches          int64   `json:"searches"`
	DocumentsUploaded int64   `json:"documents_uploaded"`
	DocumentsIngested int64   `json:"documents_ingested"`
	DocumentsFailed   int64   `json:"documents_failed"`
	PagesIngested     int64   `json:"pages_ingested"`
	ChunksIngested    int64   `json:"chunks_ingested"`
	PromptTokens      int64   `json:"prompt_tokens"`
	CompletionTokens  int64   `json:"completion_tokens"`
	EstimatedCost     float64 `json:"estimated_cost"`
	// LatencyP50MS and LatencyP95MS are estimated from the histogram
	// buckets by linear interpolation; null without answers.
	LatencyP50MS *float64 `json:"latency_p50_ms"`
	LatencyP95MS *float64 `json:"latency_p95_ms"`
	FeedbackUp   int64    `json:"feedback_up"`
	FeedbackDown int64    `json:"feedback_down"`
	// FeedbackScore is (up - down) / (up + down), from -1 to 1; null
	// without feedback.
	FeedbackScore *float64 `json:"feedback_score"`

	latency        map[string]int64
	tokensByModel  map[string]*ModelUsage
	unpricedModels map[string]bool
}

// ModelUsage is the token use of one chat model.
type ModelUsage struct {
	PromptTokens     int64   `json:"prompt_tokens"`
	CompletionTokens int64   `json:"completion_tokens"`
	EstimatedCost    float64 `json:"estimated_cost"`
	// Priced is false when ANALYTICS_PRICES has no price for the model,
	// whose cost then counts as zero.
	Priced bool `json:"priced"`
}

// Point is one window of a KPI series.
type Point struct {
	Start time.Time `json:"start"`
	Metrics
}

// ActiveUsers are exact distinct-user counts per UTC day, Monday-based
// week and month. A week or month cut by the report's period counts only
// the days inside it.
type ActiveUsers struct {
	Daily   []PeriodCount `json:"daily"`
	Weekly  []PeriodCount `json:"weekly"`
	Monthly []PeriodCount `json:"monthly"`
}

// PeriodCount is the number of active users of the period starting at
// Start.
type PeriodCount struct {
	Start time.Time `json:"start"`
	Users int64     `json:"users"`
}

// CitedDocument is a document and the number of times answers cited it.
type CitedDocument struct {
	DocumentID uuid.UUID `json:"document_id"`
	// Filename is empty when the document has been deleted.
	Filename  string `json:"filename"`
	Citations int64  `json:"citations"`
}

// Report is the KPI API response.
type Report struct {
	From          time.Time              `json:"from"`
	To            time.Time              `json:"to"`
	Granularity   Granularity            `json:"granularity"`
	Series        []Point                `json:"series"`
	Totals        Metrics                `json:"totals"`
	TokensByModel map[string]*ModelUsage `json:"tokens_by_model"`
	ActiveUsers   ActiveUsers            `json:"active_users"`
	TopDocuments  []CitedDocument        `json:"top_documents"`
}

// KPIs builds KPI reports from the rollups, never from raw events.
type KPIs struct {
	Store *store.Store
	// Prices maps a chat model name to its token prices, for the cost
	// estimate.
	Prices map[string]config.ModelPrice
}

// Report returns orgID's KPIs for q.
func (k *KPIs) Report(ctx context.Context, orgID uuid.UUID, q Query) (*Report, error) {
	rollupGranularity := "day"
	if q.Granularity == GranularityHour {
		rollupGranularity = "hour"
	}
	report := &Report{From: q.From, To: q.To, Granularity: q.Granularity, TopDocuments: []CitedDocument{}}

	var (
		rollups                []store.AnalyticsRollup
		daily, weekly, monthly []store.PeriodCount
		total                  int64
		cited                  []store.CitedDocument
	)
	err := k.Store.InOrg(ctx, orgID, func(tx pgx.Tx) error {
		var err error
		if rollups, err = store.ReadAnalyticsRollups(ctx, tx, orgID, rollupGranularity, q.From, q.To); err != nil {
			return err
		}
		// Active users are kept per day, so an hourly report counts the
		// days its hours touch.
		dayFrom, dayTo := windowStart(q.From, GranularityDay), q.To
		if end := windowStart(q.To, GranularityDay); end.Before(q.To) {
			dayTo = end.AddDate(0, 0, 1)
		}
		if daily, err = store.CountActiveUsers(ctx, tx, orgID, "day", dayFrom, dayTo); err != nil {
			return err
		}
		if weekly, err = store.CountActiveUsers(ctx, tx, orgID, "week", dayFrom, dayTo); err != nil {
			return err
		}
		if monthly, err = store.CountActiveUsers(ctx, tx, orgID, "month", dayFrom, dayTo); err != nil {
			return err
		}
		if total, err = store.CountDistinctActiveUsers(ctx, tx, orgID, dayFrom, dayTo); err != nil {
			return err
		}
		cited, err = store.CitedDocuments(ctx, tx, orgID, rollupGranularity, q.From, q.To, topDocumentsLimit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("build KPI report of organization %s: %w", orgID, err)
	}

	// One point per window, empty windows included, so charts show gaps.
	index := make(map[time.Time]int)
	for start := q.From; start.Before(q.To); start = nextWindow(start, q.Granularity) {
		index[start] = len(report.Series)
		report.Series = append(report.Series, Point{Start: start})
	}
	for _, row := range rollups {
		i, ok := index[windowStart(row.WindowStart, q.Granularity)]
		if !ok {
			continue
		}
		report.Series[i].add(row)
		report.Totals.add(row)
	}
	for i := range report.Series {
		report.Series[i].finish(k.Prices)
	}
	report.Totals.finish(k.Prices)
	report.TokensByModel = report.Totals.tokensByModel
	if report.TokensByModel == nil {
		report.TokensByModel = map[string]*ModelUsage{}
	}

	report.Totals.ActiveUsers = &total
	report.ActiveUsers = ActiveUsers{Daily: periodCounts(daily), Weekly: periodCounts(weekly), Monthly: periodCounts(monthly)}
	if q.Granularity != GranularityHour {
		perWindow := daily
		if q.Granularity == GranularityWeek {
			perWindow = weekly
		}
		for i := range report.Series {
			users := int64(0)
			report.Series[i].ActiveUsers = &users
		}
		for _, c := range perWindow {
			if i, ok := index[c.Start.UTC()]; ok {
				users := c.Count
				report.Series[i].ActiveUsers = &users
			}
		}
	}
	for _, d := range cited {
		report.TopDocuments = append(report.TopDocuments, CitedDocument{DocumentID: d.DocumentID, Filename: d.Filename, Citations: d.Citations})
	}
	return report, nil
}

func periodCounts(counts []store.PeriodCount) []PeriodCount {
	out := make([]PeriodCount, len(counts))
	for i, c := range counts {
		out[i] = PeriodCount{Start: c.Start.UTC(), Users: c.Count}
	}
	return out
}

func (m *Metrics) add(row store.AnalyticsRollup) {
	switch row.Metric {
	case "events:" + string(EventSignIn):
		m.SignIns += row.Value
	case "events:" + string(EventConversationStarted):
		m.Conversations += row.Value
	case "events:" + string(EventMessageAnswered):
		m.Messages += row.Value
	case "events:" + string(EventSearch):
		m.Searches += row.Value
	case "events:" + string(EventDocumentUploaded):
		m.DocumentsUploaded += row.Value
	case "events:" + string(EventDocumentReady):
		m.DocumentsIngested += row.Value
	case "events:" + string(EventDocumentFailed):
		m.DocumentsFailed += row.Value
	case "pages":
		m.PagesIngested += row.Value
	case "chunks":
		m.ChunksIngested += row.Value
	case "prompt_tokens", "completion_tokens":
		if m.tokensByModel == nil {
			m.tokensByModel = make(map[string]*ModelUsage)
		}
		usage := m.tokensByModel[row.Dimension]
		if usage == nil {
			usage = &ModelUsage{}
			m.tokensByModel[row.Dimension] = usage
		}
		if row.Metric == "prompt_tokens" {
			usage.PromptTokens += row.Value
			m.PromptTokens += row.Value
		} else {
			usage.CompletionTokens += row.Value
			m.CompletionTokens += row.Value
		}
	case "latency_ms_bucket":
		if m.latency == nil {
			m.latency = make(map[string]int64)
		}
		m.latency[row.Dimension] += row.Value
	case "feedback":
		if row.Dimension == "up" {
			m.FeedbackUp += row.Value
		} else {
			m.FeedbackDown += row.Value
		}
	}
}

func (m *Metrics) finish(prices map[string]config.ModelPrice) {
	for model, usage := range m.tokensByModel {
		price, ok := prices[model]
		usage.Priced = ok
		if ok {
			usage.EstimatedCost = float64(usage.PromptTokens)/1000*price.PromptPer1K + float64(usage.CompletionTokens)/1000*price.CompletionPer1K
			m.EstimatedCost += usage.EstimatedCost
		}
	}
	m.EstimatedCost = math.Round(m.EstimatedCost*1e6) / 1e6
	m.LatencyP50MS = LatencyQuantile(m.latency, 0.50)
	m.LatencyP95MS = LatencyQuantile(m.latency, 0.95)
	if votes := m.FeedbackUp + m.FeedbackDown; votes > 0 {
		score := float64(m.FeedbackUp-m.FeedbackDown) / float64(votes)
		m.FeedbackScore = &score
	}
}

// LatencyQuantile estimates the q-quantile (0 < q <= 1) of the answer
// latency from histogram bucket counts keyed by the rollup dimension (the
// bucket's upper bound in ms, or +Inf). It interpolates linearly inside
// the bucket that holds the quantile; in the last, unbounded bucket it
// returns that bucket's lower bound. It returns nil for an empty histogram.
func LatencyQuantile(buckets map[string]int64, q float64) *float64 {
	var total int64
	for _, count := range buckets {
		total += count
	}
	if total == 0 {
		return nil
	}
	bounds := slices.Clone(LatencyBucketsMS)
	target := q * float64(total)
	cumulative := 0.0
	lower := 0.0
	for _, bound := range bounds {
		count := float64(buckets[strconv.Itoa(int(bound))])
		if count > 0 && cumulative+count >= target {
			value := lower + (float64(bound)-lower)*(target-cumulative)/count
			return &value
		}
		cumulative += count
		lower = float64(bound)
	}
	value := lower
	return &value
}
