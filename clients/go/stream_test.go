package embedroute_test

import (
	"fmt"
	"slices"
	"testing"

	embedroute "github.com/embedroute/embedroute/clients/go"
)

func TestEmbedStreamYieldsEveryInputInOrder(t *testing.T) {
	client, ctx := newClient(t), testContext(t)
	texts := make([]string, 24)
	for i := range texts {
		texts[i] = fmt.Sprintf("streamed text number %d", i)
	}
	want, err := client.Embed(ctx, texts, embedroute.EmbedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	next := 0
	for item, err := range client.EmbedStream(ctx, slices.Values(texts), embedroute.EmbedOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		if item.Index != next {
			t.Fatalf("got index %d, want %d", item.Index, next)
		}
		near(t, item.Vector, want[next], 1e-5)
		next++
	}
	if next != len(texts) {
		t.Fatalf("got %d results, want %d", next, len(texts))
	}
}

func TestEmbedStreamStopsOnTheFirstError(t *testing.T) {
	client, ctx := newClient(t), testContext(t)
	var failed *embedroute.Error
	for _, err := range client.EmbedStream(ctx, slices.Values([]string{"fine", ""}), embedroute.EmbedOptions{}) {
		if err != nil {
			failed = asError(t, err)
		}
	}
	if failed == nil || failed.Reason != "INVALID_ARGUMENT" {
		t.Fatalf("want an INVALID_ARGUMENT, got %v", failed)
	}
}

func TestRerankStreamOverChunksEqualsUnaryRerank(t *testing.T) {
	client, ctx := newClient(t), testContext(t)
	docs := make([]string, 5)
	for i := range docs {
		topic := "gravity"
		if i%3 == 0 {
			topic = "Beijing"
		}
		docs[i] = fmt.Sprintf("document %d about %s", i, topic)
	}
	unary, err := client.Rerank(ctx, "capital of China", docs, embedroute.RerankOptions{})
	if err != nil {
		t.Fatal(err)
	}
	top, err := client.RerankStream(ctx, "capital of China", slices.Values(docs), 2, embedroute.RerankOptions{TopN: 3})
	if err != nil {
		t.Fatal(err)
	}
	all, err := client.RerankStream(ctx, "capital of China", slices.Values(docs), 3, embedroute.RerankOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(top) != 3 || len(all) != 5 {
		t.Fatalf("got %d and %d results", len(top), len(all))
	}
	for i := range top {
		if top[i].Index != unary[i].Index || all[i].Index != unary[i].Index {
			t.Fatalf("rank %d: stream %d / %d, unary %d", i, top[i].Index, all[i].Index, unary[i].Index)
		}
	}
}

func TestStoppingEarlyCancelsTheStreamAndTheClientStaysUsable(t *testing.T) {
	client, ctx := newClient(t), testContext(t)
	texts := []string{"first", "second", "third"}
	var first []float32
	for item, err := range client.EmbedStream(ctx, slices.Values(texts), embedroute.EmbedOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		first = item.Vector
		break
	}
	want, err := client.Embed(ctx, texts[:1], embedroute.EmbedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	near(t, first, want[0], 1e-5)
}
