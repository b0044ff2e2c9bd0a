package embedroute_test

import (
	"math"
	"testing"

	embedroute "github.com/embedroute/embedroute/clients/go"
)

func TestEmbedTokensGivesOneUnitVectorPerToken(t *testing.T) {
	client, ctx := newClient(t), testContext(t)
	inputs, err := client.EmbedTokens(ctx, []string{"late interaction", "a second, longer input text"}, embedroute.EmbedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(inputs) != 2 || len(inputs[1].Vectors) <= len(inputs[0].Vectors) {
		t.Fatalf("got %d inputs", len(inputs))
	}
	for _, in := range inputs {
		if len(in.Vectors) != len(in.TokenIDs) {
			t.Fatalf("%d vectors for %d tokens", len(in.Vectors), len(in.TokenIDs))
		}
		for _, v := range in.Vectors {
			var norm float64
			for _, x := range v {
				norm += float64(x) * float64(x)
			}
			if len(v) != 256 || math.Abs(norm-1) > 1e-4 {
				t.Fatalf("vector of %d, squared norm %v", len(v), norm)
			}
		}
	}
	one, err := client.EmbedTokens(ctx, []string{"late interaction"}, embedroute.EmbedOptions{Dimensions: 64})
	if err != nil {
		t.Fatal(err)
	}
	if len(one[0].Vectors) != len(inputs[0].Vectors) || len(one[0].Vectors[0]) != 64 {
		t.Fatalf("cut: %d vectors of %d", len(one[0].Vectors), len(one[0].Vectors[0]))
	}
}
