package embedroute_test

import (
	"errors"
	"regexp"
	"testing"

	embedroute "github.com/embedroute/embedroute/clients/go"
)

const otherSpace = "vs1-0000000000000000"

var spaceID = regexp.MustCompile(`^vs1-[0-9a-f]{16}$`)

func TestTheServedSpaceHasAnID(t *testing.T) {
	space, err := newClient(t).VectorSpace(testContext(t), "")
	if err != nil || !spaceID.MatchString(space) {
		t.Fatalf("space %q, err %v", space, err)
	}
}

func TestAMatchingExpectationReturnsVectors(t *testing.T) {
	ctx := testContext(t)
	space, err := newClient(t).VectorSpace(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	strict := newClient(t, embedroute.WithExpectVectorSpace(space))
	vectors, err := strict.Embed(ctx, []string{"a text"}, embedroute.EmbedOptions{})
	if err != nil || len(vectors) != 1 || len(vectors[0]) != 256 {
		t.Fatalf("vectors %d, err %v", len(vectors), err)
	}
}

func TestAMismatchReturnsTheTypedErrorInsteadOfVectors(t *testing.T) {
	client, ctx := newClient(t), testContext(t)
	space, err := client.VectorSpace(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	vectors, err := client.Embed(ctx, []string{"a text"}, embedroute.EmbedOptions{ExpectVectorSpace: otherSpace})
	var mismatch *embedroute.VectorSpaceMismatchError
	if !errors.As(err, &mismatch) || vectors != nil {
		t.Fatalf("want *VectorSpaceMismatchError and no vectors, got %T %v (%d vectors)", err, err, len(vectors))
	}
	if mismatch.Expected != otherSpace || mismatch.Actual != space || mismatch.Model != "qwen3-embedding-tiny" {
		t.Fatalf("mismatch %+v", mismatch)
	}
	want := `embedroute: model "qwen3-embedding-tiny" serves vector space ` + space + ", expected " + otherSpace
	if err.Error() != want {
		t.Fatalf("message %q", err.Error())
	}
	strict := newClient(t, embedroute.WithExpectVectorSpace(otherSpace))
	for _, err := range strict.EmbedStream(ctx, func(yield func(string) bool) { yield("a") }, embedroute.EmbedOptions{}) {
		if !errors.As(err, &mismatch) {
			t.Fatalf("stream: want *VectorSpaceMismatchError, got %v", err)
		}
		return
	}
	t.Fatal("stream yielded nothing")
}

func TestUnnormalisedVectorsAreAnotherSpace(t *testing.T) {
	client, ctx := newClient(t), testContext(t)
	space, _ := client.VectorSpace(ctx, "")
	_, err := client.Embed(ctx, []string{"a text"}, embedroute.EmbedOptions{Unnormalized: true, ExpectVectorSpace: space})
	var mismatch *embedroute.VectorSpaceMismatchError
	if !errors.As(err, &mismatch) || mismatch.Actual == space || !spaceID.MatchString(mismatch.Actual) {
		t.Fatalf("want a mismatch with another id, got %v", err)
	}
}
