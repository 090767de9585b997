package ingest

import (
	"bytes"
	"fmt"
	"net/http"
	"path"
	"strings"
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
		return "", apperr.New(apperr.Unsupported, "unsupported_media_type",
			"%s: unsupported content (%s); Cairn ingests text, Markdown, HTML and PDF", name, strings.SplitN(sniffed, ";", 2)[0])
	}
	declared = strings.ToLower(strings.TrimSpace(strings.SplitN(declared, ";", 2)[0]))
	switch declared {
	case MimeMarkdown, "text/x-markdown":
		return MimeMarkdown, nil
	case MimeHTML, "application/xhtml+xml":
		return MimeHTML, nil
	case MimePDF:
		return "", apperr.New(apperr.Unsupported, "unsupported_media_type", "%s: declared application/pdf but the content is not a PDF", name)
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

// Extracted is the text of a file and, for PDFs, where each page starts
// (code point offsets, ascending; page i+1 starts at PageStarts[i]).
type Extracted struct {
	Text       string
	PageStarts []int
}

// PageAt returns the 1-based page holding code point offset off, or 0 when
// the text has no pages.
func (e Extracted) PageAt(off int) int {
	p := 0
	for i, s := range e.PageStarts {
		if s > off {
			break
		}
		p = i + 1
	}
	return p
}

// Extract returns the text of data of media type mime (from DetectType),
// NFC-normalised. A file that does not parse is an apperr.Unprocessable
// with code extraction_failed.
func Extract(mime string, data []byte) (Extracted, error) {
	switch mime {
	case MimeText, MimeMarkdown:
		return Extracted{Text: norm.NFC.String(strings.ReplaceAll(string(data), "\r\n", "\n"))}, nil
	case MimeHTML:
		return Extracted{Text: norm.NFC.String(htmlText(data))}, nil
	case MimePDF:
		return pdfText(data)
	}
	return Extracted{}, apperr.New(apperr.Unsupported, "unsupported_media_type", "unsupported media type %s", mime)
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
// breaks before them), runs of whitespace collapse.
func htmlText(data []byte) string {
	z := html.NewTokenizer(bytes.NewReader(data))
	var sb strings.Builder
	depthSkip := 0
	pendingBreak := false
	space := false
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return strings.TrimSpace(sb.String())
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
			if depthSkip > 0 {
				continue
			}
			for _, f := range strings.Fields(string(z.Text())) {
				if pendingBreak && sb.Len() > 0 {
					sb.WriteString("\n\n")
					space = false
				} else if space && sb.Len() > 0 {
					sb.WriteByte(' ')
				}
				pendingBreak, space = false, false
				sb.WriteString(f)
				space = true
			}
			t := z.Text()
			if len(t) > 0 && !strings.ContainsRune(" \t\n\r\f", rune(t[len(t)-1])) {
				space = false
			}
		}
	}
}

// pdfText extracts the text of each page, pages separated by a blank
// line, remembering where each page starts.
func pdfText(data []byte) (out Extracted, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = Extracted{}, parseFailed("PDF", fmt.Errorf("%v", r))
		}
	}()
	rd, err := pdf.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return Extracted{}, parseFailed("PDF", err)
	}
	n := rd.NumPage()
	if n == 0 {
		return Extracted{}, parseFailed("PDF", fmt.Errorf("no pages"))
	}
	var sb strings.Builder
	runes := 0
	starts := make([]int, 0, n)
	for i := 1; i <= n; i++ {
		p := rd.Page(i)
		if p.V.IsNull() {
			starts = append(starts, runes)
			continue
		}
		t, err := p.GetPlainText(nil)
		if err != nil {
			return Extracted{}, parseFailed("PDF", fmt.Errorf("page %d: %w", i, err))
		}
		t = norm.NFC.String(strings.TrimSpace(t))
		if sb.Len() > 0 && t != "" {
			sb.WriteString("\n\n")
			runes += 2
		}
		starts = append(starts, runes)
		sb.WriteString(t)
		runes += utf8.RuneCountInString(t)
	}
	return Extracted{Text: sb.String(), PageStarts: starts}, nil
}

func parseFailed(kind string, err error) error {
	return &apperr.Error{Kind: apperr.Unprocessable, Code: "extraction_failed",
		Message: fmt.Sprintf("the %s could not be parsed: %v", kind, err), Err: err}
}
