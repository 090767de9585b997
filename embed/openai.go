package embed

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/cairn-rag/cairn/internal/apperr"
	"github.com/cairn-rag/cairn/internal/retry"
)

// TimeoutDefault is OpenAIConfig.Timeout's default.
const TimeoutDefault = 2 * time.Minute

// OpenAIConfig configures the OpenAI-compatible embedder.
type OpenAIConfig struct {
	// BaseURL is the endpoint (OPENAI_BASE_URL), e.g. http://host:11434/v1; empty for OpenAI.
	BaseURL string
	// APIKey is the bearer key (OPENAI_API_KEY).
	APIKey string
	// Model is the embedding model name; it is also the model id stored on chunks.
	Model string
	// Dim is the dimension the model returns.
	Dim int
	// Timeout bounds one HTTP call (Config.ModelTimeout); 0 selects
	// TimeoutDefault.
	Timeout time.Duration
	// Retry is the retry policy for 429/5xx and transport errors.
	Retry retry.Policy
}

// OpenAI embeds through an OpenAI-compatible /v1/embeddings endpoint,
// retrying 429 and 5xx answers with capped, jittered backoff that
// honours Retry-After. Safe for concurrent use.
type OpenAI struct {
	cfg    OpenAIConfig
	client *openai.Client
}

// NewOpenAI returns an embedder for cfg.
func NewOpenAI(cfg OpenAIConfig) (*OpenAI, error) {
	if cfg.Model == "" || cfg.Dim <= 0 {
		return nil, fmt.Errorf("embed: OpenAI embedder needs a model and a dimension")
	}
	if cfg.Retry.Attempts == 0 {
		cfg.Retry = retry.DefaultPolicy
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = TimeoutDefault
	}
	oc := openai.DefaultConfig(cfg.APIKey)
	if cfg.BaseURL != "" {
		oc.BaseURL = cfg.BaseURL
	}
	oc.HTTPClient = &http.Client{Transport: retry.Transport{}}
	return &OpenAI{cfg: cfg, client: openai.NewClientWithConfig(oc)}, nil
}

// Model implements Embedder.
func (o *OpenAI) Model() string { return o.cfg.Model }

// Dim implements Embedder.
func (o *OpenAI) Dim() int { return o.cfg.Dim }

// Embed implements Embedder.
func (o *OpenAI) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if len(texts) == 0 {
		return nil, nil
	}
	var out [][]float32
	err := retry.Do(ctx, o.cfg.Retry, func(ctx context.Context) error {
		cctx, cancel := context.WithTimeout(ctx, o.cfg.Timeout)
		defer cancel()
		cctx, hint := retry.WithHint(cctx)
		resp, err := o.client.CreateEmbeddings(cctx, openai.EmbeddingRequest{
			Input: texts, Model: openai.EmbeddingModel(o.cfg.Model), EncodingFormat: openai.EmbeddingEncodingFormatFloat,
		})
		if err != nil {
			return classify(ctx, err, hint.After())
		}
		if len(resp.Data) != len(texts) {
			return apperr.New(apperr.BadGateway, apperr.CodeModelError, "embedding server returned %d vectors for %d texts", len(resp.Data), len(texts))
		}
		vs := make([][]float32, len(texts))
		for _, d := range resp.Data {
			if d.Index < 0 || d.Index >= len(texts) || vs[d.Index] != nil {
				return apperr.New(apperr.BadGateway, apperr.CodeModelError, "embedding server returned a bad index %d", d.Index)
			}
			if len(d.Embedding) != o.cfg.Dim {
				return apperr.New(apperr.BadGateway, apperr.CodeModelError, "embedding model %s returned %d dimensions, configured %d", o.cfg.Model, len(d.Embedding), o.cfg.Dim)
			}
			vs[d.Index] = d.Embedding
		}
		out = vs
		return nil
	})
	if err != nil {
		if _, ok := apperr.As(err); ok {
			return nil, err
		}
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, &apperr.Error{Kind: apperr.Unavailable, Code: apperr.CodeModelUnavailable, Message: "the embedding server is unavailable", Err: err}
	}
	return out, nil
}

// classify turns a go-openai error into a retryable error (429, 5xx,
// transport failures) or a final *apperr.Error.
func classify(ctx context.Context, err error, after time.Duration) error {
	if ctx.Err() != nil {
		return err
	}
	status := 0
	var ae *openai.APIError
	var re *openai.RequestError
	switch {
	case errors.As(err, &ae):
		status = ae.HTTPStatusCode
	case errors.As(err, &re):
		status = re.HTTPStatusCode
	}
	if status == 0 || retry.StatusRetryable(status) {
		return retry.Retryable(&apperr.Error{Kind: apperr.Unavailable, Code: apperr.CodeModelUnavailable,
			Message: fmt.Sprintf("the embedding server is unavailable (status %d)", status), Err: err}, after)
	}
	return &apperr.Error{Kind: apperr.BadGateway, Code: apperr.CodeModelError,
		Message: fmt.Sprintf("the embedding server answered status %d", status), Err: err}
}
