package embedroute_test

import (
	"encoding/json"
	"math"
	"os"
	"slices"
	"sort"
	"testing"

	"google.golang.org/grpc/codes"

	embedroute "github.com/embedroute/embedroute/clients/go"
)

// hybridCheck is EMBEDROUTE_M3_HYBRID (tests/clients/m3_hybrid.py): what to rerank on the tiny
// BGE-M3 server (EMBEDROUTE_M3_TARGET) and the scores the Python tests' numpy reference gives.
type hybridCheck struct {
	Query     string             `json:"query"`
	Documents []string           `json:"documents"`
	Weights   map[string]float32 `json:"weights"`
	Scores    []float64          `json:"scores"`
}

func m3Setup(t *testing.T) (*embedroute.Client, hybridCheck) {
	t.Helper()
	raw, err := os.ReadFile(env(t, "EMBEDROUTE_M3_HYBRID"))
	if err != nil {
		t.Fatal(err)
	}
	var check hybridCheck
	if err := json.Unmarshal(raw, &check); err != nil {
		t.Fatal(err)
	}
	client, err := embedroute.New(env(t, "EMBEDROUTE_M3_TARGET"), embedroute.WithAPIKey(env(t, "EMBEDROUTE_API_KEY")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return client, check
}

func assertReference(t *testing.T, results []embedroute.RerankResult, check hybridCheck) {
	t.Helper()
	order := make([]int, len(check.Scores))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return check.Scores[order[a]] > check.Scores[order[b]] })
	if len(results) != len(order) {
		t.Fatalf("%d results, want %d", len(results), len(order))
	}
	for i, r := range results {
		if r.Index != order[i] || math.Abs(float64(r.Score)-check.Scores[r.Index]) > 1e-4 {
			t.Fatalf("result %d: %+v, want index %d score %v", i, r, order[i], check.Scores[order[i]])
		}
	}
}

func TestHybridWithWeightsEqualsTheReference(t *testing.T) {
	client, check := m3Setup(t)
	ctx := testContext(t)
	opts := embedroute.RerankOptions{Scoring: embedroute.ScoringHybrid, HybridWeights: &embedroute.HybridWeights{
		Dense: check.Weights["dense"], Sparse: check.Weights["sparse"], Colbert: check.Weights["colbert"],
	}}
	unary, err := client.Rerank(ctx, check.Query, check.Documents, opts)
	if err != nil {
		t.Fatal(err)
	}
	assertReference(t, unary, check)
	streamed, err := client.RerankStream(ctx, check.Query, slices.Values(check.Documents), 2, opts)
	if err != nil {
		t.Fatal(err)
	}
	assertReference(t, streamed, check)
}

func TestCosineIsHybridOfTheDenseScoreAlone(t *testing.T) {
	client, check := m3Setup(t)
	ctx := testContext(t)
	cosine, err := client.Rerank(ctx, check.Query, check.Documents, embedroute.RerankOptions{Scoring: embedroute.ScoringCosine})
	if err != nil {
		t.Fatal(err)
	}
	dense, err := client.Rerank(ctx, check.Query, check.Documents, embedroute.RerankOptions{
		Scoring: embedroute.ScoringHybrid, HybridWeights: &embedroute.HybridWeights{Dense: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range cosine {
		if cosine[i].Index != dense[i].Index || math.Abs(float64(cosine[i].Score-dense[i].Score)) > 1e-5 {
			t.Fatalf("cosine %+v, hybrid dense %+v", cosine, dense)
		}
	}
	maxsim, err := client.Rerank(ctx, check.Query, check.Documents, embedroute.RerankOptions{Scoring: embedroute.ScoringMaxSim})
	if err != nil || len(maxsim) != len(check.Documents) {
		t.Fatalf("maxsim %+v: %v", maxsim, err)
	}
}

func TestNegativeHybridWeightIsInvalidArgument(t *testing.T) {
	client, check := m3Setup(t)
	_, err := client.Rerank(testContext(t), check.Query, check.Documents, embedroute.RerankOptions{
		Scoring: embedroute.ScoringHybrid, HybridWeights: &embedroute.HybridWeights{Dense: -0.5, Sparse: 0.5, Colbert: 0.5},
	})
	rich := asError(t, err)
	if rich.Code != codes.InvalidArgument || len(rich.FieldViolations) != 1 || rich.FieldViolations[0].Field != "hybrid_weights.dense" {
		t.Fatalf("%v: violations %+v", rich.Code, rich.FieldViolations)
	}
}
