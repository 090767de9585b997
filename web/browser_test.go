package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/internal/offsets"
	"github.com/cairn-rag/cairn/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// docV1 puts the sentence the question matches after CJK text, emoji
// above U+FFFF, a ZWJ family and a combining mark, so its code point and
// UTF-16 offsets differ.
const docV1 = "東京は日本の首都です。人口は約千四百万人です 🗼🎌 and 👩‍👩‍👧 families, cafe\u0301 corners.\n\n" +
	"The Sumida river flows through eastern Tokyo past Asakusa and its old temple.\n\n" +
	"Mount Fuji is visible from the city on clear winter mornings."

const docV2 = "東京は日本の首都です。\n\nThe Sumida flows into Tokyo Bay. Everything else changed in version two."

const question = "Which river flows through eastern Tokyo past Asakusa?"

// server is a `cairn serve` process started by the test on its own
// database.
type server struct {
	base, key string
}

// startServer builds the binary, runs `cairn serve` on a free loopback
// port with the package's test database and waits until /readyz answers.
func startServer(t *testing.T) server {
	t.Helper()
	pool := testdb.Pool(t)
	url := testdb.URL(t)
	_, key := testdb.Tenant(t, pool)
	bin := filepath.Join(t.TempDir(), "cairn")
	build := exec.Command("go", "build", "-o", bin, "github.com/cairn-rag/cairn/cmd/cairn")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "serve")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+url, "CAIRN_ADDR="+addr, "CAIRN_WORKERS=2",
		"OPENAI_API_KEY=", "OPENAI_BASE_URL=", "CAIRN_EMBED_MODEL=", "CAIRN_LOG_LEVEL=warn")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 20 * time.Second
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("cairn serve logs:\n%s", logs.String())
		}
	})
	base := "http://" + addr
	require.Eventually(t, func() bool {
		res, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		_ = res.Body.Close()
		return res.StatusCode == http.StatusOK
	}, time.Minute, 50*time.Millisecond, "cairn serve did not become ready")
	return server{base: base, key: key}
}

// getJSON reads an API resource with the test's key.
func (s server) getJSON(t *testing.T, path string, v any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.base+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+s.key)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = res.Body.Close() }()
	require.Equal(t, http.StatusOK, res.StatusCode, path)
	require.NoError(t, json.NewDecoder(res.Body).Decode(v))
}

// chromium returns Debian's chromium, or skips the test when it is
// missing and CAIRN_REQUIRE_BROWSER is unset (`make test` sets it, after
// scripts/web-deps.sh installed it).
func chromium(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CAIRN_REQUIRE_BROWSER") != "" {
			t.Fatal("chromium is not installed: run scripts/web-deps.sh")
		}
		t.Skip("chromium is not installed (scripts/web-deps.sh installs it)")
	}
	return p
}

// TestBrowserCitationFlow drives the embedded web app in headless
// Chromium against a real `cairn serve`: sign in, upload a document with
// CJK and emoji text and watch it index, ask in a new thread with the
// answer streamed, open a marker with the keyboard and check that the
// highlighted text is the citation's quote; then upload a new version and
// check the outdated badge, delete the document and check the deleted
// state. Screenshots go to web/screenshots/ (git-ignored).
func TestBrowserCitationFlow(t *testing.T) {
	exe := chromium(t)
	srv := startServer(t)
	shots, err := filepath.Abs("screenshots")
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(shots, 0o755))
	dir := t.TempDir()
	v1, v2 := filepath.Join(dir, "v1", "tokyo.txt"), filepath.Join(dir, "v2", "tokyo.txt")
	for p, text := range map[string]string{v1: docV1, v2: docV2} {
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 900), chromedp.Flag("lang", "en-US"))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	require.NoError(t, chromedp.Do(bctx, chromedp.Navigate("about:blank")))
	ctx, cancel := context.WithTimeout(bctx, 2*time.Minute)
	defer cancel()

	do := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			if png, serr := chromedp.Run(bctx, chromedp.FullScreenshot(100)); serr == nil {
				_ = os.WriteFile(filepath.Join(shots, "failed.png"), png, 0o644)
			}
			t.Fatalf("%s: %v", step, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(sel)))
		require.NoError(t, err, sel)
		return s
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644))
	}
	upload := func(file string) {
		t.Helper()
		do("upload "+file,
			chromedp.Navigate(srv.base+"/#/upload?folder=/kb/web&name=tokyo.txt"),
			chromedp.WaitVisible(chromedp.CSS("#upload-file")),
			chromedp.SetUploadFiles(chromedp.CSS("#upload-file"), []string{file}),
			chromedp.Click(chromedp.CSS("#upload-form button[type=submit]")),
			chromedp.WaitVisible(chromedp.CSS(`#job-state[data-state="succeeded"]`)))
	}
	// openMarker focuses the first marker of the answer and presses Enter
	// (keyboard use), then waits for the source panel's badge.
	openMarker := func() {
		t.Helper()
		do("open the marker",
			chromedp.WaitVisible(chromedp.CSS("li.msg.assistant button.marker")),
			chromedp.Focus(chromedp.CSS("li.msg.assistant button.marker")),
			chromedp.KeyEvent("\r"),
			chromedp.WaitVisible(chromedp.CSS("#source-badge")))
	}

	// 1. Sign in with the API key.
	do("sign in",
		chromedp.Navigate(srv.base+"/"),
		chromedp.WaitVisible(chromedp.CSS("#api-key")),
		chromedp.SendKeys(chromedp.CSS("#api-key"), srv.key),
		chromedp.Click(chromedp.CSS("#login-form button")),
		chromedp.WaitVisible(chromedp.CSS("#shell")),
		chromedp.WaitVisible(chromedp.CSS("#view h2"))) // the tree is loaded and the home view shown
	shot("01-signed-in")

	// 2. Upload the document and watch its ingest job succeed.
	upload(v1)
	require.Contains(t, text("#job-state"), "indexed")
	shot("02-uploaded")

	// 3. Create a thread, ask, and wait for the streamed answer.
	do("ask",
		chromedp.Click(chromedp.CSS("#new-thread")),
		chromedp.WaitVisible(chromedp.CSS("#thread-name")),
		chromedp.SendKeys(chromedp.CSS("#thread-name"), "tokyo"),
		chromedp.Click(chromedp.CSS("#thread-form button")),
		chromedp.WaitVisible(chromedp.CSS("#ask-input")),
		chromedp.SendKeys(chromedp.CSS("#ask-input"), question),
		chromedp.Click(chromedp.CSS("#ask-send")),
		chromedp.WaitVisible(chromedp.CSS("li.msg.assistant.final")))
	threadURL, err := chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)
	require.Contains(t, text("li.msg.assistant.final"), "Sumida")
	shot("03-answered")

	// The citation as the API gives it, and the version text before it.
	threadID := threadURL[strings.LastIndex(threadURL, "/")+1:]
	var page struct {
		Data []struct {
			Role    string `json:"role"`
			Content struct {
				Citations []struct {
					ChunkID   string `json:"chunk_id"`
					Quote     string `json:"quote"`
					StartChar int    `json:"start_char"`
				} `json:"citations"`
			} `json:"content"`
		} `json:"data"`
	}
	srv.getJSON(t, "/v1/threads/"+threadID+"/messages?sort_dir=desc&limit=1&with_details=false", &page)
	require.Len(t, page.Data, 1)
	require.NotEmpty(t, page.Data[0].Content.Citations)
	cit := page.Data[0].Content.Citations[0]
	require.Contains(t, cit.Quote, "Sumida")
	before := docV1[:strings.Index(docV1, cit.Quote)]
	require.NotEqual(t, len([]rune(before)), offsets.UTF16Len(before), "the quote follows text whose code point and UTF-16 lengths differ")

	// 4. Open the marker: the highlighted text is the quote, in the current version.
	openMarker()
	require.Equal(t, cit.Quote, text("#highlight"))
	require.Contains(t, text("#source-badge"), "current version")
	shot("04-citation")
	do("phone width", chromedp.EmulateViewport(390, 844))
	shot("05-phone")
	do("desktop width", chromedp.EmulateViewport(1280, 900))

	// 5. Upload version 2: the citation now shows the outdated badge and
	//    still highlights its quote in version 1.
	upload(v2)
	do("back to the thread", chromedp.Navigate(threadURL), chromedp.WaitVisible(chromedp.CSS("li.msg.assistant button.marker")))
	openMarker()
	require.Contains(t, text("#source-badge"), "outdated")
	require.Contains(t, text("#source-badge"), "current is v2")
	require.Equal(t, cit.Quote, text("#highlight"))
	shot("06-outdated")

	// 6. Delete the document from its page: the citation shows the deleted state.
	var docs struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	srv.getJSON(t, "/v1/documents?folder=/kb/web", &docs)
	require.Len(t, docs.Data, 1)
	do("delete the document",
		chromedp.Navigate(srv.base+"/#/doc/"+docs.Data[0].ID),
		chromedp.WaitVisible(chromedp.CSS("#delete-doc")),
		chromedp.Click(chromedp.CSS("#delete-doc")),
		chromedp.WaitVisible(chromedp.CSS(`#delete-doc[data-armed="yes"]`)),
		chromedp.Click(chromedp.CSS("#delete-doc")),
		chromedp.WaitVisible(chromedp.CSS("#doc-deleted")))
	do("back to the thread", chromedp.Navigate(threadURL), chromedp.WaitVisible(chromedp.CSS("li.msg.assistant button.marker")))
	openMarker()
	require.Equal(t, "source deleted", text("#source-badge"))
	require.Contains(t, text("#source-state"), "deleted")
	require.Equal(t, cit.Quote, text("#source-text q"))
	shot("07-deleted")
	t.Logf("screenshots in %s", shots)
}
