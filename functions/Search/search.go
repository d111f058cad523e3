// Package search is the Search function: POST /api/search with
// {"query": "...", "top_k": 5} returns the organization's best-matching
// passages with their document and page.
package search

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/bondingai/platform/shared/analytics"
	"github.com/bondingai/platform/shared/customhandler"
	"github.com/bondingai/platform/shared/httpapi"
	"github.com/bondingai/platform/shared/platform"
	"github.com/bondingai/platform/shared/problem"
	"github.com/bondingai/platform/shared/ratelimit"
	"github.com/bondingai/platform/shared/retrieval"
)

// Name is the function's folder name.
const Name = "Search"

type request struct {
	Query string `json:"query"`
	TopK  *int   `json:"top_k"`
}

type result struct {
	DocumentID  uuid.UUID `json:"document_id"`
	Filename    string    `json:"filename"`
	Page        *int      `json:"page"`
	Text        string    `json:"text"`
	Score       float64   `json:"score"`
	ChunkID     uuid.UUID `json:"chunk_id"`
	HeadingPath []string  `json:"heading_path"`
}

type response struct {
	Results []result `json:"results"`
}

// Register adds the function to app.
func Register(app *customhandler.App, p *platform.Platform) {
	app.HandleHTTP(Name, "POST /api/search", p.Authenticated(p.RateLimits.Middleware(ratelimit.ActionSearch)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		caller, _ := httpapi.PrincipalFromContext(r.Context())

		var req request
		if !httpapi.DecodeJSON(w, r, &req) {
			return
		}
		topK := retrieval.TopKDefault
		if req.TopK != nil {
			topK = *req.TopK
		}

		started := time.Now()
		found, err := p.Search.Search(r.Context(), caller.OrgID, req.Query, topK)
		if errors.Is(err, retrieval.ErrInvalidQuery) {
			problem.Write(w, r, http.StatusBadRequest, strings.TrimPrefix(err.Error(), retrieval.ErrInvalidQuery.Error()+": ")+".")
			return
		}
		if err != nil {
			httpapi.InternalError(w, r, "search", err)
			return
		}
		p.Recorder.Record(r.Context(), analytics.Event{OrgID: caller.OrgID, UserID: caller.UserID, Type: analytics.EventSearch, DurationMS: int(time.Since(started).Milliseconds())})

		resp := response{Results: make([]result, 0, len(found))}
		for _, f := range found {
			headingPath := f.HeadingPath
			if headingPath == nil {
				headingPath = []string{}
			}
			resp.Results = append(resp.Results, result{
				DocumentID: f.DocumentID, Filename: f.Filename, Page: f.Page, Text: f.Text,
				Score: f.Score, ChunkID: f.ChunkID, HeadingPath: headingPath,
			})
		}
		httpapi.WriteJSON(w, http.StatusOK, resp)
	}))))
}
