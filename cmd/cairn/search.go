package main

import (
	"context"
	"flag"
	"strings"

	"github.com/cairn-rag/cairn/retrieval"
)

func init() {
	commands["search"] = command{summary: "search QUERY [--folder PATH] [--mode hybrid|vector|text] [--top-k N]", run: runSearch}
}

// searchTopKDefault is how many hits `cairn search` asks for: fewer than
// the API's retrieval.TopKDefault, to fit a terminal.
const searchTopKDefault = 5

type searchHit struct {
	ChunkID          string  `json:"chunk_id"`
	DocumentName     string  `json:"document_name"`
	VersionNumber    int     `json:"version_number"`
	MaterializedPath string  `json:"materialized_path"`
	Content          string  `json:"content"`
	Score            float64 `json:"score"`
}

func runSearch(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("search", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	folder := fs.String("folder", "", "only documents under this folder")
	mode := fs.String("mode", string(retrieval.Hybrid), "hybrid, vector or text")
	topK := fs.Int("top-k", searchTopKDefault, "number of results")
	if err := parseFlags(env, fs, commands["search"].summary, args); err != nil {
		return err
	}
	query := strings.TrimSpace(strings.Join(fs.Args(), " "))
	if query == "" {
		return usageError{"want a QUERY"}
	}
	api, err := newHTTPAPI(env)
	if err != nil {
		return err
	}
	var res struct {
		Data []searchHit `json:"data"`
	}
	body := map[string]any{"query": query, "mode": *mode, "top_k": *topK}
	if *folder != "" {
		body["path_prefix"] = *folder
	}
	if err := api.getJSON(ctx, "POST", "/v1/search", body, &res); err != nil {
		return err
	}
	if len(res.Data) == 0 {
		env.println("no results")
		return nil
	}
	for i, h := range res.Data {
		env.printf("%d. %s v%d  score %.4f\n   %s\n   %s\n", i+1, h.DocumentName, h.VersionNumber, h.Score, h.MaterializedPath, snippet(h.Content, 240))
	}
	return nil
}

// snippet is text on one line, cut to at most n code points.
func snippet(text string, n int) string {
	r := []rune(strings.Join(strings.Fields(text), " "))
	if len(r) <= n {
		return string(r)
	}
	return string(r[:n]) + "…"
}
