package llmtest_test

import (
	"context"
	"strings"
	"testing"

	"github.com/bondingai/platform/shared/llm"
	"github.com/bondingai/platform/shared/llm/llmtest"
	"github.com/bondingai/platform/shared/llm/openai"
)

// TestServerWithOpenAIClient shows the intended use: a responder that
// builds the reply from the request, and the platform's client pointed at the server
// as an OpenAI-compatible endpoint, streaming.
func TestServerWithOpenAIClient(t *testing.T) {
	server := llmtest.NewServer(t, llmtest.WithResponder(func(r llmtest.Request) llmtest.Reply {
		if strings.Contains(r.LastUserMessage(), "vacation") {
			return llmtest.Reply{Content: "Employees get 25 days of paid vacation [1]."}
		}
		return llmtest.Reply{Content: "The sources do not say."}
	}))
	model, err := openai.New(openai.Config{
		Provider: openai.ProviderOpenAICompatible,
		Endpoint: server.URL,
		Model:    "test-model",
	}, server.Client())
	if err != nil {
		t.Fatal(err)
	}

	var streamed strings.Builder
	response, err := model.Stream(context.Background(), llm.Request{Messages: []llm.Message{
		{Role: llm.RoleUser, Content: "How much vacation do I get?"},
	}}, func(delta string) error {
		streamed.WriteString(delta)
		return nil
	})
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}

	if response.Content != "Employees get 25 days of paid vacation [1]." {
		t.Errorf("Content = %q", response.Content)
	}
	if streamed.String() != response.Content {
		t.Errorf("streamed %q, want the whole content", streamed.String())
	}
	if response.UsageEstimated {
		t.Error("UsageEstimated = true, want the server's usage")
	}
	if got := server.LastRequest().Body.Model; got != "test-model" {
		t.Errorf("model = %q", got)
	}
}
