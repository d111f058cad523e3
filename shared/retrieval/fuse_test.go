package retrieval

import (
	"testing"

	"github.com/google/uuid"

	"github.com/bondingai/platform/shared/store"
)

func hits(ids ...uuid.UUID) []store.SearchHit {
	out := make([]store.SearchHit, len(ids))
	for i, id := range ids {
		out[i] = store.SearchHit{ChunkID: id}
	}
	return out
}

func TestFuseRewardsAgreement(t *testing.T) {
	a, b, c, d := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	// b is second in both rankings; a and c are first in only one each.
	results := Fuse(3, 60, hits(a, b, d), hits(c, b))
	if len(results) != 3 {
		t.Fatalf("got %d results, want 3", len(results))
	}
	if results[0].ChunkID != b {
		t.Errorf("first = %s, want the chunk both rankings found", results[0].ChunkID)
	}
	want := 2.0 / 62
	if got := results[0].Score; got < want-1e-12 || got > want+1e-12 {
		t.Errorf("score = %v, want %v", got, want)
	}
	if results[1].ChunkID != a || results[2].ChunkID != c {
		t.Errorf("ties not broken by first ranking: got %s, %s", results[1].ChunkID, results[2].ChunkID)
	}
}

func TestFuseHandlesEmptyRankings(t *testing.T) {
	if got := Fuse(5, 60, nil, nil); len(got) != 0 {
		t.Errorf("got %d results from empty rankings", len(got))
	}
	a := uuid.New()
	if got := Fuse(5, 60, nil, hits(a)); len(got) != 1 || got[0].ChunkID != a {
		t.Errorf("one-sided fusion = %+v", got)
	}
}
