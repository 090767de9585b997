package answer_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/answer"
	"github.com/cairn-rag/cairn/citation"
	"github.com/cairn-rag/cairn/retrieval"
)

const markdownChunk = "# Paris\n\nParis is the capital of France. It has about two million residents. Dr. Who\nvisits.\n\n## Rivers ##\nSeine.\nThe Seine flows through the city.\n\nShort.\n\nThe Louvre is in Paris."

func TestSentencesBreakAtMarkdownHeadingsAndBlankLines(t *testing.T) {
	t.Parallel()
	var got []string
	for _, s := range answer.Sentences(markdownChunk) {
		require.Equal(t, s.Text, citation.Slice(markdownChunk, s.Start, s.Length), "a sentence is an exact span")
		got = append(got, s.Text)
	}
	require.Equal(t, []string{"Paris", "Paris is the capital of France.", "It has about two million residents.", "Dr. Who", "visits.", "Rivers",
		"Seine.", "The Seine flows through the city.", "Short.", "The Louvre is in Paris."}, got)
}

func TestExtractiveQuotesNoMarkdownHeading(t *testing.T) {
	t.Parallel()
	chunk := uuid.New()
	res, err := answer.Extractive{}.Answer(context.Background(), answer.Request{
		Question: "What is the capital of France?",
		Sources:  []retrieval.Hit{{ChunkID: chunk, Content: markdownChunk}},
	}, answer.Discard{})
	require.NoError(t, err)
	require.NotEmpty(t, res.Citations)
	require.Equal(t, "Paris is the capital of France.", res.Citations[0].Quote)
	for _, c := range res.Citations {
		require.Equal(t, chunk, c.ChunkID)
		require.Equal(t, c.Quote, citation.Slice(markdownChunk, c.StartChar, c.Length), "quote == content[start_char:start_char+length]")
		require.False(t, strings.HasPrefix(c.Quote, "#"), c.Quote)
		require.NotContains(t, c.Quote, "\n\n")
	}
}

func TestExtractiveDeclinesWhatTheSourcesDoNotAnswer(t *testing.T) {
	t.Parallel()
	src := []retrieval.Hit{{ChunkID: uuid.New(), Content: "The museum is closed on Mondays. Tickets for the museum cost twelve euros. The garden of the museum opens at noon."}}
	rec := &recorder{}
	res, err := answer.Extractive{}.Answer(context.Background(), answer.Request{Question: "What is the population of the city of Lyon?", Sources: src}, rec)
	require.NoError(t, err)
	require.Equal(t, answer.NotFoundText, res.Text)
	require.Empty(t, res.Citations)
	require.Empty(t, rec.citations)
	require.Less(t, rec.steps[0].Data["coverage"].(float64), answer.MinCoverageDefault)

	res, err = answer.Extractive{}.Answer(context.Background(), answer.Request{Question: "When is the museum closed?", Sources: src}, answer.Discard{})
	require.NoError(t, err)
	require.Equal(t, "The museum is closed on Mondays. [1]", res.Text)
	require.Len(t, res.Citations, 1)
}
