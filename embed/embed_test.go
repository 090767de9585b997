package embed

import (
	"context"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func cosine(a, b []float32) float64 {
	var d float64
	for i := range a {
		d += float64(a[i]) * float64(b[i])
	}
	return d
}

func TestHashingIsDeterministicAndNormalised(t *testing.T) {
	t.Parallel()
	h := NewHashing()
	vs, err := h.Embed(context.Background(), []string{"The quick brown fox", "The quick brown fox", "", "中华人民共和国"})
	require.NoError(t, err)
	require.Len(t, vs, 4)
	require.Equal(t, vs[0], vs[1])
	for _, v := range vs {
		require.Len(t, v, HashDim)
		var n float64
		for _, x := range v {
			n += float64(x) * float64(x)
		}
		require.InDelta(t, 1, math.Sqrt(n), 1e-5)
	}
}

func TestHashingRanksRelatedTextHigher(t *testing.T) {
	t.Parallel()
	h := NewHashing()
	cases := []struct{ name, q, related, unrelated string }{
		{"English", "when was the university founded", "The university was founded in 1850 by monks.", "Rainfall in the desert is rare and brief."},
		{"Chinese", "大学是什么时候成立的", "这所大学成立于1850年。", "沙漠中的降雨很少。"},
		{"Hindi", "विश्वविद्यालय की स्थापना कब हुई", "विश्वविद्यालय की स्थापना 1850 में हुई थी।", "रेगिस्तान में बारिश दुर्लभ है।"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			q := h.Vector(tc.q)
			require.Greater(t, cosine(q, h.Vector(tc.related)), cosine(q, h.Vector(tc.unrelated)))
		})
	}
}

func TestEmbedHonoursCancelledContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := NewHashing().Embed(ctx, []string{"a"})
	require.ErrorIs(t, err, context.Canceled)
}
