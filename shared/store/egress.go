package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// EgressRecord is one audited outbound request.
type EgressRecord struct {
	OccurredAt           time.Time
	Function             string
	Destination          string
	Class                string
	Host                 string
	Method               string
	PathTemplate         string
	BytesSent            int64
	BytesReceived        int64
	Status               int
	OutsideCustomerCloud bool
}

// InsertEgressRecords appends records to the egress audit with one COPY.
func (s *Store) InsertEgressRecords(ctx context.Context, records []EgressRecord) error {
	rows := make([][]any, len(records))
	for i, r := range records {
		rows[i] = []any{r.OccurredAt, r.Function, r.Destination, r.Class, r.Host, r.Method, r.PathTemplate,
			r.BytesSent, r.BytesReceived, r.Status, r.OutsideCustomerCloud}
	}
	_, err := s.pool.CopyFrom(ctx, pgx.Identifier{"egress_audit"},
		[]string{"occurred_at", "function_name", "destination", "class", "host", "method", "path_template",
			"bytes_sent", "bytes_received", "status", "outside_customer_cloud"},
		pgx.CopyFromRows(rows))
	if err != nil {
		return fmt.Errorf("insert %d egress audit records: %w", len(records), err)
	}
	return nil
}

// EgressSummary aggregates the audit for one destination, method and path.
type EgressSummary struct {
	Destination          string
	Class                string
	Host                 string
	OutsideCustomerCloud bool
	Method               string
	PathTemplate         string
	Requests             int64
	Failures             int64
	BytesSent            int64
	BytesReceived        int64
	First                time.Time
	Last                 time.Time
}

// SummarizeEgress returns the audit between from (inclusive) and to
// (exclusive) grouped by destination, method and path template.
func (s *Store) SummarizeEgress(ctx context.Context, from, to time.Time) ([]EgressSummary, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT destination, class, host, bool_or(outside_customer_cloud), method, path_template,
		       count(*), count(*) FILTER (WHERE status = 0 OR status >= 400),
		       sum(bytes_sent), sum(bytes_received), min(occurred_at), max(occurred_at)
		FROM egress_audit
		WHERE occurred_at >= $1 AND occurred_at < $2
		GROUP BY destination, class, host, method, path_template
		ORDER BY class, destination, method, path_template`, from, to)
	if err != nil {
		return nil, fmt.Errorf("summarize egress audit: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (EgressSummary, error) {
		var e EgressSummary
		err := row.Scan(&e.Destination, &e.Class, &e.Host, &e.OutsideCustomerCloud, &e.Method, &e.PathTemplate,
			&e.Requests, &e.Failures, &e.BytesSent, &e.BytesReceived, &e.First, &e.Last)
		return e, err
	})
}
