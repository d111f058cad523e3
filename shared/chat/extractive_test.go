package chat

import (
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/bondingai/platform/shared/retrieval"
)

// Passages as the chunker cuts the test handbook and expense policy.
var handbookPassages = []struct {
	page int
	text string
}{
	{1, "2. Standard Working Hours\nRegular Schedule:\n- Monday to Friday\n- 9:00 AM to 5:00 PM (including a one-hour unpaid lunch break)\nFlexibility:\nWhile we maintain standard business hours, occasional flexibility may be available with manager approval. Employees are expected to arrive on time.\nOvertime:\nNon-exempt employees must obtain manager approval before working any overtime hours."},
	{1, "Overtime:\nNon-exempt employees must obtain manager approval before working any overtime hours. Exempt employees are expected to manage their workload.\n3. Vacation (Paid Time Off)\nContoso provides every employee with 20 paid vacation days to support rest, well-being, and work–life balance.\nEligibility & Accrual\n- Vacation eligibility begins on your first day of employment."},
	{2, "- Vacation may only be taken after it is accrued.\nRequesting Vacation\n- Submit vacation requests through the company’s time-off system at least two weeks in advance.\n- Approved vacation time will be paid at your regular base hourly/salary rate.\nHolidays\nIn addition to vacation, Contoso observes a list of company holidays published at the start of each calendar year.\n4. Sick Leave"},
	{3, "Final Pay\nUnused, accrued vacation will be paid out in accordance with local regulations.\n8. Getting Assistance\nIf you have questions about any policy or process described in this handbook, contact:\n- Your Manager\n- Human Resources"},
	{0, "Expense Category | Limit | Guidelines\nMeals | $90 per meal | You should limit your meals to breakfast, lunch, and dinner, and choose reasonably priced restaurants or cafes. You should avoid any alcoholic beverages, or any excessive or lavish meals."},
	{0, "Contoso Corp. Expense Policy\nEmployees can claim reimbursement for reasonable expenses incurred in the performance of their duties.\nTo submit a claim, send an email to expenses@contoso.com with an itemized description of the expenses being claimed. Use the following guidelines for expenditure limits."},
}

func passageResults() []retrieval.Result {
	var results []retrieval.Result
	for _, p := range handbookPassages {
		r := retrieval.Result{ChunkID: uuid.New(), DocumentID: uuid.New(), Filename: "handbook.pdf", Text: p.text}
		if p.page > 0 {
			page := p.page
			r.Page = &page
		}
		results = append(results, r)
	}
	return results
}

func TestExtractiveAnswerContainsAnswer(t *testing.T) {
	cases := []struct {
		question, contains string
	}{
		{"What are the regular working hours?", "9:00 AM to 5:00 PM"},
		{"Do I need approval before working overtime?", "manager approval"},
		{"How many paid vacation days does every employee get?", "20"},
		{"How far in advance must vacation requests be submitted?", "two weeks"},
		{"What happens to unused vacation when I leave the company?", "paid out"},
		{"How much can I spend on a single meal?", "$90"},
		{"How do I submit an expense claim?", "expenses@contoso.com"},
	}
	for _, tc := range cases {
		t.Run(tc.question, func(t *testing.T) {
			sources := Supported(tc.question, passageResults())
			if len(sources) == 0 {
				t.Fatal("no passage supports the question")
			}
			answer := ExtractiveAnswer(tc.question, sources)
			if !strings.HasPrefix(answer, ExtractNotice) {
				t.Errorf("answer does not open with the extract notice: %q", answer)
			}
			if !strings.Contains(answer, tc.contains) {
				t.Errorf("answer lacks %q:\n%s", tc.contains, answer)
			}
			text, checker := check(sources, answer)
			if checker.Repaired+checker.Removed != 0 {
				t.Errorf("the extract carries markers that point nowhere: %q", answer)
			}
			if len(checker.Citations()) == 0 || !strings.Contains(text, "[1]") {
				t.Errorf("the extract cites nothing: %q", text)
			}
		})
	}
}

func TestExtractiveAnswerCitesSourceOfQuote(t *testing.T) {
	question := "What happens to unused vacation when I leave the company?"
	sources := Supported(question, passageResults())
	_, checker := check(sources, ExtractiveAnswer(question, sources))
	citations := checker.Citations()
	if len(citations) == 0 {
		t.Fatal("no citations")
	}
	if citations[0].Page == nil || *citations[0].Page != 3 {
		t.Errorf("first citation is page %v, want 3", citations[0].Page)
	}
	if !strings.Contains(citations[0].Quote, "paid out") {
		t.Errorf("quote %q lacks the answer", citations[0].Quote)
	}
}

func TestSupportedRejectsUnrelatedQuestion(t *testing.T) {
	for _, question := range []string{"What is the capital of France?", "Who won the football world cup in 2018?", "How do I bake sourdough bread?"} {
		if sources := Supported(question, passageResults()); len(sources) != 0 {
			t.Errorf("%q is supported by %d passages, want none", question, len(sources))
		}
	}
	if got := ExtractiveAnswer("anything", nil); got != NotSupportedAnswer {
		t.Errorf("extract without sources = %q, want the not-supported answer", got)
	}
}

func TestSupportedNumbersInRankOrder(t *testing.T) {
	sources := Supported("vacation days", passageResults())
	if len(sources) < 2 {
		t.Fatalf("got %d sources, want several", len(sources))
	}
	for i, s := range sources {
		if s.Number != i+1 {
			t.Errorf("source %d has number %d", i, s.Number)
		}
	}
}

func TestParseFollowUpsCases(t *testing.T) {
	cases := []struct {
		name, completion string
		want             []string
	}{
		{"numbered", "1. How do I request vacation?\n2) Can unused days carry over?\n3. Who approves overtime?",
			[]string{"How do I request vacation?", "Can unused days carry over?", "Who approves overtime?"}},
		{"bullets and quotes", "- \"Is lunch paid?\"\n* What about holidays?", []string{"Is lunch paid?", "What about holidays?"}},
		{"prose and repeats dropped", "Here are some questions:\nIs lunch paid?\nis lunch paid?\n\nThanks", []string{"Is lunch paid?"}},
		{"at most three", "A one?\nB two?\nC three?\nD four?", []string{"A one?", "B two?", "C three?"}},
		{"empty", "", []string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := ParseFollowUps(tc.completion)
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("follow-ups = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCleanQueryCases(t *testing.T) {
	cases := map[string]string{
		`"vacation days for new employees"`:               "vacation days for new employees",
		"Query: sick leave medical note\nextra reasoning": "sick leave medical note",
		"  plain query  ":                                 "plain query",
	}
	for in, want := range cases {
		if got := cleanQuery(in); got != want {
			t.Errorf("cleanQuery(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestExtractiveAnswerNeutralizesMarkup(t *testing.T) {
	sources := []Source{{Number: 1, ChunkID: uuid.New(), Filename: "code.md",
		Text: "Run `make [2]` to build the vacation report."}}
	text, checker := check(sources, ExtractiveAnswer("vacation report build", sources))
	if !strings.Contains(text, "Run 'make (2)' to build the vacation report. [1]") {
		t.Errorf("extract = %q", text)
	}
	if len(checker.Citations()) != 1 || checker.Repaired+checker.Removed != 0 {
		t.Errorf("citations %+v, repaired %d, removed %d", checker.Citations(), checker.Repaired, checker.Removed)
	}
}

func TestExtractiveAnswerSkipsNarrowMatches(t *testing.T) {
	question := "What are the regular working hours?"
	answer := ExtractiveAnswer(question, Supported(question, passageResults()))
	if strings.Contains(answer, "Approved vacation time") {
		t.Errorf("the extract quotes a unit that shares only \"regular\" with the question:\n%s", answer)
	}
	if !strings.Contains(answer, "9:00 AM to 5:00 PM") {
		t.Errorf("the extract lacks the working hours:\n%s", answer)
	}
}
