package chat

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/bondingai/platform/shared/store"
)

func TestReplyViewSendsEmptyListsNotNull(t *testing.T) {
	view := NewReplyView(&Reply{Message: &store.Message{Citations: json.RawMessage("null")}})
	data, err := json.Marshal(view)
	if err != nil {
		t.Fatal(err)
	}
	for _, null := range []string{`"citations":null`, `"follow_ups":null`} {
		if strings.Contains(string(data), null) {
			t.Errorf("reply view has %s: %s", null, data)
		}
	}
	if strings.Count(string(data), `"citations":[]`) != 2 {
		t.Errorf("want empty citations in the reply and its message: %s", data)
	}
}
