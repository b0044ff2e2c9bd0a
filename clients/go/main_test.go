package embedroute_test

import (
	"context"
	"os"
	"testing"
	"time"

	embedroute "github.com/embedroute/embedroute/clients/go"
)

// The server under test comes from scripts/check-clients.sh (EMBEDROUTE_TARGET,
// EMBEDROUTE_API_KEY, EMBEDROUTE_VECTORS_DIR); without it these tests skip.

var (
	queries   = []string{"What is the capital of China?", "Explain gravity"}
	documents = []string{
		"The capital of China is Beijing.",
		"Gravity is a force that attracts two bodies towards each other. It gives weight to physical objects " +
			"and is responsible for the movement of planets around the sun.",
	}
	task = "Given a web search query, retrieve relevant passages that answer the query"
)

func env(t *testing.T, name string) string {
	t.Helper()
	value := os.Getenv(name)
	if value == "" {
		t.Skipf("%s is not set: run scripts/check-clients.sh, which starts the server", name)
	}
	return value
}

func newClient(t *testing.T, opts ...embedroute.Option) *embedroute.Client {
	t.Helper()
	target := env(t, "EMBEDROUTE_TARGET")
	opts = append([]embedroute.Option{embedroute.WithAPIKey(env(t, "EMBEDROUTE_API_KEY"))}, opts...)
	client, err := embedroute.New(target, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return client
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func near(t *testing.T, got, want []float32, tolerance float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("length %d, want %d", len(got), len(want))
	}
	for i := range got {
		if d := float64(got[i] - want[i]); d > tolerance || d < -tolerance {
			t.Fatalf("component %d: %v, want %v", i, got[i], want[i])
		}
	}
}
