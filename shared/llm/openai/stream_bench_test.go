package openai

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bondingai/platform/shared/llm/llmtest"
)

// streamOfDeltas returns the event stream of a completion with n deltas of
// about four bytes each, as OpenAI frames it.
func streamOfDeltas(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1733300000,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"w%03d\"},\"finish_reason\":null}]}\n\n", i%1000)
	}
	b.WriteString("data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n")
	b.WriteString("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":900,\"completion_tokens\":500}}\n\n")
	b.WriteString("data: [DONE]\n\n")
	return b.String()
}

// BenchmarkStreamParse measures the client's work per streamed completion of
// 500 deltas over a loopback server that writes the whole stream at once,
// so the time is parsing and delivery, not the model.
func BenchmarkStreamParse(b *testing.B) {
	body := streamOfDeltas(500)
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Write([]byte(body))
	}))
	b.Cleanup(server.Close)
	client, err := New(compatibleConfig(server.URL), server.Client())
	if err != nil {
		b.Fatal(err)
	}
	req := question("How many vacation days?")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()

	for b.Loop() {
		deltas := 0
		response, err := client.Stream(context.Background(), req, func(string) error {
			deltas++
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		if deltas != 500 || response.Usage.CompletionTokens != 500 {
			b.Fatalf("deltas = %d, usage = %+v", deltas, response.Usage)
		}
	}
}

// BenchmarkStreamLLMTest measures one streamed completion of 100 words from
// llmtest, the path other packages' tests take.
func BenchmarkStreamLLMTest(b *testing.B) {
	answer := strings.TrimSpace(strings.Repeat("word ", 100))
	server := llmtest.NewServer(b, llmtest.WithAnswer(answer))
	client, err := New(compatibleConfig(server.URL), server.Client())
	if err != nil {
		b.Fatal(err)
	}
	req := question("Hello?")
	b.ReportAllocs()

	for b.Loop() {
		response, err := client.Stream(context.Background(), req, func(string) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
		if response.Content != answer {
			b.Fatalf("Content = %q", response.Content)
		}
	}
}
