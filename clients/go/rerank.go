package embedroute

import (
	"context"
	"errors"
	"io"
	"iter"
	"sort"

	pb "github.com/embedroute/embedroute/clients/go/gen/embedroute/v1"
)

// RerankOptions are the per-call options of Rerank and RerankStream.
type RerankOptions struct {
	Model           string // empty: the only reranker served
	TopN            uint32 // 0: every document
	Instruction     string
	ReturnDocuments bool
	Truncate        bool
	Scoring         Scoring        // zero: the reranker when one is served, else cosine
	HybridWeights   *HybridWeights // with ScoringHybrid; nil: BGE-M3's 0.4, 0.2, 0.4
}

// Scoring is how Rerank scores documents.
type Scoring int

const (
	// ScoringDefault scores with the reranker when one is served, else by cosine over the embedding model.
	ScoringDefault Scoring = iota
	// ScoringReranker scores with a reranker model.
	ScoringReranker
	// ScoringCosine scores by cosine similarity of an embedding model's vectors.
	ScoringCosine
	// ScoringMaxSim scores by late interaction (MaxSim) over an embedding model's token vectors.
	ScoringMaxSim
	// ScoringHybrid is BGE-M3's weighted dense + sparse + ColBERT score (see HybridWeights).
	ScoringHybrid
)

var scorings = map[Scoring]pb.Scoring{
	ScoringDefault: pb.Scoring_SCORING_UNSPECIFIED, ScoringReranker: pb.Scoring_SCORING_RERANKER,
	ScoringCosine: pb.Scoring_SCORING_COSINE, ScoringMaxSim: pb.Scoring_SCORING_MAXSIM, ScoringHybrid: pb.Scoring_SCORING_HYBRID,
}

// HybridWeights weigh ScoringHybrid's dense, sparse (lexical) and ColBERT scores: each at least 0,
// not all 0; the server skips a score weighted 0.
type HybridWeights struct {
	Dense, Sparse, Colbert float32
}

func (w *HybridWeights) proto() *pb.HybridWeights {
	if w == nil {
		return nil
	}
	return &pb.HybridWeights{Dense: w.Dense, Sparse: w.Sparse, Colbert: w.Colbert}
}

// RerankResult is one scored document; Index is its position in the documents passed in.
type RerankResult struct {
	Index        int
	Score        float32 // p("yes") in [0, 1]
	Document     string  // with ReturnDocuments
	PromptTokens uint32
	Truncated    bool
}

func results(in []*pb.RerankResult) []RerankResult {
	out := make([]RerankResult, len(in))
	for i, r := range in {
		out[i] = RerankResult{int(r.GetIndex()), r.GetScore(), r.GetDocument(), r.GetPromptTokens(), r.GetTruncated()}
	}
	return out
}

// Rerank scores documents against query, best first; opts.Scoring picks how.
func (c *Client) Rerank(ctx context.Context, query string, documents []string, opts RerankOptions) ([]RerankResult, error) {
	request := &pb.RerankRequest{
		Model: opts.Model, Query: query, Documents: documents, TopN: opts.TopN,
		Instruction: opts.Instruction, ReturnDocuments: opts.ReturnDocuments, Truncate: opts.Truncate,
		Scoring: scorings[opts.Scoring], HybridWeights: opts.HybridWeights.proto(),
	}
	reply, err := withRetry(c.outgoing(ctx), c.retry, func(ctx context.Context) (*pb.RerankResponse, error) {
		return c.reranker.Rerank(ctx, request)
	})
	if err != nil {
		return nil, err
	}
	return results(reply.GetResults()), nil
}

// RerankStream reranks a candidate sequence too large for one message, sent in chunks of
// chunkSize, and returns the best opts.TopN (all when 0), best first.
func (c *Client) RerankStream(ctx context.Context, query string, documents iter.Seq[string], chunkSize int, opts RerankOptions) ([]RerankResult, error) {
	ctx, cancel := context.WithCancel(c.outgoing(ctx))
	defer cancel()
	stream, err := c.reranker.RerankStream(ctx)
	if err != nil {
		return nil, fromRPC(err)
	}
	go func() {
		message := &pb.RerankStreamRequest{
			Model: opts.Model, Query: query, Instruction: opts.Instruction, TopN: opts.TopN,
			ReturnDocuments: opts.ReturnDocuments, Truncate: opts.Truncate,
			Scoring: scorings[opts.Scoring], HybridWeights: opts.HybridWeights.proto(),
		}
		first := true
		for document := range documents {
			message.Documents = append(message.Documents, document)
			if len(message.Documents) >= max(chunkSize, 1) {
				if stream.Send(message) != nil {
					return
				}
				message, first = &pb.RerankStreamRequest{}, false
			}
		}
		if first || len(message.Documents) > 0 {
			_ = stream.Send(message)
		}
		_ = stream.CloseSend()
	}()
	var collected []RerankResult
	for {
		reply, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fromRPC(err)
		}
		if reply.GetFinal() {
			if opts.TopN > 0 {
				return results(reply.GetResults()), nil
			}
			continue
		}
		collected = append(collected, results(reply.GetResults())...)
	}
	sort.SliceStable(collected, func(i, j int) bool { return collected[i].Score > collected[j].Score })
	if opts.TopN > 0 && len(collected) > int(opts.TopN) {
		collected = collected[:opts.TopN]
	}
	return collected, nil
}
