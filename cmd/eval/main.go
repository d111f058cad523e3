// Command eval measures answer quality through a running platform: for each
// question of a JSON Lines file it runs a search and asks the question in a
// new conversation, then prints the retrieval hit rate at 1, 3 and 5, the
// share of answers that cite the expected file and page, the share that
// contain the expected phrase, and answer latency percentiles.
//
// Each line of the file is {"question", "file", "page" (null for formats
// without pages), "answer_contains"}.
//
// Usage: eval FILE.jsonl [-base-url URL] [-token TOKEN] [-stream]
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"
)

// Defaults.
const (
	baseURLDefault = "http://127.0.0.1:7071"
	timeoutDefault = 2 * time.Minute
	searchTopK     = 5
)

type options struct {
	file    string
	baseURL string
	token   string
	stream  bool
	timeout time.Duration
}

func main() {
	opts, err := parseOptions(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "eval:", err)
		os.Exit(2)
	}
	questions, err := readQuestions(opts.file)
	if err != nil {
		fmt.Fprintln(os.Stderr, "eval:", err)
		os.Exit(1)
	}
	client := &apiClient{baseURL: strings.TrimRight(opts.baseURL, "/"), token: opts.token, http: &http.Client{Timeout: opts.timeout}}
	results, err := evaluate(context.Background(), client, questions, opts.stream)
	if err != nil {
		fmt.Fprintln(os.Stderr, "eval:", err)
		os.Exit(1)
	}
	printReport(os.Stdout, questions, results, opts, client.rateLimitWaits)
}

// parseOptions reads the flags, which may come before or after FILE.
func parseOptions(args []string) (options, error) {
	var opts options
	flags := flag.NewFlagSet("eval", flag.ContinueOnError)
	flags.StringVar(&opts.baseURL, "base-url", baseURLDefault, "base URL of the running platform")
	flags.StringVar(&opts.token, "token", os.Getenv("BONDINGAI_TOKEN"), "access token (default $BONDINGAI_TOKEN)")
	flags.BoolVar(&opts.stream, "stream", false, "ask with Accept: text/event-stream and read the answer as Server-Sent Events")
	flags.DurationVar(&opts.timeout, "timeout", timeoutDefault, "time limit of one HTTP request")
	flags.Usage = func() {
		fmt.Fprintln(flags.Output(), "Usage: eval FILE.jsonl [-base-url URL] [-token TOKEN] [-stream] [-timeout 2m]")
		flags.PrintDefaults()
	}

	var positional []string
	for len(args) > 0 {
		if err := flags.Parse(args); err != nil {
			return opts, err
		}
		args = flags.Args()
		if len(args) > 0 {
			positional = append(positional, args[0])
			args = args[1:]
		}
	}
	switch {
	case len(positional) != 1:
		flags.Usage()
		return opts, errors.New("give exactly one questions file")
	case opts.token == "":
		return opts, errors.New("missing access token: pass -token or set BONDINGAI_TOKEN (scripts/eval gets one from scripts/dev-token)")
	}
	opts.file = positional[0]
	return opts, nil
}

// question is one line of the questions file.
type question struct {
	Question       string `json:"question"`
	File           string `json:"file"`
	Page           *int   `json:"page"`
	AnswerContains string `json:"answer_contains"`
}

func readQuestions(path string) ([]question, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open questions: %w", err)
	}
	defer f.Close()
	var questions []question
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; scanner.Scan(); line++ {
		if strings.TrimSpace(scanner.Text()) == "" {
			continue
		}
		var q question
		if err := json.Unmarshal(scanner.Bytes(), &q); err != nil {
			return nil, fmt.Errorf("%s line %d: invalid JSON: %w", path, line, err)
		}
		if q.Question == "" || q.File == "" {
			return nil, fmt.Errorf("%s line %d: question and file are required", path, line)
		}
		questions = append(questions, q)
	}
	if err := scanner.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(questions) == 0 {
		return nil, fmt.Errorf("%s has no questions", path)
	}
	return questions, nil
}

// result is the outcome of one question.
type result struct {
	// rank is the 1-based position of the expected file and page in the
	// search results, 0 when absent from the top searchTopK.
	rank           int
	citedExpected  bool
	containsAnswer bool
	latency        time.Duration
	citations      []string
}

func evaluate(ctx context.Context, client *apiClient, questions []question, stream bool) ([]result, error) {
	results := make([]result, 0, len(questions))
	for _, q := range questions {
		var r result
		found, err := client.search(ctx, q.Question, searchTopK)
		if err != nil {
			return nil, err
		}
		for i, hit := range found {
			if hit.Filename == q.File && samePage(hit.Page, q.Page) {
				r.rank = i + 1
				break
			}
		}

		conversationID, err := client.createConversation(ctx, "eval: "+q.Question)
		if err != nil {
			return nil, err
		}
		answer, latency, err := client.ask(ctx, conversationID, q.Question, stream)
		if err != nil {
			return nil, err
		}
		r.latency = latency
		r.containsAnswer = strings.Contains(answer.Message.Content, q.AnswerContains)
		for _, c := range answer.Citations {
			r.citations = append(r.citations, fmt.Sprintf("%s p%s", c.Filename, pageText(c.Page)))
			if c.Filename == q.File && samePage(c.Page, q.Page) {
				r.citedExpected = true
			}
		}
		results = append(results, r)
	}
	return results, nil
}

func samePage(a, b *int) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}

func pageText(page *int) string {
	if page == nil {
		return "-"
	}
	return fmt.Sprint(*page)
}

func printReport(w io.Writer, questions []question, results []result, opts options, waits int) {
	mode := "JSON"
	if opts.stream {
		mode = "Server-Sent Events"
	}
	fmt.Fprintf(w, "Evaluation of %d questions from %s against %s (%s)\n\n", len(questions), opts.file, opts.baseURL, mode)
	fmt.Fprintln(w, "| question | expected | search rank | cited | answer phrase | latency | citations |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	for i, q := range questions {
		r := results[i]
		rank := "-"
		if r.rank > 0 {
			rank = fmt.Sprint(r.rank)
		}
		fmt.Fprintf(w, "| %s | %s p%s | %s | %s | %s | %d ms | %s |\n", q.Question, q.File, pageText(q.Page), rank,
			yesNo(r.citedExpected), yesNo(r.containsAnswer), r.latency.Milliseconds(), strings.Join(r.citations, ", "))
	}

	hitsAt := func(k int) int {
		hits := 0
		for _, r := range results {
			if r.rank > 0 && r.rank <= k {
				hits++
			}
		}
		return hits
	}
	count := func(keep func(result) bool) int {
		n := 0
		for _, r := range results {
			if keep(r) {
				n++
			}
		}
		return n
	}
	latencies := make([]time.Duration, 0, len(results))
	for _, r := range results {
		latencies = append(latencies, r.latency)
	}

	fmt.Fprintln(w)
	fmt.Fprintln(w, "| metric | value |")
	fmt.Fprintln(w, "|---|---|")
	for _, k := range []int{1, 3, 5} {
		fmt.Fprintf(w, "| retrieval hit rate at %d | %s |\n", k, share(hitsAt(k), len(results)))
	}
	fmt.Fprintf(w, "| answers citing the expected file and page | %s |\n", share(count(func(r result) bool { return r.citedExpected }), len(results)))
	fmt.Fprintf(w, "| answers containing answer_contains | %s |\n", share(count(func(r result) bool { return r.containsAnswer }), len(results)))
	fmt.Fprintf(w, "| answer latency p50 | %d ms |\n", percentile(latencies, 50).Milliseconds())
	fmt.Fprintf(w, "| answer latency p95 | %d ms |\n", percentile(latencies, 95).Milliseconds())
	if waits > 0 {
		fmt.Fprintf(w, "\nWaited out %d rate-limit responses (429); latency leaves the waits out.\n", waits)
	}
}

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "no"
}

func share(n, total int) string {
	return fmt.Sprintf("%d/%d (%.0f%%)", n, total, 100*float64(n)/float64(total))
}

// percentile returns the p-th percentile by the nearest-rank method.
func percentile(values []time.Duration, p int) time.Duration {
	if len(values) == 0 {
		return 0
	}
	sorted := slices.Clone(values)
	slices.Sort(sorted)
	rank := (p*len(sorted) + 99) / 100
	return sorted[max(rank, 1)-1]
}
