package embedroute_test

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	embedroute "github.com/embedroute/embedroute/clients/go"
)

// The check server serves Qwen3-Embedding, which has no sparse head: the call reaches
// EmbedSparse and comes back as the field violation on "model".
func TestEmbedSparseNeedsAModelWithTheSparseHead(t *testing.T) {
	client, ctx := newClient(t), testContext(t)
	_, err := client.EmbedSparse(ctx, []string{"lexical weights"}, embedroute.EmbedOptions{}, true)
	rich := asError(t, err)
	if rich.Code != codes.InvalidArgument || len(rich.FieldViolations) != 1 || rich.FieldViolations[0].Field != "model" ||
		!strings.Contains(rich.FieldViolations[0].Description, "has no sparse head") {
		t.Fatalf("%v: violations %+v", rich.Code, rich.FieldViolations)
	}
}
