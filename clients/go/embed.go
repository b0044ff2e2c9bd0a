package embedroute

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"strconv"

	pb "github.com/embedroute/embedroute/clients/go/gen/embedroute/v1"
)

// InputType tells instruction-aware models (Qwen3-Embedding) a query from a document.
type InputType int

const (
	// Document is the default: no instruction prefix.
	Document InputType = iota
	// Query gets the "Instruct: {task}\nQuery:" prefix.
	Query
)

// EmbedOptions are the per-call options; the zero value embeds documents at full size.
type EmbedOptions struct {
	Model       string // empty: the only embedding model served
	InputType   InputType
	Instruction string // task for queries; empty: the model's default
	Dimensions  uint32 // Matryoshka size; 0: full
	Truncate    bool   // cut over-long inputs instead of failing
	// Unnormalized returns raw vectors instead of unit-length ones.
	Unnormalized bool
	// ExpectVectorSpace, when set, fails the call with *VectorSpaceMismatchError if the
	// server's vector-space id differs (overrides WithExpectVectorSpace).
	ExpectVectorSpace string
}

func (c *Client) expected(opts EmbedOptions) string {
	if opts.ExpectVectorSpace != "" {
		return opts.ExpectVectorSpace
	}
	return c.space
}

func (o EmbedOptions) proto() *pb.EmbedOptions {
	inputType := pb.InputType_INPUT_TYPE_DOCUMENT
	if o.InputType == Query {
		inputType = pb.InputType_INPUT_TYPE_QUERY
	}
	normalize := !o.Unnormalized
	return &pb.EmbedOptions{
		InputType:   inputType,
		Instruction: o.Instruction,
		Dimensions:  o.Dimensions,
		Normalize:   &normalize,
		Truncate:    o.Truncate,
		Encoding:    pb.Encoding_ENCODING_FLOAT32,
	}
}

// Embed returns one float32 vector per text, in input order.
func (c *Client) Embed(ctx context.Context, texts []string, opts EmbedOptions) ([][]float32, error) {
	request := &pb.EmbedRequest{Model: opts.Model, Inputs: texts, Options: opts.proto()}
	reply, err := withRetry(c.outgoing(ctx), c.retry, func(ctx context.Context) (*pb.EmbedResponse, error) {
		return c.embedder.Embed(ctx, request)
	})
	if err != nil {
		return nil, err
	}
	if err := checkSpace(c.expected(opts), reply.GetVectorSpaceId(), reply.GetModel()); err != nil {
		return nil, err
	}
	vectors := make([][]float32, len(reply.GetEmbeddings()))
	for i, e := range reply.GetEmbeddings() {
		vectors[i] = e.GetFloatValues()
	}
	return vectors, nil
}

// EmbedTokens returns every token's vector of each text (late interaction, multi-vector
// retrieval): per text, one float32 vector per token of the prompt the model saw (template and
// special tokens included), with the token ids. Options apply per token.
func (c *Client) EmbedTokens(ctx context.Context, texts []string, opts EmbedOptions) ([]TokenVectors, error) {
	request := &pb.EmbedTokensRequest{Model: opts.Model, Inputs: texts, Options: opts.proto()}
	reply, err := withRetry(c.outgoing(ctx), c.retry, func(ctx context.Context) (*pb.EmbedTokensResponse, error) {
		return c.embedder.EmbedTokens(ctx, request)
	})
	if err != nil {
		return nil, err
	}
	if err := checkSpace(c.expected(opts), reply.GetVectorSpaceId(), reply.GetModel()); err != nil {
		return nil, err
	}
	inputs := make([]TokenVectors, len(reply.GetInputs()))
	for i, t := range reply.GetInputs() {
		vectors := make([][]float32, len(t.GetVectors()))
		for j, v := range t.GetVectors() {
			vectors[j] = v.GetFloatValues()
		}
		inputs[i] = TokenVectors{TokenIDs: t.GetTokenIds(), Vectors: vectors, Truncated: t.GetTruncated()}
	}
	return inputs, nil
}

// TokenVectors are one text's token vectors: Vectors[i] belongs to TokenIDs[i].
type TokenVectors struct {
	TokenIDs  []uint32
	Vectors   [][]float32
	Truncated bool
}

// EmbedSparse returns BGE-M3's sparse (lexical) weights of each text, from the same one decode
// as its dense and ColBERT vectors: per text, vocabulary ids ascending and the weight of each
// (with each id's token string when returnTokens is set). Of opts, Model, InputType,
// Instruction and Truncate apply. A model without the sparse head answers InvalidArgument.
func (c *Client) EmbedSparse(ctx context.Context, texts []string, opts EmbedOptions, returnTokens bool) ([]SparseVector, error) {
	request := &pb.EmbedSparseRequest{Model: opts.Model, Inputs: texts, Options: opts.proto(), ReturnTokens: returnTokens}
	reply, err := withRetry(c.outgoing(ctx), c.retry, func(ctx context.Context) (*pb.EmbedSparseResponse, error) {
		return c.embedder.EmbedSparse(ctx, request)
	})
	if err != nil {
		return nil, err
	}
	inputs := make([]SparseVector, len(reply.GetInputs()))
	for i, v := range reply.GetInputs() {
		inputs[i] = SparseVector{
			TokenIDs: v.GetTokenIds(), Weights: v.GetWeights(), Tokens: v.GetTokens(),
			PromptTokens: v.GetPromptTokens(), Truncated: v.GetTruncated(),
		}
	}
	return inputs, nil
}

// SparseVector is one text's lexical weights: Weights[i] belongs to TokenIDs[i] (and
// Tokens[i], when asked for). The lexical score of two texts is the sum, over the ids they
// share, of the product of their weights.
type SparseVector struct {
	TokenIDs     []uint32
	Weights      []float32
	Tokens       []string
	PromptTokens uint32
	Truncated    bool
}

// VectorSpace returns the vector-space id of model's normalised embeddings (the only
// embedding model when model is ""): store it with an index and require it when querying.
func (c *Client) VectorSpace(ctx context.Context, model string) (string, error) {
	reply, err := withRetry(c.outgoing(ctx), c.retry, func(ctx context.Context) (*pb.ListModelsResponse, error) {
		return c.models.ListModels(ctx, &pb.ListModelsRequest{})
	})
	if err != nil {
		return "", err
	}
	var found []*pb.Model
	for _, m := range reply.GetModels() {
		if m.GetId() == model || (model == "" && m.GetKind() == pb.ModelKind_MODEL_KIND_EMBEDDING) {
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		return "", fmt.Errorf("embedroute: name the model: %d embedding models match %q", len(found), model)
	}
	return found[0].GetVectorSpaceId(), nil
}

// Streamed is one EmbedStream result; Index is the text's position in the input sequence.
type Streamed struct {
	Index  int
	Vector []float32
}

// EmbedStream embeds any sequence of texts over one stream, reading it only as fast as
// the server's flow control allows, and yields the vectors in input order. The first
// error ends the sequence; stopping the loop early cancels the stream.
func (c *Client) EmbedStream(ctx context.Context, texts iter.Seq[string], opts EmbedOptions) iter.Seq2[Streamed, error] {
	return func(yield func(Streamed, error) bool) {
		ctx, cancel := context.WithCancel(c.outgoing(ctx))
		defer cancel()
		stream, err := c.embedder.EmbedStream(ctx)
		if err != nil {
			yield(Streamed{}, fromRPC(err))
			return
		}
		sent := make(chan int, 1)
		go func() {
			options := opts.proto()
			n := 0
			for text := range texts {
				request := &pb.EmbedStreamRequest{Id: strconv.Itoa(n), Model: opts.Model, Input: text, Options: options}
				if stream.Send(request) != nil {
					break // the stream failed: Recv reports why
				}
				n++
			}
			_ = stream.CloseSend()
			sent <- n
		}()
		held := map[int][]float32{}
		next := 0
		for {
			reply, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				yield(Streamed{}, fromRPC(err))
				return
			}
			if err := checkSpace(c.expected(opts), reply.GetVectorSpaceId(), reply.GetModel()); err != nil {
				yield(Streamed{}, err)
				return
			}
			index, err := strconv.Atoi(reply.GetId())
			if err != nil {
				yield(Streamed{}, fmt.Errorf("embedroute: stream answered an id it was not sent: %q", reply.GetId()))
				return
			}
			held[index] = reply.GetEmbedding().GetFloatValues()
			for vector, ok := held[next]; ok; vector, ok = held[next] {
				delete(held, next)
				if !yield(Streamed{Index: next, Vector: vector}, nil) {
					return
				}
				next++
			}
		}
		if total := <-sent; next != total {
			yield(Streamed{}, fmt.Errorf("embedroute: stream ended after %d of %d results", next, total))
		}
	}
}
