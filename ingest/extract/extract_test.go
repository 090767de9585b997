package extract_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/ingest/extract"
	"github.com/cairn-rag/cairn/ingest/extract/pdftest"
	"github.com/cairn-rag/cairn/internal/apperr"
)

func TestDetectTypeBySniffingAndName(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, declared, data, want string
	}{
		{"a.pdf", "", "%PDF-1.4 ...", extract.MimePDF},
		{"notes", "", "%PDF-1.7 named without extension", extract.MimePDF},
		{"a.md", "", "# Title", extract.MimeMarkdown},
		{"a.txt", "text/markdown", "# Title", extract.MimeMarkdown},
		{"page.htm", "", "<p>hi</p>", extract.MimeHTML},
		{"page", "", "<!DOCTYPE html><html><body>x</body></html>", extract.MimeHTML},
		{"a.txt", "", "plain words", extract.MimeText},
		{"data.csv", "", "a,b\n1,2", extract.MimeText},
	}
	for _, tc := range cases {
		got, err := extract.DetectType(tc.name, tc.declared, []byte(tc.data))
		require.NoError(t, err, tc.name)
		require.Equal(t, tc.want, got, tc.name)
	}
	_, err := extract.DetectType("x.txt", "", []byte("\x89PNG\r\n\x1a\n"))
	require.Equal(t, apperr.Unsupported, apperr.KindOf(err))
	require.True(t, apperr.Is(err, extract.CodeUnsupportedMediaType))
	_, err = extract.DetectType("latin1.txt", "", []byte("caf\xe9"))
	require.Equal(t, apperr.Unsupported, apperr.KindOf(err), "invalid UTF-8 is not text")
}

func TestHTMLDropsScriptsStylesAndNavigation(t *testing.T) {
	t.Parallel()
	doc := `<html><head><title>T</title><style>p{color:red}</style><script>alert(1)</script></head>
	<body><nav><a href="/">Home</a></nav><header>Site header</header><h1>Main title</h1>
	<p>First   paragraph with <b>bold</b> text.</p><script>track()</script><p>Second paragraph.</p><footer>Footer</footer></body></html>`
	e, err := extract.Extract(extract.MimeHTML, []byte(doc), extract.Limits{})
	require.NoError(t, err)
	for _, gone := range []string{"alert", "color", "Home", "Site header", "track", "Footer"} {
		require.NotContains(t, e.Text, gone)
	}
	require.Contains(t, e.Text, "# Main title")
	require.Contains(t, e.Text, "First paragraph with bold text.")
	require.Contains(t, e.Text, "\n\nSecond paragraph.")
}

// TestHTMLInlineTagsKeepTextWhole: inline elements join their text to
// the neighbouring text exactly as the source's whitespace says.
func TestHTMLInlineTagsKeepTextWhole(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, html, want string }{
		{"InlineTagInsideAWord", `<p>That was un<b>believ</b>able.</p>`, "That was unbelievable."},
		{"NestedInlineTagsInsideAWord", `<p>re<i>con<b>struct</b></i>ed</p>`, "reconstructed"},
		{"LinkTextInsideASentence", `<p>Read <a href="/d">the docs</a>, then <a href="/x">try it</a>.</p>`, "Read the docs, then try it."},
		{"LinkInParentheses", `<p>See (<a href="#">below</a>) for more.</p>`, "See (below) for more."},
		{"SpaceInsideTheTagStillSeparates", `<p>one<b> two </b>three</p>`, "one two three"},
		{"LineBreakInSourceIsASpace", "<p>alpha\n<em>beta</em>\ngamma</p>", "alpha beta gamma"},
		{"EntitiesAroundInlineTags", `<p>Tom&amp;<b>Jerry</b>&rsquo;s</p>`, "Tom&Jerry’s"},
		{"HeadingWithInlineTag", "<h2>\n  Intro<code>duction</code></h2><p>Body.</p>", "# Introduction\n\nBody."},
		{"BlocksStillSeparate", `<div>left</div><div>right</div>`, "left\n\nright"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, err := extract.Extract(extract.MimeHTML, []byte(tc.html), extract.Limits{})
			require.NoError(t, err)
			require.Equal(t, tc.want, e.Text)
		})
	}
}

func TestExtractEnforcesMaxChars(t *testing.T) {
	t.Parallel()
	text := []byte(strings.Repeat("é", 101))
	_, err := extract.Extract(extract.MimeText, text, extract.Limits{MaxChars: 100})
	require.Equal(t, apperr.TooLarge, apperr.KindOf(err))
	require.True(t, apperr.Is(err, extract.CodeTextTooLong), "%v", err)
	e, err := extract.Extract(extract.MimeText, text, extract.Limits{MaxChars: 101})
	require.NoError(t, err, "the limit counts code points, not bytes")
	require.Equal(t, string(text), e.Text)
}

func TestExtractRejectsBrokenPDFAndUnknownType(t *testing.T) {
	t.Parallel()
	_, err := extract.Extract(extract.MimePDF, []byte("%PDF-1.4\n1 0 obj << /Type /Catalog"), extract.Limits{})
	require.Equal(t, apperr.Unprocessable, apperr.KindOf(err))
	require.True(t, apperr.Is(err, extract.CodeExtractionFailed), "%v", err)
	_, err = extract.Extract("image/png", []byte("x"), extract.Limits{})
	require.True(t, apperr.Is(err, extract.CodeUnsupportedMediaType), "%v", err)
}

func TestPageAt(t *testing.T) {
	t.Parallel()
	e := extract.Result{Text: "aaaa\n\nbbbb", PageStarts: []int{0, 6}}
	require.Equal(t, 1, e.PageAt(0))
	require.Equal(t, 1, e.PageAt(5))
	require.Equal(t, 2, e.PageAt(6))
	require.Equal(t, 0, extract.Result{Text: "x"}.PageAt(0), "no pages")
}

func FuzzHTMLText(f *testing.F) {
	f.Add(`<p>un<b>believ</b>able <a href="x">link</a>, end</p>`)
	f.Add("<h1>T</h1><script>x</script><div>a&nbsp;b</div>")
	f.Fuzz(func(t *testing.T, doc string) {
		e, err := extract.Extract(extract.MimeHTML, []byte(doc), extract.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(e.Text, "  ") || strings.Contains(e.Text, "\n\n\n") {
			t.Fatalf("uncollapsed whitespace in %q", e.Text)
		}
		if e.Text != strings.TrimSpace(e.Text) {
			t.Fatalf("surrounding whitespace in %q", e.Text)
		}
	})
}

// bombHeapBound is the most heap extracting a 1 GiB PDF bomb may take:
// the file (3.5 MB), the PDF reader and the inflater's window; on main
// before issue 12 it took 3-4 GB.
const bombHeapBound = 64 << 20

func TestPDFBombFailsWithinItsBudget(t *testing.T) {
	bomb := pdftest.Build(pdftest.TextPage("A harmless first page."), pdftest.Bomb(1024))
	t.Logf("bomb: %d bytes inflating to 1 GiB", len(bomb))
	var err error
	peak := pdftest.PeakHeap(func() {
		_, err = extract.Extract(extract.MimePDF, bomb, extract.Limits{MaxChars: 10_000_000})
	})
	t.Logf("peak heap while extracting: %.1f MiB (bound %d MiB)", float64(peak)/(1<<20), bombHeapBound>>20)
	require.Error(t, err)
	e, ok := apperr.As(err)
	require.True(t, ok)
	require.Equal(t, apperr.TooLarge, e.Kind)
	require.Equal(t, extract.CodeOverBudget, e.Code)
	require.Contains(t, e.Message, "page 2")
	require.Less(t, peak, uint64(bombHeapBound))
}

func TestPDFBudgets(t *testing.T) {
	t.Parallel()
	page := func(i int) pdftest.Page { return pdftest.TextPage(fmt.Sprintf("Page %d talks about granite.", i)) }
	three := pdftest.Build(page(1), page(2), page(3))
	cases := []struct {
		name string
		lim  extract.Limits
		code string
		msg  string
	}{
		{"TooManyPages", extract.Limits{MaxPages: 2}, extract.CodeOverBudget, "3 pages, over the limit of 2"},
		{"ContentOverTheTotal", extract.Limits{MaxContentBytes: 100}, extract.CodeOverBudget, "at page 2"},
		{"TextOverTheLimitStopsAtThePage", extract.Limits{MaxChars: 40}, extract.CodeTextTooLong, "at page 2 of 3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := extract.Extract(extract.MimePDF, three, tc.lim)
			e, ok := apperr.As(err)
			require.True(t, ok, "%v", err)
			require.Equal(t, tc.code, e.Code)
			require.Contains(t, e.Message, tc.msg)
		})
	}
	t.Run("WithinTheBudget", func(t *testing.T) {
		t.Parallel()
		r, err := extract.Extract(extract.MimePDF, three, extract.Limits{MaxPages: 3, MaxContentBytes: 1000, MaxChars: 1000})
		require.NoError(t, err)
		require.Len(t, r.PageStarts, 3)
		require.Contains(t, r.Text, "Page 3 talks about granite.")
	})
}

func TestHTMLStopsAtTheCharacterBudget(t *testing.T) {
	t.Parallel()
	page := "<html><body>" + strings.Repeat("<p>Granite rivers and glaciers.</p>", 10_000) + "</body></html>"
	_, err := extract.Extract(extract.MimeHTML, []byte(page), extract.Limits{MaxChars: 1000})
	e, ok := apperr.As(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, extract.CodeTextTooLong, e.Code)
	require.Contains(t, e.Message, "stopped while extracting", "it stops early instead of extracting all and counting")
	r, err := extract.Extract(extract.MimeHTML, []byte(page), extract.Limits{MaxChars: 400_000})
	require.NoError(t, err)
	require.Contains(t, r.Text, "Granite rivers and glaciers.\n\nGranite")
}

// A PDF with bytes after its %%EOF (a mail gateway's footer, a second
// download appended) or with a damaged cross-reference table opens in a
// viewer; extraction recovers it too.
func TestPDFRecoversTrailingBytesAndADamagedXref(t *testing.T) {
	t.Parallel()
	doc := pdftest.Build(pdftest.TextPage("Granite forms from magma."), pdftest.TextPage("Rivers carve valleys."))
	trailing := append(append([]byte{}, doc...), []byte(strings.Repeat("-- sent from the gateway, not part of the file --\n", 40))...)
	res, err := extract.Extract(extract.MimePDF, trailing, extract.Limits{MaxChars: 10_000})
	require.NoError(t, err, "trailing bytes after %%EOF")
	require.Contains(t, res.Text, "Granite forms from magma.")
	require.Contains(t, res.Text, "Rivers carve valleys.")

	i := bytes.LastIndex(doc, []byte("startxref"))
	require.Positive(t, i)
	damaged := append(append([]byte{}, doc[:i]...), []byte("startxref\n999999\n%%EOF\n")...)
	res, err = extract.Extract(extract.MimePDF, damaged, extract.Limits{MaxChars: 10_000})
	require.NoError(t, err, "a startxref that points nowhere")
	require.Contains(t, res.Text, "Rivers carve valleys.")

	_, err = extract.Extract(extract.MimePDF, []byte("%PDF-1.4\nnot really a PDF\n"), extract.Limits{MaxChars: 10_000})
	require.Error(t, err, "a broken file still fails clearly")
}
