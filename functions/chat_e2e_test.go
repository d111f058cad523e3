package functions_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/workos/workos-go/v4/pkg/usermanagement"

	"github.com/bondingai/platform/shared/llm/llmtest"
	"github.com/bondingai/platform/shared/workosstandin"
)

// The chat end-to-end tests ask every test question through the real
// handler under the local host, in JSON and in Server-Sent Events mode:
// once with the offline extractive answerer, once with an OpenAI-compatible
// model served by llmtest.

type citationView struct {
	Number     int    `json:"number"`
	DocumentID string `json:"document_id"`
	Filename   string `json:"filename"`
	Page       *int   `json:"page"`
	ChunkID    string `json:"chunk_id"`
	Quote      string `json:"quote"`
}

type replyView struct {
	Message struct {
		ID               string         `json:"id"`
		Role             string         `json:"role"`
		Content          string         `json:"content"`
		Citations        []citationView `json:"citations"`
		Model            *string        `json:"model"`
		PromptTokens     *int           `json:"prompt_tokens"`
		CompletionTokens *int           `json:"completion_tokens"`
		LatencyMS        *int           `json:"latency_ms"`
	} `json:"message"`
	Citations []citationView `json:"citations"`
	FollowUps []string       `json:"follow_ups"`
	Usage     struct {
		Model            string `json:"model"`
		PromptTokens     int    `json:"prompt_tokens"`
		CompletionTokens int    `json:"completion_tokens"`
		LatencyMS        int    `json:"latency_ms"`
	} `json:"usage"`
}

type conversationView struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	Messages []struct {
		ID        string         `json:"id"`
		Role      string         `json:"role"`
		Content   string         `json:"content"`
		Citations []citationView `json:"citations"`
		LatencyMS *int           `json:"latency_ms"`
	} `json:"messages"`
}

// chatSettings lifts the per-user chat rate limit above the number of
// questions a chat test asks within one minute.
func chatSettings(extra map[string]string) map[string]string {
	settings := map[string]string{"RATE_LIMIT_CHAT_PER_USER": "500"}
	for name, value := range extra {
		settings[name] = value
	}
	return settings
}

// uploadTestDocuments uploads the handbook and the expense policy and
// waits until both are ready.
func uploadTestDocuments(t *testing.T, p *platformUnderTest) {
	t.Helper()
	dataDir := sharedDataDir(t)
	var uploaded []documentView
	for _, name := range []string{"contoso_employee_handbook.pdf", "expenses_policy.docx"} {
		uploaded = append(uploaded, p.upload(t, filepath.Join(dataDir, name)))
	}
	p.waitReady(t, uploaded)
}

func (p *platformUnderTest) postJSON(t *testing.T, path string, body any) (*http.Response, []byte) {
	t.Helper()
	data, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return p.do(t, http.MethodPost, path, bytes.NewReader(data), "application/json")
}

func (p *platformUnderTest) createConversation(t *testing.T, title string) conversationView {
	t.Helper()
	resp, data := p.postJSON(t, "/api/conversations", map[string]string{"title": title})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create conversation: %d %s", resp.StatusCode, data)
	}
	var c conversationView
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func (p *platformUnderTest) ask(t *testing.T, conversationID, question string) replyView {
	t.Helper()
	resp, data := p.postJSON(t, "/api/conversations/"+conversationID+"/messages", map[string]string{"content": question})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("ask %q: %d %s", question, resp.StatusCode, data)
	}
	var reply replyView
	if err := json.Unmarshal(data, &reply); err != nil {
		t.Fatal(err)
	}
	return reply
}

type sseEvent struct {
	name string
	data string
}

// askStreaming asks with Accept: text/event-stream and returns the events
// in order of arrival.
func (p *platformUnderTest) askStreaming(t *testing.T, conversationID, question string) []sseEvent {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"content": question})
	req, err := http.NewRequest(http.MethodPost, p.baseURL+"/api/conversations/"+conversationID+"/messages", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+p.token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	resp, err := p.client.Do(req)
	if err != nil {
		t.Fatalf("ask %q streaming: %v", question, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		data, _ := io.ReadAll(resp.Body)
		t.Fatalf("ask %q streaming: %d %s %s", question, resp.StatusCode, resp.Header.Get("Content-Type"), data)
	}
	if got := resp.Header.Get("Cache-Control"); got != "no-cache" {
		t.Errorf("Cache-Control = %q, want no-cache", got)
	}
	var events []sseEvent
	var current sseEvent
	scanner := bufio.NewScanner(resp.Body)
	scanner.Buffer(make([]byte, 1<<20), 1<<20)
	for scanner.Scan() {
		line := scanner.Text()
		switch {
		case line == "":
			if current.name != "" {
				events = append(events, current)
			}
			current = sseEvent{}
		case strings.HasPrefix(line, "event: "):
			current.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			current.data += strings.TrimPrefix(line, "data: ")
		}
	}
	if err := scanner.Err(); err != nil {
		t.Fatalf("read event stream: %v", err)
	}
	return events
}

// streamedReply checks the order of the events and returns the final reply
// and the answer text assembled from the deltas.
func streamedReply(t *testing.T, events []sseEvent) (replyView, string) {
	t.Helper()
	if len(events) < 3 {
		t.Fatalf("got %d events, want context, deltas and done: %+v", len(events), events)
	}
	if events[0].name != "context" {
		t.Errorf("first event is %q, want context", events[0].name)
	}
	var context struct {
		Sources []struct {
			Number   int    `json:"number"`
			Filename string `json:"filename"`
		} `json:"sources"`
	}
	if err := json.Unmarshal([]byte(events[0].data), &context); err != nil {
		t.Errorf("context event %q: %v", events[0].data, err)
	}
	var text strings.Builder
	for _, e := range events[1 : len(events)-1] {
		if e.name != "delta" {
			t.Errorf("event %q between context and done, want delta", e.name)
			continue
		}
		var delta struct {
			Text string `json:"text"`
		}
		if err := json.Unmarshal([]byte(e.data), &delta); err != nil {
			t.Fatal(err)
		}
		text.WriteString(delta.Text)
	}
	last := events[len(events)-1]
	if last.name != "done" {
		t.Fatalf("last event is %q (%s), want done", last.name, last.data)
	}
	var reply replyView
	if err := json.Unmarshal([]byte(last.data), &reply); err != nil {
		t.Fatal(err)
	}
	if text.String() != reply.Message.Content {
		t.Errorf("deltas %q differ from the stored answer %q", text.String(), reply.Message.Content)
	}
	return reply, text.String()
}

var markerPattern = regexp.MustCompile(`\[(\d+)\]`)

// checkAnswer checks that the reply answers q with a citation of its file
// and page and that every marker in the text has its citation.
func checkAnswer(t *testing.T, q question, reply replyView) {
	t.Helper()
	if !strings.Contains(reply.Message.Content, q.AnswerContains) {
		t.Errorf("%q: answer lacks %q:\n%s", q.Question, q.AnswerContains, reply.Message.Content)
	}
	cited := false
	for i, c := range reply.Citations {
		if c.Number != i+1 {
			t.Errorf("%q: citation %d has number %d", q.Question, i+1, c.Number)
		}
		if c.Quote == "" || c.ChunkID == "" || c.DocumentID == "" {
			t.Errorf("%q: citation %+v lacks a quote or ids", q.Question, c)
		}
		pageMatches := (q.Page == nil && c.Page == nil) || (q.Page != nil && c.Page != nil && *q.Page == *c.Page)
		if c.Filename == q.File && pageMatches {
			cited = true
		}
	}
	if !cited {
		t.Errorf("%q: no citation of %s page %s in %+v", q.Question, q.File, pageString(q.Page), reply.Citations)
	}
	for _, match := range markerPattern.FindAllStringSubmatch(reply.Message.Content, -1) {
		n, _ := strconv.Atoi(match[1])
		if n < 1 || n > len(reply.Citations) {
			t.Errorf("%q: the answer carries marker [%d] with %d citations:\n%s", q.Question, n, len(reply.Citations), reply.Message.Content)
		}
	}
	if len(reply.Message.Citations) != len(reply.Citations) {
		t.Errorf("%q: stored message has %d citations, reply %d", q.Question, len(reply.Message.Citations), len(reply.Citations))
	}
	if reply.Message.LatencyMS == nil || reply.Message.Model == nil {
		t.Errorf("%q: stored message lacks latency or model", q.Question)
	}
}

func TestChatEndToEndOffline(t *testing.T) {
	if testing.Short() {
		t.Skip("the end-to-end test runs the whole platform")
	}
	p, standin, standinURL := startPlatform(t, chatSettings(nil))
	p.token = signIn(t, standin, standinURL, "Contoso", "ada@contoso.com")
	uploadTestDocuments(t, p)
	questions := readQuestions(t, filepath.Join(sharedDataDir(t), "questions.jsonl"))

	jsonConversation := p.createConversation(t, "")
	for _, q := range questions {
		reply := p.ask(t, jsonConversation.ID, q.Question)
		checkAnswer(t, q, reply)
		if !strings.Contains(reply.Message.Content, "not a generated answer") {
			t.Errorf("%q: the offline answer does not say it is an extract: %q", q.Question, reply.Message.Content)
		}
		if len(reply.FollowUps) != 0 {
			t.Errorf("%q: offline reply suggests follow-ups %q", q.Question, reply.FollowUps)
		}
	}

	streamConversation := p.createConversation(t, "Streamed")
	for _, q := range questions {
		reply, _ := streamedReply(t, p.askStreaming(t, streamConversation.ID, q.Question))
		checkAnswer(t, q, reply)
	}

	// A question the documents do not cover gets no guess and no citation.
	reply := p.ask(t, jsonConversation.ID, "What is the capital of France?")
	if len(reply.Citations) != 0 || !strings.Contains(reply.Message.Content, "do not contain an answer") {
		t.Errorf("unsupported question answered %q with %d citations", reply.Message.Content, len(reply.Citations))
	}

	// The conversation keeps both sides of every turn, and took its title
	// from the first question.
	resp, data := p.do(t, http.MethodGet, "/api/conversations/"+jsonConversation.ID, nil, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("get conversation: %d %s", resp.StatusCode, data)
	}
	var stored conversationView
	if err := json.Unmarshal(data, &stored); err != nil {
		t.Fatal(err)
	}
	if want := 2 * (len(questions) + 1); len(stored.Messages) != want {
		t.Errorf("conversation has %d messages, want %d", len(stored.Messages), want)
	}
	if stored.Title != questions[0].Question {
		t.Errorf("title = %q, want the first question", stored.Title)
	}
	checkConversationGuards(t, p, standin, standinURL, jsonConversation.ID, reply.Message.ID)
}

// checkConversationGuards checks listing, renaming, feedback, bad input and
// that neither another user nor another organization reaches the
// conversation.
func checkConversationGuards(t *testing.T, p *platformUnderTest, standin *workosstandin.Server, standinURL, conversationID, messageID string) {
	t.Helper()
	resp, data := p.do(t, http.MethodGet, "/api/conversations?limit=1", nil, "")
	var page struct {
		Conversations []conversationView `json:"conversations"`
		NextCursor    string             `json:"next_cursor"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(data, &page) != nil || len(page.Conversations) != 1 || page.NextCursor == "" {
		t.Fatalf("list page 1: %d %s", resp.StatusCode, data)
	}
	resp, data = p.do(t, http.MethodGet, "/api/conversations?limit=1&cursor="+page.NextCursor, nil, "")
	var page2 struct {
		Conversations []conversationView `json:"conversations"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(data, &page2) != nil || len(page2.Conversations) != 1 || page2.Conversations[0].ID == page.Conversations[0].ID {
		t.Errorf("list page 2: %d %s", resp.StatusCode, data)
	}
	for _, path := range []string{"/api/conversations?limit=0", "/api/conversations?cursor=%25%25"} {
		if resp, data := p.do(t, http.MethodGet, path, nil, ""); resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("GET %s: %d %s, want a 400 problem", path, resp.StatusCode, data)
		}
	}

	patch, _ := json.Marshal(map[string]string{"title": "Leave questions"})
	resp, data = p.do(t, http.MethodPatch, "/api/conversations/"+conversationID, bytes.NewReader(patch), "application/json")
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(data), "Leave questions") {
		t.Errorf("rename: %d %s", resp.StatusCode, data)
	}
	long, _ := json.Marshal(map[string]string{"title": strings.Repeat("x", 201)})
	if resp, data := p.do(t, http.MethodPatch, "/api/conversations/"+conversationID, bytes.NewReader(long), "application/json"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("rename with a 201-character title: %d %s, want 400", resp.StatusCode, data)
	}
	for _, content := range []string{"", "   ", strings.Repeat("a", 2001)} {
		if resp, data := p.postJSON(t, "/api/conversations/"+conversationID+"/messages", map[string]string{"content": content}); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("ask %d characters: %d %s, want 400", len(content), resp.StatusCode, data)
		}
	}
	if resp, data := p.postJSON(t, "/api/conversations/"+conversationID+"/messages", map[string]string{"question": "x"}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("ask with an unknown field: %d %s, want 400", resp.StatusCode, data)
	}

	feedbackPath := "/api/messages/" + messageID + "/feedback"
	if resp, data := p.postJSON(t, feedbackPath, map[string]string{"rating": "up"}); resp.StatusCode != http.StatusCreated {
		t.Errorf("first feedback: %d %s, want 201", resp.StatusCode, data)
	}
	if resp, data := p.postJSON(t, feedbackPath, map[string]string{"rating": "down", "comment": "wrong page"}); resp.StatusCode != http.StatusOK {
		t.Errorf("changed feedback: %d %s, want 200", resp.StatusCode, data)
	}
	if resp, data := p.postJSON(t, feedbackPath, map[string]string{"rating": "meh"}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("invalid rating: %d %s, want 400", resp.StatusCode, data)
	}

	// Another user of the same organization, then a user of another
	// organization: every route returns 404.
	sameOrg := *p
	sameOrg.token = signInMember(t, standin, standinURL, p.token, "grace@contoso.com")
	other := *p
	other.token = signIn(t, standin, standinURL, "Fabrikam", "bo@fabrikam.com")
	for name, intruder := range map[string]*platformUnderTest{"same organization": &sameOrg, "other organization": &other} {
		if resp, _ := intruder.do(t, http.MethodGet, "/api/conversations/"+conversationID, nil, ""); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: GET conversation %d, want 404", name, resp.StatusCode)
		}
		if resp, _ := intruder.postJSON(t, "/api/conversations/"+conversationID+"/messages", map[string]string{"content": "vacation days"}); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: ask %d, want 404", name, resp.StatusCode)
		}
		if resp, _ := intruder.postJSON(t, feedbackPath, map[string]string{"rating": "up"}); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: feedback %d, want 404", name, resp.StatusCode)
		}
		if resp, _ := intruder.do(t, http.MethodDelete, "/api/conversations/"+conversationID, nil, ""); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: DELETE %d, want 404", name, resp.StatusCode)
		}
		resp, data := intruder.do(t, http.MethodGet, "/api/conversations", nil, "")
		if resp.StatusCode != http.StatusOK || strings.Contains(string(data), conversationID) {
			t.Errorf("%s: list %d %s", name, resp.StatusCode, data)
		}
	}

	if resp, data := p.do(t, http.MethodDelete, "/api/conversations/"+conversationID, nil, ""); resp.StatusCode != http.StatusNoContent {
		t.Errorf("delete: %d %s", resp.StatusCode, data)
	}
	if resp, _ := p.do(t, http.MethodGet, "/api/conversations/"+conversationID, nil, ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET after delete: %d, want 404", resp.StatusCode)
	}
	if resp, _ := p.do(t, http.MethodGet, "/api/conversations/not-a-uuid", nil, ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET with a malformed id: %d, want 404", resp.StatusCode)
	}
}

// signInMember adds a second user to the organization of the user whose
// access token is memberToken and returns the new user's token.
func signInMember(t *testing.T, standin *workosstandin.Server, baseURL, memberToken, email string) string {
	t.Helper()
	orgID := tokenClaim(t, memberToken, "org_id")
	ctx := context.Background()
	users := usermanagement.NewClient(e2eAPIKey)
	users.Endpoint = baseURL
	user, err := users.CreateUser(ctx, usermanagement.CreateUserOpts{Email: email, EmailVerified: true})
	if err != nil {
		t.Fatalf("create user: %v", err)
	}
	_, err = users.CreateOrganizationMembership(ctx, usermanagement.CreateOrganizationMembershipOpts{
		UserID: user.ID, OrganizationID: orgID, RoleSlug: "member",
	})
	if err != nil {
		t.Fatalf("create membership: %v", err)
	}
	token, err := standin.MintAccessToken(workosstandin.AccessTokenRequest{UserID: user.ID, OrganizationID: orgID, TTLSeconds: 3600})
	if err != nil {
		t.Fatalf("mint access token: %v", err)
	}
	return token.AccessToken
}

// tokenClaim reads a string claim of a JWT without checking it; the
// platform checks tokens, the test only needs the organization id.
func tokenClaim(t *testing.T, token, claim string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("access token has %d parts", len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	value, _ := claims[claim].(string)
	if value == "" {
		t.Fatalf("access token has no %s claim", claim)
	}
	return value
}

// answerResponder plays a model that answers from the sources in the
// prompt: it quotes the line of the source that contains the expected
// answer and cites it, adds a sentence citing [7], which no prompt has,
// and answers rewrite and follow-up requests.
func answerResponder(answers map[string]string) func(llmtest.Request) llmtest.Reply {
	sourceHeader := regexp.MustCompile(`^\[(\d+)\] `)
	return func(r llmtest.Request) llmtest.Reply {
		system := ""
		if len(r.Body.Messages) > 0 {
			system = r.Body.Messages[0].Content
		}
		last := r.LastUserMessage()
		switch {
		case strings.HasPrefix(system, "Rewrite"):
			_, question, _ := strings.Cut(last, "Last question: ")
			return llmtest.Reply{Content: question}
		case strings.HasPrefix(system, "Suggest"):
			return llmtest.Reply{Content: "1. How do I request vacation?\n2. Who approves overtime?\nThat is all."}
		}
		expected := answers[last]
		number, quote := "", ""
		for _, line := range strings.Split(system, "\n") {
			if m := sourceHeader.FindStringSubmatch(line); m != nil {
				number = m[1]
				continue
			}
			if number != "" && expected != "" && strings.Contains(line, expected) {
				quote = strings.TrimPrefix(line, "- ")
				break
			}
		}
		if quote == "" {
			return llmtest.Reply{Content: "The documents do not contain the answer."}
		}
		return llmtest.Reply{Content: fmt.Sprintf("The policy states: %s [%s]. The handbook covers this for every employee [7].", quote, number)}
	}
}

func TestChatEndToEndOpenAICompatible(t *testing.T) {
	if testing.Short() {
		t.Skip("the end-to-end test runs the whole platform")
	}
	questions := readQuestions(t, filepath.Join(sharedDataDir(t), "questions.jsonl"))
	answers := map[string]string{}
	for _, q := range questions {
		answers[q.Question] = q.AnswerContains
	}
	model := llmtest.NewServer(t, llmtest.WithResponder(answerResponder(answers)))
	p, standin, standinURL := startPlatform(t, chatSettings(map[string]string{
		"CHAT_PROVIDER":     "openai-compatible",
		"OPENAI_BASE_URL":   model.URL,
		"OPENAI_CHAT_MODEL": "test-chat",
	}))
	p.token = signIn(t, standin, standinURL, "Contoso", "ada@contoso.com")
	uploadTestDocuments(t, p)

	for _, streaming := range []bool{false, true} {
		conversation := p.createConversation(t, fmt.Sprintf("streaming %v", streaming))
		for _, q := range questions {
			var reply replyView
			if streaming {
				reply, _ = streamedReply(t, p.askStreaming(t, conversation.ID, q.Question))
			} else {
				reply = p.ask(t, conversation.ID, q.Question)
			}
			checkAnswer(t, q, reply)
			if strings.Contains(reply.Message.Content, "[7]") && len(reply.Citations) < 7 {
				t.Errorf("%q: the bad marker [7] was passed on: %q", q.Question, reply.Message.Content)
			}
			if reply.Usage.Model == "" || reply.Usage.PromptTokens == 0 || reply.Usage.CompletionTokens == 0 {
				t.Errorf("%q: usage %+v, want the model's token counts", q.Question, reply.Usage)
			}
			if reply.Message.PromptTokens == nil || *reply.Message.PromptTokens != reply.Usage.PromptTokens {
				t.Errorf("%q: stored prompt tokens %v, reply %d", q.Question, reply.Message.PromptTokens, reply.Usage.PromptTokens)
			}
			if len(reply.FollowUps) != 2 {
				t.Errorf("%q: follow-ups %q, want the two questions of the model", q.Question, reply.FollowUps)
			}
		}
	}

	// Follow-up questions in a conversation were rewritten first, and the
	// answer prompt numbered its sources with file and page.
	rewrites, answerPrompts := 0, 0
	for _, r := range model.Requests() {
		if len(r.Body.Messages) == 0 {
			continue
		}
		system := r.Body.Messages[0].Content
		if strings.HasPrefix(system, "Rewrite") {
			rewrites++
		}
		if strings.Contains(system, "[1] contoso_employee_handbook.pdf, page") || strings.Contains(system, "[1] expenses_policy.docx") {
			answerPrompts++
		}
	}
	if want := 2 * (len(questions) - 1); rewrites != want {
		t.Errorf("%d rewrite requests, want %d (every question after the first)", rewrites, want)
	}
	if answerPrompts != 2*len(questions) {
		t.Errorf("%d answer prompts with numbered sources, want %d", answerPrompts, 2*len(questions))
	}

	// A model connection that drops mid-answer ends the stream with an
	// error event after the context.
	broken := p.createConversation(t, "broken stream")
	model.Enqueue(llmtest.Reply{Deltas: []string{"The policy ", "states ", "twenty ", "days."}, CutAfterDeltas: 2})
	events := p.askStreaming(t, broken.ID, questions[0].Question)
	if len(events) < 2 || events[0].name != "context" || events[len(events)-1].name != "error" {
		t.Errorf("events of a dropped model stream = %+v, want context first and error last", events)
	} else if !strings.Contains(events[len(events)-1].data, `"detail"`) {
		t.Errorf("error event %q has no detail", events[len(events)-1].data)
	}
}
