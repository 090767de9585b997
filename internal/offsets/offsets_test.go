package offsets

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/stretchr/testify/require"
)

// texts mix ASCII, accents (precomposed and combining), CJK, emoji above
// U+FFFF, a ZWJ sequence, a flag, and a supplementary CJK ideograph.
var texts = []string{
	"",
	"plain ASCII text",
	"café crème, cafe\u0301 cre\u0300me",
	"東京は日本の首都です。北京は中国の首都です。",
	"emoji 😀 then 👩‍👩‍👧 family, flag 🇫🇷 and 𠮷野家 (U+20BB7)",
	"混ざった text: 日本語 😀 café e\u0301 👩🏽‍💻 終わり",
}

func TestUTF16LenMatchesEncoding(t *testing.T) {
	t.Parallel()
	for _, s := range texts {
		require.Equal(t, len(utf16.Encode([]rune(s))), UTF16Len(s), s)
		require.Equal(t, UTF16Len(s), NewIndex(s).UTF16Len(), s)
		require.Equal(t, len([]rune(s)), NewIndex(s).Len(), s)
	}
}

func TestIndexAgreesWithUTF16Of(t *testing.T) {
	t.Parallel()
	for _, s := range texts {
		ix := NewIndex(s)
		for cp := 0; cp <= len([]rune(s)); cp++ {
			want := len(utf16.Encode([]rune(s)[:cp]))
			require.Equal(t, want, ix.UTF16(cp), "%q at %d", s, cp)
			require.Equal(t, want, UTF16Of(s, cp), "%q at %d", s, cp)
		}
		require.Equal(t, ix.UTF16Len(), ix.UTF16(len([]rune(s))+5), "clamped past the end")
		require.Equal(t, 0, ix.UTF16(-1), "clamped before the start")
	}
}

// TestSpansMatchJavaScriptSlice checks the UTF-16 spans against what a
// browser does: node runs String.prototype.slice(start16, start16+len16)
// on each text and must return the code point span's substring.
func TestSpansMatchJavaScriptSlice(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	type probe struct {
		Text   string `json:"text"`
		Start  int    `json:"start"`
		Length int    `json:"length"`
		Want   string `json:"want"`
	}
	var probes []probe
	for _, s := range texts {
		rs := []rune(s)
		ix := NewIndex(s)
		for start := 0; start < len(rs); start += 3 {
			for _, l := range []int{1, 2, 5, len(rs) - start} {
				if start+l > len(rs) || l <= 0 {
					continue
				}
				s16, l16 := ix.Span(start, l)
				probes = append(probes, probe{Text: s, Start: s16, Length: l16, Want: string(rs[start : start+l])})
			}
		}
	}
	in, err := json.Marshal(probes)
	require.NoError(t, err)
	const script = `let d='';process.stdin.on('data',c=>d+=c).on('end',()=>{
const bad=JSON.parse(d).filter(p=>p.text.slice(p.start,p.start+p.length)!==p.want);
process.stdout.write(JSON.stringify(bad));});`
	cmd := exec.Command(node, "-e", script)
	cmd.Stdin = strings.NewReader(string(in))
	out, err := cmd.Output()
	require.NoError(t, err)
	require.Greater(t, len(probes), 100)
	require.JSONEq(t, "[]", string(out), "spans whose JavaScript slice differs from the code point span")
}

func FuzzIndex(f *testing.F) {
	for _, s := range texts {
		f.Add(s, 3)
	}
	f.Fuzz(func(t *testing.T, s string, cp int) {
		s = strings.ToValidUTF8(s, "\uFFFD")
		rs := []rune(s)
		cp = max(0, min(cp, len(rs)))
		require.Equal(t, len(utf16.Encode(rs[:cp])), NewIndex(s).UTF16(cp))
	})
}
