package embedroute_test

import (
	"testing"

	embedroute "github.com/embedroute/embedroute/clients/go"
)

func TestRerankScoresEveryDocumentBestFirst(t *testing.T) {
	client, ctx := newClient(t), testContext(t)
	results, err := client.Rerank(ctx, queries[0], documents, embedroute.RerankOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 2 || results[0].Index == results[1].Index {
		t.Fatalf("results %+v", results)
	}
	if results[0].Score < results[1].Score || results[1].Score < 0 || results[0].Score > 1 {
		t.Fatalf("scores not sorted in [0,1]: %+v", results)
	}
}

func TestTopNAndReturnDocuments(t *testing.T) {
	client, ctx := newClient(t), testContext(t)
	full, err := client.Rerank(ctx, queries[1], documents, embedroute.RerankOptions{})
	if err != nil {
		t.Fatal(err)
	}
	top, err := client.Rerank(ctx, queries[1], documents, embedroute.RerankOptions{TopN: 1, ReturnDocuments: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(top) != 1 || top[0].Index != full[0].Index || top[0].Document != documents[full[0].Index] {
		t.Fatalf("top %+v, full %+v", top, full)
	}
}
