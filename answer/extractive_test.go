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
