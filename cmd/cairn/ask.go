package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/cairn-rag/cairn/citation"
	"github.com/cairn-rag/cairn/threads"
)

func init() {
	commands["ask"] = command{summary: "ask QUESTION [--thread ID] [--folder PATH]: answer with numbered citations", run: runAsk}
}

func runAsk(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("ask", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	thread := fs.String("thread", "", "thread id to continue (default: a new thread)")
	folder := fs.String("folder", "", "only documents under this folder")
	if err := parseFlags(env, fs, commands["ask"].summary, args); err != nil {
		return err
	}
	question := strings.TrimSpace(strings.Join(fs.Args(), " "))
	if question == "" {
		return usageError{"want a QUESTION"}
	}
	api, err := newHTTPAPI(env)
	if err != nil {
		return err
	}
	if *thread == "" {
		var th struct {
			ID string `json:"id"`
		}
		name := "ask " + time.Now().UTC().Format("2006-01-02 15:04:05.000")
		if err := api.getJSON(ctx, "POST", "/v1/threads", map[string]any{"name": name}, &th); err != nil {
			return err
		}
		*thread = th.ID
	}
	body := map[string]any{"content": map[string]any{"text": question}, "stream": true}
	if *folder != "" {
		body["retrieval"] = map[string]any{"path_prefix": *folder}
	}
	resp, err := api.do(ctx, "POST", "/v1/threads/"+*thread+"/user_message", body, "text/event-stream")
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	var final threads.Message
	var failure string
	var event string
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data := []byte(strings.TrimPrefix(line, "data: "))
			switch event {
			case "delta":
				var d struct {
					Text string `json:"text"`
				}
				if json.Unmarshal(data, &d) == nil {
					fmt.Fprint(env.stdout, d.Text)
				}
			case "assistant_message":
				_ = json.Unmarshal(data, &final)
			case "error":
				var p struct {
					Detail string `json:"detail"`
				}
				_ = json.Unmarshal(data, &p)
				failure = p.Detail
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read answer stream: %w", err)
	}
	if final.ID == uuid.Nil {
		if failure != "" {
			return fmt.Errorf("the answer failed: %s", failure)
		}
		return fmt.Errorf("the answer stream ended without an answer")
	}
	fmt.Fprintln(env.stdout)
	printCitations(env, final.Content.Citations)
	fmt.Fprintf(env.stderr, "thread %s (continue with --thread %s)\n", *thread, *thread)
	if final.Content.IsError {
		return fmt.Errorf("the answer failed: %s", final.Content.Text)
	}
	return nil
}

func printCitations(env *environment, cits []citation.Citation) {
	if len(cits) == 0 {
		return
	}
	fmt.Fprintln(env.stdout, "\nCitations:")
	for i, c := range cits {
		where := "(document deleted)"
		if c.Source != nil && c.DocumentName != nil && c.VersionNumber != nil && c.MaterializedPath != nil {
			where = fmt.Sprintf("%s v%d  %s", *c.DocumentName, *c.VersionNumber, *c.MaterializedPath)
		}
		// The marker is the "[n]" of the answer text that this citation
		// backs (numbered in order of first use by the service).
		n := c.Marker
		if n == 0 {
			n = i + 1
		}
		fmt.Fprintf(env.stdout, "[%d] %s  chars %d–%d\n    “%s”\n", n, where, c.StartChar, c.StartChar+c.Length, c.Quote)
	}
}
