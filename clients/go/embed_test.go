package embedroute_test

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	embedroute "github.com/embedroute/embedroute/clients/go"
)

func TestEmbedReturnsUnitVectorsInInputOrder(t *testing.T) {
	client, ctx := newClient(t), testContext(t)
	both, err := client.Embed(ctx, []string{"first text", "second text"}, embedroute.EmbedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	one, err := client.Embed(ctx, []string{"second text"}, embedroute.EmbedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(both) != 2 || len(both[0]) != 256 {
		t.Fatalf("got %d vectors of %d", len(both), len(both[0]))
	}
	var norm float64
	for _, v := range both[0] {
		norm += float64(v) * float64(v)
	}
	if math.Abs(norm-1) > 1e-4 {
		t.Fatalf("squared norm %v", norm)
	}
	near(t, both[1], one[0], 1e-6)
}

func TestDimensionsCutAndRenormalise(t *testing.T) {
	client, ctx := newClient(t), testContext(t)
	full, err := client.Embed(ctx, []string{"matryoshka"}, embedroute.EmbedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cut, err := client.Embed(ctx, []string{"matryoshka"}, embedroute.EmbedOptions{Dimensions: 64})
	if err != nil {
		t.Fatal(err)
	}
	var norm float64
	for _, v := range full[0][:64] {
		norm += float64(v) * float64(v)
	}
	want := make([]float32, 64)
	for i, v := range full[0][:64] {
		want[i] = float32(float64(v) / math.Sqrt(norm))
	}
	near(t, cut[0], want, 1e-5)
}

func TestModelCardVectorsForTheCrossLanguageCheck(t *testing.T) {
	client, ctx := newClient(t), testContext(t)
	dir := env(t, "EMBEDROUTE_VECTORS_DIR")
	q, err := client.Embed(ctx, queries, embedroute.EmbedOptions{InputType: embedroute.Query, Instruction: task})
	if err != nil {
		t.Fatal(err)
	}
	d, err := client.Embed(ctx, documents, embedroute.EmbedOptions{InputType: embedroute.Document})
	if err != nil {
		t.Fatal(err)
	}
	scores := embedroute.Similarity(q, d)
	if len(scores) != 2 || len(scores[0]) != 2 {
		t.Fatalf("similarity shape %dx%d", len(scores), len(scores[0]))
	}
	blob, err := json.Marshal(map[string][][]float32{"queries": q, "documents": d})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.json"), blob, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSimilarityIsTheCosineMatrix(t *testing.T) {
	got := embedroute.Similarity([][]float32{{3, 4}, {1, 0}}, [][]float32{{0, 2}, {-1, 0}})
	near(t, got[0], []float32{0.8, -0.6}, 1e-6)
	near(t, got[1], []float32{0, -1}, 1e-6)
}
