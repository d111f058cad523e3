// Command boundary-report prints the platform's data classification table
// filled in from a run. For each category of data it shows where the data
// is stored and how much there is, which destinations the egress audit
// shows it reached, and the bytes sent per destination class. The last
// column says whether the data left the customer's cloud.
// scripts/boundary-report runs it against the dev stack.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// category is one row of the data classification.
type category struct {
	name     string
	examples string
	storage  string
	// inventory counts what the platform stores; it runs as the schema
	// owner, which row-level security does not filter.
	inventory string
	// paths selects the audited requests that carry this category.
	destination string
	paths       *regexp.Regexp
}

var categories = []category{
	{"Chat Content", "Messages, AI responses, conversation history", "Customer PostgreSQL",
		`SELECT format('messages: %s, bytes: %s', count(*), coalesce(sum(octet_length(content)), 0)) FROM messages`,
		"", regexp.MustCompile(`/chat/completions$`)},
	{"Documents", "Uploaded files, PDFs, knowledge base", "Customer Azure Blob",
		`SELECT format('documents: %s, bytes: %s', count(*), coalesce(sum(size_bytes), 0)) FROM documents`,
		"blob-storage", nil},
	{"Embeddings", "Vector representations, RAG data", "Customer PGVector",
		`SELECT format('chunks with vectors: %s', count(*)) FROM chunks WHERE embedding IS NOT NULL`,
		"", regexp.MustCompile(`/embeddings$`)},
	{"Analytics", "Usage metrics, KPIs, dashboards", "Customer PostgreSQL",
		`SELECT format('usage events: %s, rollup rows: %s', (SELECT count(*) FROM usage_events), (SELECT count(*) FROM analytics_rollups))`,
		"", nil},
	{"Company Data", "Organizations, domains, configurations", "Customer PostgreSQL",
		`SELECT format('organizations: %s, domains: %s, settings: %s', (SELECT count(*) FROM organizations), (SELECT count(*) FROM organization_domains), (SELECT count(*) FROM organization_settings))`,
		"", nil},
	{"User Identity", "Email, name, organization membership", "WorkOS (mirrored in customer PostgreSQL)",
		`SELECT format('mirrored users: %s, memberships: %s, directory users: %s', (SELECT count(*) FROM users), (SELECT count(*) FROM organization_memberships), (SELECT count(*) FROM directory_users))`,
		"workos", regexp.MustCompile(`^/(user_management/(users|organization_memberships)|organizations|Organizations|directories|directory_users|directory_groups|events)`)},
	{"SSO Config", "SAML/OIDC provider settings", "WorkOS",
		``, "workos", regexp.MustCompile(`^/portal/`)},
	{"Access Tokens", "JWT tokens for session management", "WorkOS (sealed session cookie in the browser)",
		`SELECT format('refresh coordination rows: %s', count(*)) FROM session_refreshes`,
		"workos", regexp.MustCompile(`^/(user_management/(authorize|authenticate|sessions/)|sso/jwks/)`)},
}

type auditRow struct {
	destination string
	class       string
	outside     bool
	path        string
	requests    int64
	bytesSent   int64
}

func main() {
	databaseURL := flag.String("database-url", os.Getenv("DATABASE_MIGRATION_URL"), "PostgreSQL URL of the schema owner (row-level security does not hide rows from it)")
	since := flag.Duration("since", 0, "report only the audit of this last period, such as 24h; 0 reports all of it")
	flag.Parse()
	if err := run(context.Background(), *databaseURL, *since); err != nil {
		fmt.Fprintln(os.Stderr, "boundary-report:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, databaseURL string, since time.Duration) error {
	if databaseURL == "" {
		return fmt.Errorf("-database-url is missing (scripts/boundary-report passes the dev stack's)")
	}
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)

	from := time.Time{}
	if since > 0 {
		from = time.Now().Add(-since)
	}
	rows, err := conn.Query(ctx, `SELECT destination, class, bool_or(outside_customer_cloud), path_template, count(*), sum(bytes_sent)
		FROM egress_audit WHERE occurred_at >= $1 GROUP BY destination, class, path_template`, from)
	if err != nil {
		return fmt.Errorf("read the egress audit: %w", err)
	}
	audit, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (auditRow, error) {
		var a auditRow
		err := row.Scan(&a.destination, &a.class, &a.outside, &a.path, &a.requests, &a.bytesSent)
		return a, err
	})
	if err != nil {
		return fmt.Errorf("read the egress audit: %w", err)
	}

	fmt.Println("| Data Category | Examples | Storage Location | Stored in this run | Destinations reached | Bytes sent per destination class | Leaves Customer Cloud |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for _, c := range categories {
		stored := "kept by WorkOS"
		if c.inventory != "" {
			if err := conn.QueryRow(ctx, c.inventory).Scan(&stored); err != nil {
				return fmt.Errorf("count %s: %w", c.name, err)
			}
		}
		reached, bytesByClass, leaves := summarize(c, audit)
		fmt.Printf("| %s | %s | %s | %s | %s | %s | %s |\n", c.name, c.examples, c.storage, stored, reached, bytesByClass, leaves)
	}

	outsideTotal, outsideIdentity := int64(0), int64(0)
	for _, a := range audit {
		if a.outside {
			outsideTotal += a.requests
			if a.class == "identity" {
				outsideIdentity += a.requests
			}
		}
	}
	fmt.Printf("\nRequests that left the customer's cloud: %d; identity requests among them: %d.\n", outsideTotal, outsideIdentity)
	return nil
}

// summarize returns the destinations a category reached, its bytes per
// class and whether it left the customer's cloud.
func summarize(c category, audit []auditRow) (string, string, string) {
	destinations := map[string]int64{}
	bytesByClass := map[string]int64{}
	leftCloud, nonIdentityOutside := false, false
	for _, a := range audit {
		if c.destination != "" && a.destination != c.destination {
			continue
		}
		if c.paths != nil && !c.paths.MatchString(a.path) {
			continue
		}
		if c.destination == "" && c.paths == nil {
			continue
		}
		destinations[a.destination+" ("+a.class+")"] += a.requests
		bytesByClass[a.class] += a.bytesSent
		if a.outside {
			leftCloud = true
			nonIdentityOutside = nonIdentityOutside || a.class != "identity"
		}
	}

	reached := "none"
	if len(destinations) > 0 {
		var parts []string
		for name, n := range destinations {
			parts = append(parts, fmt.Sprintf("%s, requests: %d", name, n))
		}
		sort.Strings(parts)
		reached = strings.Join(parts, "; ")
	}
	bytes := "0"
	if len(bytesByClass) > 0 {
		var parts []string
		for class, n := range bytesByClass {
			parts = append(parts, fmt.Sprintf("%s %d B", class, n))
		}
		sort.Strings(parts)
		bytes = strings.Join(parts, ", ")
	}
	leaves := "No"
	switch {
	case len(destinations) == 0 && c.destination == "workos":
		leaves = "No request in this run"
	case nonIdentityOutside:
		leaves = "YES: NOT IDENTITY TRAFFIC"
	case leftCloud:
		leaves = "Yes (auth only)"
	}
	return reached, bytes, leaves
}
