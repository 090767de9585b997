// Package embed owns turning text into vectors: the Embedder interface
// that ingest and retrieval share, and the offline default, a
// deterministic feature-hashing embedder over words and character n-grams
// that needs no network and works for every script textsearch handles.
package embed

import (
	"context"
	"hash/fnv"
	"math"
	"unicode/utf8"

	"github.com/cairn-rag/cairn/textsearch"
)

// Embedder turns texts into vectors of one model.
type Embedder interface {
	// Model is the model id recorded on every chunk embedded with it.
	Model() string
	// Dim is the dimension of the vectors.
	Dim() int
	// Embed returns one vector per text, in order. Errors are
	// *apperr.Error (Unavailable/BadGateway) for model-server failures.
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// HashDim is the dimension of the offline hashing embedder.
const HashDim = 384

// HashModelID is the model id of the offline hashing embedder.
const HashModelID = "cairn-hash-384-v1"

// Hashing is the offline embedder: each text's terms (words, or bigrams
// for unspaced scripts) and the character trigrams of each word are
// hashed into HashDim signed buckets, weighted by 1+log(tf), and the
// vector is L2-normalised. Deterministic and safe for concurrent use.
type Hashing struct{}

// NewHashing returns the offline embedder.
func NewHashing() Hashing { return Hashing{} }

// Model implements Embedder.
func (Hashing) Model() string { return HashModelID }

// Dim implements Embedder.
func (Hashing) Dim() int { return HashDim }

// Embed implements Embedder.
func (h Hashing) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		if i%64 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		out[i] = h.Vector(t)
	}
	return out, nil
}

// Vector embeds one text.
func (Hashing) Vector(text string) []float32 {
	counts := map[string]float64{}
	for _, term := range textsearch.Terms(text) {
		counts["w:"+term] += 1
		if utf8.RuneCountInString(term) >= 4 {
			r := []rune("<" + term + ">")
			for i := 0; i+3 <= len(r); i++ {
				counts["c:"+string(r[i:i+3])] += 0.35
			}
		}
	}
	v := make([]float64, HashDim)
	for feat, n := range counts {
		hs := fnv.New64a()
		hs.Write([]byte(feat))
		x := hs.Sum64()
		idx := int(x % HashDim)
		sign := 1.0
		if x>>63 == 1 {
			sign = -1
		}
		v[idx] += sign * (1 + math.Log(1+n))
	}
	var norm float64
	for _, x := range v {
		norm += x * x
	}
	out := make([]float32, HashDim)
	if norm == 0 {
		// No terms at all: a fixed unit vector keeps cosine distance defined.
		out[0] = 1
		return out
	}
	norm = math.Sqrt(norm)
	for i, x := range v {
		out[i] = float32(x / norm)
	}
	return out
}
