package answer

import (
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/citation"
)

type collect struct {
	text  strings.Builder
	cites []citation.Citation
	steps []Step
}

func (c *collect) Delta(s string)               { c.text.WriteString(s) }
func (c *collect) Citation(x citation.Citation) { c.cites = append(c.cites, x) }
func (c *collect) Step(s Step)                  { c.steps = append(c.steps, s) }

func TestMarkersRenumberInOrderOfFirstUse(t *testing.T) {
	t.Parallel()
	out := &collect{}
	m := newMarkers(out)
	text := "B [3]. A [1] and a[0]. B again [3][1]. Odd [12"
	for _, piece := range []string{"B [", "3]. A [1", "] and a[0]. B again [3][", "1]. Odd [12"} {
		m.Delta(piece)
	}
	c3 := citation.Citation{ChunkID: uuid.New(), Marker: 3}
	c1 := citation.Citation{ChunkID: uuid.New(), Marker: 1}
	c5 := citation.Citation{ChunkID: uuid.New(), Marker: 5} // cited, never named in the text
	for _, c := range []citation.Citation{c3, c1, c5} {
		m.Citation(c)
	}
	m.Step(NewStep("citations", map[string]any{"accepted": []citation.Citation{c3, c1, c5}}))
	res := m.result(Result{Text: text, Citations: []citation.Citation{c3, c1, c5}})

	want := "B [1]. A [2] and a[0]. B again [1][2]. Odd [12"
	require.Equal(t, want, out.text.String())
	require.Equal(t, want, res.Text, "the stored text has the streamed numbers")
	var got []int
	for _, c := range res.Citations {
		got = append(got, c.Marker)
	}
	require.Equal(t, []int{1, 2, 3}, got)
	require.Equal(t, 1, out.cites[0].Marker)
	require.Equal(t, 3, out.cites[2].Marker)
	require.Equal(t, 2, out.steps[0].Data["accepted"].([]citation.Citation)[1].Marker)
}
