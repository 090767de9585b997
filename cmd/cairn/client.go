package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// DefaultURL is where the client commands find the API without CAIRN_URL.
const DefaultURL = "http://127.0.0.1:8080"

// httpAPI is the client commands' connection to a Cairn server: CAIRN_URL
// (default DefaultURL) and CAIRN_API_KEY (default: the key file that
// `make run` writes, .cairn/api-key).
type httpAPI struct {
	base string
	key  string
	hc   *http.Client
}

func newHTTPAPI(env *environment) (*httpAPI, error) {
	base := strings.TrimRight(strings.TrimSpace(env.getenv("CAIRN_URL")), "/")
	if base == "" {
		base = DefaultURL
	}
	key := strings.TrimSpace(env.getenv("CAIRN_API_KEY"))
	if key == "" {
		b, err := os.ReadFile(".cairn/api-key")
		if err != nil {
			return nil, fmt.Errorf("no API key: set CAIRN_API_KEY or run `make run` to write .cairn/api-key (%w)", err)
		}
		key = strings.TrimSpace(string(b))
	}
	return &httpAPI{base: base, key: key, hc: &http.Client{Timeout: 10 * time.Minute}}, nil
}

// do sends a JSON request and returns the response; a non-2xx answer is
// an error carrying the problem's detail.
func (a *httpAPI) do(ctx context.Context, method, path string, body any, accept string) (*http.Response, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, r)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+a.key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		defer closeBody(resp.Body)
		var p struct {
			Code   string `json:"code"`
			Detail string `json:"detail"`
		}
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if json.Unmarshal(raw, &p) == nil && p.Code != "" {
			return nil, fmt.Errorf("%s %s: %d %s: %s", method, path, resp.StatusCode, p.Code, p.Detail)
		}
		return nil, fmt.Errorf("%s %s: status %d", method, path, resp.StatusCode)
	}
	return resp, nil
}

// getJSON sends a request and decodes the JSON answer into out.
func (a *httpAPI) getJSON(ctx context.Context, method, path string, body, out any) error {
	resp, err := a.do(ctx, method, path, body, "application/json")
	if err != nil {
		return err
	}
	defer closeBody(resp.Body)
	return json.NewDecoder(resp.Body).Decode(out)
}

// closeBody closes a response body that was read or is not wanted: its
// error says nothing about the exchange, so it is dropped.
func closeBody(body io.Closer) { _ = body.Close() }

// errHelp is returned by a command whose --help was asked for: the help
// is printed and the command exits 0.
var errHelp = errors.New("help requested")

// parseFlags parses a command's arguments with fs. Flags may follow the
// positional arguments (`cairn search QUERY --mode text`), and an
// argument that starts with "-" but names none of fs's flags is
// positional, so `cairn search "-race flag"` and `cairn ask -S` search for
// what they say; everything after "--" is positional too. -h, -help and
// --help print the command's help to standard output (errHelp); a bad
// flag is a usageError.
func parseFlags(env *environment, fs *flag.FlagSet, summary string, args []string) error {
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: cairn %s\n\nflags:\n", summary)
		fs.PrintDefaults()
	}
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		name, _, hasValue := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-"), "=")
		switch {
		case !strings.HasPrefix(a, "-") || len(a) == 1:
			pos = append(pos, a)
		case name == "h" || name == "help":
			fs.SetOutput(env.stdout)
			fs.Usage()
			return errHelp
		case fs.Lookup(name) == nil:
			pos = append(pos, a)
		default:
			flags = append(flags, a)
			if b, ok := fs.Lookup(name).Value.(interface{ IsBoolFlag() bool }); (!ok || !b.IsBoolFlag()) && !hasValue && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
		}
	}
	if err := fs.Parse(append(append(flags, "--"), pos...)); err != nil {
		return usageError{err.Error()}
	}
	return nil
}
