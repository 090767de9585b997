package textsearch

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTerms(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		in   string
		want []string
	}{
		{"LowercasesWordsAndDropsPunctuation", "Hello, World! It's 3.5", []string{"hello", "world", "it", "s", "3", "5"}},
		{"KeepsAccents", "L'école Française", []string{"l", "école", "française"}},
		{"ChineseBecomesBigrams", "中华人民", []string{"中华", "华人", "人民"}},
		{"SingleHanCharStaysWhole", "中 国", []string{"中", "国"}},
		{"MixedScriptRunSplits", "iPhone手机", []string{"iphone", "手机"}},
		{"ThaiCharacterBigrams", "ภาษาไทย", []string{"ภา", "าษ", "ษา", "าไ", "ไท", "ทย"}},
		{"ThaiToneMarkStaysOnItsBase", "น้ำ", []string{"น\u0e49\u0e4d\u0e32"}},
		{"HindiKeepsCombiningMarksInWords", "हिन्दी भाषा", []string{"हिन्दी", "भाषा"}},
		{"ArabicWords", "مرحبا بالعالم", []string{"مرحبا", "بالعالم"}},
		{"FullWidthIsNormalised", "ＡＢＣ", []string{"abc"}},
		{"EmojiIsNotATerm", "go 🚀 fast", []string{"go", "fast"}},
		{"Empty", "  ", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, Terms(tc.in))
		})
	}
}

func TestQueryQuotesAndDedups(t *testing.T) {
	t.Parallel()
	require.Equal(t, `'it' | 's' | 'o' | 'brien'`, Query("it's it's O'Brien"))
	require.Equal(t, `'a\\b'`, quoteLexeme(`a\b`))
	require.Equal(t, `'o''b'`, quoteLexeme(`o'b`))
	require.Equal(t, "", Query("!!!"))
}

func FuzzTerms(f *testing.F) {
	for _, s := range []string{"hello world", "中华人民共和国", "ภาษาไทย", "हिन्दी", "a\u0301b", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, term := range Terms(s) {
			if term == "" || len(term) > MaxTermBytes+8 {
				t.Fatalf("bad term %q from %q", term, s)
			}
			for _, r := range term {
				if !wordRune(r) {
					t.Fatalf("term %q holds non-word rune %q", term, r)
				}
			}
		}
	})
}
