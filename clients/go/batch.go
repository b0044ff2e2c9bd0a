package embedroute

import (
	"context"
	"errors"
	"io"
	"iter"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/embedroute/embedroute/clients/go/gen/embedroute/v1"
)

// BatchLine is one request of a batch job, named by CustomID (unique in the job): an embed
// line when Texts is set, else a rerank line (Query, Documents). A job's lines are all of the
// first line's kind; a line of the other kind is answered with an error.
type BatchLine struct {
	CustomID  string
	Texts     []string
	Embed     EmbedOptions
	Query     string
	Documents []string
	Rerank    RerankOptions
}

// BatchLineProblem is a submitted line that names nothing to answer (no CustomID, or a
// repeated one); Line is 1-based in the order the lines were sent.
type BatchLineProblem struct {
	Code    string
	Message string
	Line    uint32
}

// Batch is a job as it stands. Status is OpenAI's: validating, in_progress, finalizing,
// completed, failed, expired, cancelling or cancelled.
type Batch struct {
	ID        string
	Status    string
	Total     uint32
	Completed uint32
	Failed    uint32
	CreatedAt int64 // Unix seconds
	ExpiresAt int64
	EndedAt   int64 // 0 until the job ends
	Errors    []BatchLineProblem
}

// Done tells whether the job reached a final status (its results can be read).
func (b Batch) Done() bool {
	switch b.Status {
	case "completed", "failed", "expired", "cancelled":
		return true
	}
	return false
}

// BatchResult is one line's answer: Vectors (embed lines, one per text), Ranking (rerank
// lines, best first) or Err, the error the live call would have returned.
type BatchResult struct {
	CustomID string
	Vectors  [][]float32
	Ranking  []RerankResult
	Err      *Error
}

func (l BatchLine) proto() *pb.SubmitBatchRequest {
	if l.Texts != nil {
		return &pb.SubmitBatchRequest{CustomId: l.CustomID, Request: &pb.SubmitBatchRequest_Embed{Embed: &pb.EmbedRequest{
			Model: l.Embed.Model, Inputs: l.Texts, Options: l.Embed.proto(),
		}}}
	}
	o := l.Rerank
	return &pb.SubmitBatchRequest{CustomId: l.CustomID, Request: &pb.SubmitBatchRequest_Rerank{Rerank: &pb.RerankRequest{
		Model: o.Model, Query: l.Query, Documents: l.Documents, TopN: o.TopN, Instruction: o.Instruction,
		ReturnDocuments: o.ReturnDocuments, Truncate: o.Truncate,
	}}}
}

func batchOf(b *pb.Batch) Batch {
	problems := make([]BatchLineProblem, len(b.GetErrors()))
	for i, e := range b.GetErrors() {
		problems[i] = BatchLineProblem{e.GetCode(), e.GetMessage(), e.GetLine()}
	}
	return Batch{
		ID: b.GetId(), Status: strings.ToLower(strings.TrimPrefix(b.GetStatus().String(), "BATCH_STATUS_")),
		Total: b.GetTotal(), Completed: b.GetCompleted(), Failed: b.GetFailed(), CreatedAt: b.GetCreatedAt(),
		ExpiresAt: b.GetExpiresAt(), EndedAt: b.GetEndedAt(), Errors: problems,
	}
}

func resultOf(r *pb.BatchResultsResponse) BatchResult {
	out := BatchResult{CustomID: r.GetCustomId()}
	switch answer := r.GetResult().(type) {
	case *pb.BatchResultsResponse_Embed:
		for _, e := range answer.Embed.GetEmbeddings() {
			out.Vectors = append(out.Vectors, e.GetFloatValues())
		}
	case *pb.BatchResultsResponse_Rerank:
		out.Ranking = results(answer.Rerank.GetResults())
	case *pb.BatchResultsResponse_Error:
		code := codes.Code(answer.Error.GetCode())
		out.Err = &Error{Code: code, Message: answer.Error.GetMessage(), Reason: answer.Error.GetReason(),
			status: status.New(code, answer.Error.GetMessage())}
	}
	return out
}

// SubmitBatch sends the lines as one job, streamed (read as the server takes them), and
// returns the job (validating). Not retried: the lines are read once.
func (c *Client) SubmitBatch(ctx context.Context, lines iter.Seq[BatchLine]) (Batch, error) {
	ctx, cancel := context.WithCancel(c.outgoing(ctx))
	defer cancel()
	stream, err := c.batches.SubmitBatch(ctx)
	if err != nil {
		return Batch{}, fromRPC(err)
	}
	for line := range lines {
		if err := stream.Send(line.proto()); err != nil {
			break // the server ended the call: CloseAndRecv returns why
		}
	}
	reply, err := stream.CloseAndRecv()
	if err != nil {
		return Batch{}, fromRPC(err)
	}
	return batchOf(reply.GetBatch()), nil
}

// Batch reads a job.
func (c *Client) Batch(ctx context.Context, id string) (Batch, error) {
	reply, err := withRetry(c.outgoing(ctx), c.retry, func(ctx context.Context) (*pb.GetBatchResponse, error) {
		return c.batches.GetBatch(ctx, &pb.GetBatchRequest{BatchId: id})
	})
	if err != nil {
		return Batch{}, err
	}
	return batchOf(reply.GetBatch()), nil
}

// BatchPage is a page of the caller's jobs, newest first; NextPageToken is empty on the last page.
type BatchPage struct {
	Batches       []Batch
	NextPageToken string
}

// ListBatches reads a page of the caller's jobs: pageSize 1 to 100 (0 means 20), pageToken
// the previous page's NextPageToken ("" for the first page).
func (c *Client) ListBatches(ctx context.Context, pageSize uint32, pageToken string) (BatchPage, error) {
	reply, err := withRetry(c.outgoing(ctx), c.retry, func(ctx context.Context) (*pb.ListBatchesResponse, error) {
		return c.batches.ListBatches(ctx, &pb.ListBatchesRequest{PageSize: pageSize, PageToken: pageToken})
	})
	if err != nil {
		return BatchPage{}, err
	}
	page := BatchPage{NextPageToken: reply.GetNextPageToken()}
	for _, b := range reply.GetBatches() {
		page.Batches = append(page.Batches, batchOf(b))
	}
	return page, nil
}

// CancelBatch stops a job after the lines in flight (cancelling, then cancelled); the lines
// answered so far keep their results.
func (c *Client) CancelBatch(ctx context.Context, id string) (Batch, error) {
	reply, err := withRetry(c.outgoing(ctx), c.retry, func(ctx context.Context) (*pb.CancelBatchResponse, error) {
		return c.batches.CancelBatch(ctx, &pb.CancelBatchRequest{BatchId: id})
	})
	if err != nil {
		return Batch{}, err
	}
	return batchOf(reply.GetBatch()), nil
}

// WatchBatch yields the job now, then each time its status or counts change; it ends when
// the job does (or with the call's error).
func (c *Client) WatchBatch(ctx context.Context, id string) iter.Seq2[Batch, error] {
	return func(yield func(Batch, error) bool) {
		ctx, cancel := context.WithCancel(c.outgoing(ctx))
		defer cancel()
		stream, err := c.batches.WatchBatch(ctx, &pb.WatchBatchRequest{BatchId: id})
		if err != nil {
			yield(Batch{}, fromRPC(err))
			return
		}
		for {
			reply, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				yield(Batch{}, fromRPC(err))
				return
			}
			if !yield(batchOf(reply.GetBatch()), nil) {
				return
			}
		}
	}
}

// BatchResults yields a finished job's answers, each CustomID once: answered lines first,
// then failed ones.
func (c *Client) BatchResults(ctx context.Context, id string) iter.Seq2[BatchResult, error] {
	return func(yield func(BatchResult, error) bool) {
		ctx, cancel := context.WithCancel(c.outgoing(ctx))
		defer cancel()
		stream, err := c.batches.BatchResults(ctx, &pb.BatchResultsRequest{BatchId: id})
		if err != nil {
			yield(BatchResult{}, fromRPC(err))
			return
		}
		for {
			reply, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				yield(BatchResult{}, fromRPC(err))
				return
			}
			if !yield(resultOf(reply), nil) {
				return
			}
		}
	}
}
