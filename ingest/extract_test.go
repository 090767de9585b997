package ingest_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/ingest"
	"github.com/cairn-rag/cairn/internal/apperr"
)

func TestDetectTypeBySniffingAndName(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, declared, data, want string
	}{
		{"a.pdf", "", "%PDF-1.4 ...", ingest.MimePDF},
		{"notes", "", "%PDF-1.7 named without extension", ingest.MimePDF},
		{"a.md", "", "# Title", ingest.MimeMarkdown},
		{"a.txt", "text/markdown", "# Title", ingest.MimeMarkdown},
		{"page.htm", "", "<p>hi</p>", ingest.MimeHTML},
		{"page", "", "<!DOCTYPE html><html><body>x</body></html>", ingest.MimeHTML},
		{"a.txt", "", "plain words", ingest.MimeText},
		{"data.csv", "", "a,b\n1,2", ingest.MimeText},
	}
	for _, tc := range cases {
		got, err := ingest.DetectType(tc.name, tc.declared, []byte(tc.data))
		require.NoError(t, err, tc.name)
		require.Equal(t, tc.want, got, tc.name)
	}
	_, err := ingest.DetectType("x.txt", "", []byte("\x89PNG\r\n\x1a\n"))
	require.Equal(t, apperr.Unsupported, apperr.KindOf(err))
	_, err = ingest.DetectType("latin1.txt", "", []byte("caf\xe9"))
	require.Equal(t, apperr.Unsupported, apperr.KindOf(err), "invalid UTF-8 is not text")
}

func TestHTMLDropsScriptsStylesAndNavigation(t *testing.T) {
	t.Parallel()
	doc := `<html><head><title>T</title><style>p{color:red}</style><script>alert(1)</script></head>
	<body><nav><a href="/">Home</a></nav><header>Site header</header><h1>Main title</h1>
	<p>First   paragraph with <b>bold</b> text.</p><script>track()</script><p>Second paragraph.</p><footer>Footer</footer></body></html>`
	e, err := ingest.Extract(ingest.MimeHTML, []byte(doc))
	require.NoError(t, err)
	for _, gone := range []string{"alert", "color", "Home", "Site header", "track", "Footer"} {
		require.NotContains(t, e.Text, gone)
	}
	require.Contains(t, e.Text, "# Main title")
	require.Contains(t, e.Text, "First paragraph with bold text.")
	require.Contains(t, e.Text, "\n\nSecond paragraph.")
}

func TestTextOverTheLimitFailsTheJob(t *testing.T) {
	t.Parallel()
	_, tenant, svc := setup(t, ingest.Options{MaxTextChars: 100})
	res, job := ingestWait(t, svc, tenant, ingest.UploadInput{Name: "long.txt", Data: []byte(strings.Repeat("word ", 100))})
	require.Equal(t, ingest.JobFailed, job.State)
	require.Contains(t, *job.Error, "text_too_long")
	doc, err := svc.Get(context.Background(), tenant, res.Document.ID)
	require.NoError(t, err)
	require.Nil(t, doc.CurrentVersionID)
}
