// Package extract owns text extraction: bytes of a file become NFC text
// (CRLF as LF) and, for PDFs, a page map. It chooses the extractor by
// content sniffing and name (DetectType) and enforces the extraction
// budget (Limits). It is pure: no database, no jobs, no network.
package extract

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ledongthuc/pdf"
	"golang.org/x/net/html"
	"golang.org/x/text/unicode/norm"

	"github.com/cairn-rag/cairn/internal/apperr"
)

// Media types Cairn extracts text from.
const (
	MimeText     = "text/plain"
	MimeMarkdown = "text/markdown"
	MimeHTML     = "text/html"
	MimePDF      = "application/pdf"
)

// DetectType chooses the extractor for data named name, by content
// sniffing first (PDF magic, binary content) and then by the name's
// extension. declared (a client's mime type, may be empty) is honoured
// when it names a supported type the content does not contradict.
// Unsupported content is an apperr.Unsupported (415).
func DetectType(name, declared string, data []byte) (string, error) {
	if bytes.HasPrefix(data, []byte("%PDF-")) {
		return MimePDF, nil
	}
	sniffed := http.DetectContentType(data)
	textual := strings.HasPrefix(sniffed, "text/") && utf8.Valid(data) && !bytes.Contains(data, []byte{0})
	if !textual {
		return "", apperr.New(apperr.Unsupported, CodeUnsupportedMediaType,
			"%s: unsupported content (%s); Cairn ingests text, Markdown, HTML and PDF", name, strings.SplitN(sniffed, ";", 2)[0])
	}
	declared = strings.ToLower(strings.TrimSpace(strings.SplitN(declared, ";", 2)[0]))
	switch declared {
	case MimeMarkdown, "text/x-markdown":
		return MimeMarkdown, nil
	case MimeHTML, "application/xhtml+xml":
		return MimeHTML, nil
	case MimePDF:
		return "", apperr.New(apperr.Unsupported, CodeUnsupportedMediaType, "%s: declared application/pdf but the content is not a PDF", name)
	}
	switch strings.ToLower(path.Ext(name)) {
	case ".md", ".markdown", ".mdown", ".mkd":
		return MimeMarkdown, nil
	case ".html", ".htm", ".xhtml":
		return MimeHTML, nil
	}
	if strings.HasPrefix(sniffed, "text/html") {
		return MimeHTML, nil
	}
	return MimeText, nil
}

// Result is the text of a file and, for PDFs, where each page starts
// (code point offsets, ascending; page i+1 starts at PageStarts[i]).
type Result struct {
	Text       string
	PageStarts []int
}

// PageAt returns the 1-based page holding code point offset off, or 0 when
// the text has no pages.
func (e Result) PageAt(off int) int {
	p := 0
	for i, s := range e.PageStarts {
		if s > off {
			break
		}
		p = i + 1
	}
	return p
}

// Defaults of Limits.
const (
	// MaxPagesDefault bounds the pages of a PDF.
	MaxPagesDefault = 5000
	// MaxContentBytesDefault bounds the decompressed content streams of a
	// PDF, all pages together.
	MaxContentBytesDefault = 256 << 20
	// MaxPageBytes bounds the decompressed content of one PDF page: the
	// PDF reader holds a page's text in memory, so this bounds the heap
	// one extraction can take (a few times this).
	MaxPageBytes = 32 << 20
)

// Limits bound one extraction; they are enforced while it runs, so a
// file over them fails as soon as it passes one, having taken little
// memory or time. Zero fields take the ...Default constants.
type Limits struct {
	// MaxChars bounds the extracted text, in code points. Over it,
	// Extract fails with CodeTextTooLong (apperr.TooLarge). Zero is
	// unlimited.
	MaxChars int
	// MaxPages bounds the pages of a PDF (MaxPagesDefault); over it,
	// CodeOverBudget.
	MaxPages int
	// MaxContentBytes bounds the decompressed content streams of a PDF
	// (MaxContentBytesDefault); over it, or over MaxPageBytes on one
	// page, CodeOverBudget.
	MaxContentBytes int64
}

// withDefaults returns l with zero fields set to their defaults.
func (l Limits) withDefaults() Limits {
	if l.MaxPages <= 0 {
		l.MaxPages = MaxPagesDefault
	}
	if l.MaxContentBytes <= 0 {
		l.MaxContentBytes = MaxContentBytesDefault
	}
	return l
}

// Extract is ExtractContext without a deadline.
func Extract(mime string, data []byte, lim Limits) (Result, error) {
	return ExtractContext(context.Background(), mime, data, lim)
}

// ExtractContext returns the text of data of media type mime (from
// DetectType), NFC-normalised, within lim, stopping when ctx ends. A file
// that does not parse is an apperr.Unprocessable with code
// CodeExtractionFailed; text over lim.MaxChars is an apperr.TooLarge with
// code CodeTextTooLong; a PDF over its page or decompression budget is an
// apperr.TooLarge with code CodeOverBudget.
func ExtractContext(ctx context.Context, mime string, data []byte, lim Limits) (Result, error) {
	lim = lim.withDefaults()
	var r Result
	switch mime {
	case MimeText, MimeMarkdown:
		// NFC at most triples the code points of a text: a text three
		// times over the limit fails before it is copied.
		if n := utf8.RuneCount(data); lim.MaxChars > 0 && n > 3*lim.MaxChars {
			return Result{}, tooLong(n, lim.MaxChars)
		}
		r = Result{Text: norm.NFC.String(strings.ReplaceAll(string(data), "\r\n", "\n"))}
	case MimeHTML:
		t, err := htmlText(ctx, data, 3*lim.MaxChars)
		if err != nil {
			return Result{}, err
		}
		r = Result{Text: norm.NFC.String(t)}
	case MimePDF:
		var err error
		if r, err = pdfText(ctx, data, lim); err != nil {
			return Result{}, err
		}
	default:
		return Result{}, apperr.New(apperr.Unsupported, CodeUnsupportedMediaType, "unsupported media type %s", mime)
	}
	if lim.MaxChars > 0 {
		if n := utf8.RuneCountInString(r.Text); n > lim.MaxChars {
			return Result{}, tooLong(n, lim.MaxChars)
		}
	}
	return r, nil
}

func tooLong(n, limit int) error {
	return apperr.New(apperr.TooLarge, CodeTextTooLong, "the extracted text has %d characters, over the limit of %d", n, limit)
}

func overBudget(format string, args ...any) error {
	return apperr.New(apperr.TooLarge, CodeOverBudget, format, args...)
}

// skipped HTML elements: scripts, styles and navigation chrome.
var skipped = map[string]bool{
	"script": true, "style": true, "nav": true, "noscript": true, "template": true,
	"header": true, "footer": true, "aside": true, "svg": true, "head": true, "iframe": true, "form": true,
}

var blocks = map[string]bool{
	"p": true, "div": true, "section": true, "article": true, "main": true, "br": true, "li": true,
	"ul": true, "ol": true, "table": true, "tr": true, "td": true, "th": true, "pre": true, "blockquote": true,
	"h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true, "hr": true, "dd": true, "dt": true,
	"title": true, "body": true,
}

// htmlText returns the visible text of an HTML document: blocks are
// separated by blank lines, headings start with "# " (so the chunker
// breaks before them), runs of whitespace collapse. It stops with
// CodeTextTooLong once the text passes maxRunes code points (0: no
// limit; the caller's limit times three, as NFC may expand the text that
// much) and with ctx's error when ctx ends.
func htmlText(ctx context.Context, data []byte, maxRunes int) (string, error) {
	z := html.NewTokenizer(bytes.NewReader(data))
	var sb strings.Builder
	depthSkip := 0
	pendingBreak := false
	space := false
	runes := 0
	for tokens := 0; ; tokens++ {
		if tokens%4096 == 0 && ctx.Err() != nil {
			return "", ctx.Err()
		}
		if maxRunes > 0 && runes > maxRunes {
			return "", apperr.New(apperr.TooLarge, CodeTextTooLong,
				"the extracted text passes the limit of %d characters (stopped while extracting)", maxRunes/3)
		}
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return strings.TrimSpace(sb.String()), nil
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			nameB, _ := z.TagName()
			name := string(nameB)
			if skipped[name] {
				if tt == html.StartTagToken {
					depthSkip++
				} else if tt == html.EndTagToken && depthSkip > 0 {
					depthSkip--
				}
				continue
			}
			if blocks[name] {
				pendingBreak = true
				if tt == html.StartTagToken && len(name) == 2 && name[0] == 'h' && name[1] >= '1' && name[1] <= '6' && depthSkip == 0 {
					if sb.Len() > 0 {
						sb.WriteString("\n\n")
					}
					sb.WriteString("# ")
					pendingBreak, space = false, false
				}
			}
		case html.TextToken:
			// Text() consumes the token's text: read it once.
			t := string(z.Text())
			if depthSkip > 0 || t == "" {
				continue
			}
			// Whitespace at either end of a text token separates it from
			// its neighbours; no whitespace joins them, so inline tags
			// inside a word ("un<b>believ</b>able") or before punctuation
			// ("<a>docs</a>, then") add no space.
			if r, _ := utf8.DecodeRuneInString(t); unicode.IsSpace(r) {
				space = true
			}
			for _, f := range strings.Fields(t) {
				if pendingBreak && sb.Len() > 0 {
					sb.WriteString("\n\n")
				} else if space && sb.Len() > 0 && !endsInSpace(sb.String()) {
					sb.WriteByte(' ')
				}
				pendingBreak = false
				sb.WriteString(f)
				runes += utf8.RuneCountInString(f) + 1
				space = true
			}
			r, _ := utf8.DecodeLastRuneInString(t)
			space = unicode.IsSpace(r)
		}
	}
}

// endsInSpace reports whether s ends in a space or line break (after a
// heading's "# " no second space is written).
func endsInSpace(s string) bool {
	return s != "" && (s[len(s)-1] == ' ' || s[len(s)-1] == '\n')
}

// pdfText extracts the text of each page, pages separated by a blank
// line, remembering where each page starts. Before the PDF reader
// interprets a page, the page's content streams are inflated once into
// a counter (streaming, bounded memory) that stops at the budget, so a
// decompression bomb fails having inflated no more than the budget.
func pdfText(ctx context.Context, data []byte, lim Limits) (out Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = Result{}, parseFailed("PDF", fmt.Errorf("%v", r))
		}
	}()
	rd, err := openPDF(data)
	if err != nil {
		return Result{}, parseFailed("PDF", err)
	}
	n := rd.NumPage()
	if n == 0 {
		return Result{}, parseFailed("PDF", fmt.Errorf("no pages"))
	}
	if n > lim.MaxPages {
		return Result{}, overBudget("the PDF has %d pages, over the limit of %d", n, lim.MaxPages)
	}
	var sb strings.Builder
	runes := 0
	var inflated int64
	starts := make([]int, 0, n)
	for i := 1; i <= n; i++ {
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
		p := rd.Page(i)
		if p.V.IsNull() {
			starts = append(starts, runes)
			continue
		}
		budget := min(int64(MaxPageBytes), lim.MaxContentBytes-inflated)
		size, err := contentSize(ctx, p.V.Key("Contents"), budget)
		switch {
		case err != nil:
			return Result{}, err
		case size > budget && budget < MaxPageBytes:
			return Result{}, overBudget("the PDF's content streams inflate past the limit of %d bytes (at page %d)", lim.MaxContentBytes, i)
		case size > budget:
			return Result{}, overBudget("page %d's content stream inflates past the limit of %d bytes per page", i, MaxPageBytes)
		}
		inflated += size
		t, err := p.GetPlainText(nil)
		if err != nil {
			return Result{}, parseFailed("PDF", fmt.Errorf("page %d: %w", i, err))
		}
		t = norm.NFC.String(strings.TrimSpace(t))
		if sb.Len() > 0 && t != "" {
			sb.WriteString("\n\n")
			runes += 2
		}
		starts = append(starts, runes)
		sb.WriteString(t)
		runes += utf8.RuneCountInString(t)
		if lim.MaxChars > 0 && runes > lim.MaxChars {
			return Result{}, apperr.New(apperr.TooLarge, CodeTextTooLong,
				"the extracted text passes the limit of %d characters at page %d of %d", lim.MaxChars, i, n)
		}
	}
	return Result{Text: sb.String(), PageStarts: starts}, nil
}

// contentSize returns the decompressed size of a page's Contents (one
// stream or an array of them), reading at most budget+1 bytes: a result
// over budget means "more than budget".
func contentSize(ctx context.Context, v pdf.Value, budget int64) (int64, error) {
	var streams []pdf.Value
	switch v.Kind() {
	case pdf.Stream:
		streams = []pdf.Value{v}
	case pdf.Array:
		for i := range v.Len() {
			streams = append(streams, v.Index(i))
		}
	}
	var total int64
	buf := make([]byte, 64<<10)
	for _, st := range streams {
		if st.Kind() != pdf.Stream {
			continue
		}
		r := st.Reader()
		for total <= budget {
			if err := ctx.Err(); err != nil {
				_ = r.Close()
				return 0, err
			}
			k, err := r.Read(buf)
			total += int64(k)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				_ = r.Close()
				return 0, parseFailed("PDF", fmt.Errorf("content stream: %w", err))
			}
		}
		_ = r.Close()
		if total > budget {
			return total, nil
		}
	}
	return total, nil
}

func parseFailed(kind string, err error) error {
	return &apperr.Error{Kind: apperr.Unprocessable, Code: CodeExtractionFailed,
		Message: fmt.Sprintf("the %s could not be parsed: %v", kind, err), Err: err}
}

// openPDF opens data as a PDF, recovering what a viewer recovers: bytes
// after the last %%EOF are dropped, and a cross-reference table that
// does not lead to the objects is rebuilt from the "N G obj" headers of
// the file (classic PDFs; objects inside object streams are not found).
func openPDF(data []byte) (*pdf.Reader, error) {
	rd, err := pdf.NewReader(bytes.NewReader(data), int64(len(data)))
	if err == nil {
		return rd, nil
	}
	first := err
	if i := bytes.LastIndex(data, []byte("%%EOF")); i > 0 && len(bytes.TrimSpace(data[i+5:])) > 0 {
		data = data[:i+5]
		if rd, err := pdf.NewReader(bytes.NewReader(data), int64(len(data))); err == nil {
			return rd, nil
		}
	}
	if fixed, ok := rebuildXref(data); ok {
		if rd, err := pdf.NewReader(bytes.NewReader(fixed), int64(len(fixed))); err == nil {
			return rd, nil
		}
	}
	return nil, first
}

var (
	objHeader = regexp.MustCompile(`(?m)(?:^|[\r\n])(\d{1,10})[ \t]+(\d{1,5})[ \t]+obj\b`)
	rootRef   = regexp.MustCompile(`/Root[ \t\r\n]+(\d{1,10})[ \t\r\n]+(\d{1,5})[ \t\r\n]+R`)
)

// rebuildXref appends a cross-reference table built from the objects'
// headers, and a trailer naming the document catalog, to data.
func rebuildXref(data []byte) ([]byte, bool) {
	root := rootRef.FindSubmatch(data)
	if root == nil {
		return nil, false
	}
	offsets := map[int]int{}
	maxObj := 0
	for _, m := range objHeader.FindAllSubmatchIndex(data, -1) {
		n, err := strconv.Atoi(string(data[m[2]:m[3]]))
		if err != nil || n <= 0 || n > 10_000_000 {
			continue
		}
		offsets[n] = m[2] // the last definition of an object wins, as in an update
		maxObj = max(maxObj, n)
	}
	if len(offsets) == 0 {
		return nil, false
	}
	var b bytes.Buffer
	b.Write(data)
	b.WriteString("\n")
	start := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", maxObj+1)
	for n := 1; n <= maxObj; n++ {
		if off, ok := offsets[n]; ok {
			fmt.Fprintf(&b, "%010d 00000 n \n", off)
		} else {
			b.WriteString("0000000000 65535 f \n")
		}
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root %s %s R >>\nstartxref\n%d\n%%%%EOF\n", maxObj+1, root[1], root[2], start)
	return b.Bytes(), true
}
