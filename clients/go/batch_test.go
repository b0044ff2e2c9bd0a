package embedroute_test

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	embedroute "github.com/embedroute/embedroute/clients/go"
)

// cancelLines is seconds of work uncancelled: far more than a CancelBatch takes to arrive.
const cancelLines = 1000

func watchToEnd(t *testing.T, client *embedroute.Client, id string) embedroute.Batch {
	t.Helper()
	var last embedroute.Batch
	for seen, err := range client.WatchBatch(testContext(t), id) {
		if err != nil {
			t.Fatal(err)
		}
		last = seen
	}
	if !last.Done() {
		t.Fatalf("watch ended at %+v", last)
	}
	return last
}

func TestBatchJobAnswersAsTheLiveCalls(t *testing.T) {
	client, ctx := newClient(t), testContext(t)
	texts := []string{"batch one", "batch two", "batch three", "batch four", "batch five"}
	var lines []embedroute.BatchLine
	for i, text := range texts {
		lines = append(lines, embedroute.BatchLine{CustomID: fmt.Sprintf("t%d", i), Texts: []string{text}})
	}
	lines = append(lines, embedroute.BatchLine{CustomID: "empty", Texts: []string{""}},
		embedroute.BatchLine{CustomID: "rerank", Query: "q", Documents: []string{"d"}})
	job, err := client.SubmitBatch(ctx, slices.Values(lines))
	if err != nil {
		t.Fatal(err)
	}
	if job.Status != "validating" || !strings.HasPrefix(job.ID, "batch_") {
		t.Fatalf("submitted %+v", job)
	}
	done := watchToEnd(t, client, job.ID)
	if done.Status != "completed" || done.Total != 7 || done.Completed != 5 || done.Failed != 2 {
		t.Fatalf("done %+v", done)
	}
	got, err := client.Batch(ctx, job.ID)
	if err != nil || !reflect.DeepEqual(got, done) {
		t.Fatalf("Batch %+v %v, watched %+v", got, err, done)
	}
	answers := map[string]embedroute.BatchResult{}
	for r, err := range client.BatchResults(ctx, job.ID) {
		if err != nil {
			t.Fatal(err)
		}
		answers[r.CustomID] = r
	}
	if len(answers) != 7 {
		t.Fatalf("%d answers", len(answers))
	}
	for i, text := range texts {
		live, err := client.Embed(ctx, []string{text}, embedroute.EmbedOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(answers[fmt.Sprintf("t%d", i)].Vectors, live) {
			t.Fatalf("line t%d differs from the live Embed", i)
		}
	}
	if e := answers["empty"].Err; e == nil || e.Code != codes.InvalidArgument {
		t.Fatalf("empty: %+v", answers["empty"])
	}
	if e := answers["rerank"].Err; e == nil || e.Reason != "INVALID_URL" {
		t.Fatalf("rerank line in an embed job: %+v", answers["rerank"])
	}
}

func TestBatchCancelAndUnknownJob(t *testing.T) {
	client, ctx := newClient(t), testContext(t)
	long := strings.Repeat("word ", 200)
	job, err := client.SubmitBatch(ctx, func(yield func(embedroute.BatchLine) bool) {
		for i := range cancelLines {
			if !yield(embedroute.BatchLine{CustomID: fmt.Sprintf("c%d", i), Texts: []string{long, long}}) {
				return
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	cancelling, err := client.CancelBatch(ctx, job.ID)
	if err != nil || cancelling.Status != "cancelling" {
		t.Fatalf("cancel: %+v %v", cancelling, err)
	}
	if done := watchToEnd(t, client, job.ID); done.Status != "cancelled" || done.Completed >= cancelLines {
		t.Fatalf("done %+v", done)
	}
	_, err = client.Batch(ctx, "batch_000000000000000000000000")
	var e *embedroute.Error
	if !errors.As(err, &e) || e.Code != codes.NotFound {
		t.Fatalf("unknown job: %v", err)
	}
}

func TestBatchesAreListedNewestFirst(t *testing.T) {
	client, ctx := newClient(t), testContext(t)
	var ids []string
	for _, text := range []string{"listed first", "listed second"} {
		job, err := client.SubmitBatch(ctx, slices.Values([]embedroute.BatchLine{{CustomID: "one", Texts: []string{text}}}))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, job.ID)
	}
	first, err := client.ListBatches(ctx, 1, "")
	if err != nil || len(first.Batches) != 1 || first.Batches[0].ID != ids[1] || first.NextPageToken != ids[1] {
		t.Fatalf("first page %+v %v", first, err)
	}
	second, err := client.ListBatches(ctx, 1, first.NextPageToken)
	if err != nil || len(second.Batches) != 1 || second.Batches[0].ID != ids[0] {
		t.Fatalf("second page %+v %v", second, err)
	}
	_, err = client.ListBatches(ctx, 101, "")
	var e *embedroute.Error
	if !errors.As(err, &e) || e.Code != codes.InvalidArgument {
		t.Fatalf("page of 101: %v", err)
	}
}
