package embedroute_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	embedroute "github.com/embedroute/embedroute/clients/go"
)

func asError(t *testing.T, err error) *embedroute.Error {
	t.Helper()
	var rich *embedroute.Error
	if !errors.As(err, &rich) {
		t.Fatalf("want *embedroute.Error, got %T: %v", err, err)
	}
	return rich
}

func TestInvalidDimensionsExposeTheFieldViolation(t *testing.T) {
	client, ctx := newClient(t), testContext(t)
	_, err := client.Embed(ctx, []string{"text"}, embedroute.EmbedOptions{Dimensions: 7})
	rich := asError(t, err)
	if rich.Code != codes.InvalidArgument || status.Code(err) != codes.InvalidArgument {
		t.Fatalf("code %v", rich.Code)
	}
	if rich.Reason != "INVALID_ARGUMENT" || rich.Domain != "embedroute.dev" {
		t.Fatalf("error info %q %q", rich.Reason, rich.Domain)
	}
	if len(rich.FieldViolations) != 1 || rich.FieldViolations[0].Field != "options.dimensions" ||
		!strings.Contains(rich.FieldViolations[0].Description, "7") {
		t.Fatalf("violations %+v", rich.FieldViolations)
	}
}

func TestAnExpiredDeadlineIsDeadlineExceeded(t *testing.T) {
	client := newClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	texts := make([]string, 32)
	for i := range texts {
		texts[i] = strings.Repeat("a slow request ", 50)
	}
	_, err := client.Embed(ctx, texts, embedroute.EmbedOptions{})
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("want DEADLINE_EXCEEDED, got %v", err)
	}
}

func TestMissingOrWrongAPIKeyIsUnauthenticated(t *testing.T) {
	target := env(t, "EMBEDROUTE_TARGET")
	for _, opts := range [][]embedroute.Option{nil, {embedroute.WithAPIKey("not-a-key")}} {
		client, err := embedroute.New(target, opts...)
		if err != nil {
			t.Fatal(err)
		}
		_, err = client.Embed(testContext(t), []string{"text"}, embedroute.EmbedOptions{})
		_ = client.Close()
		if rich := asError(t, err); rich.Code != codes.Unauthenticated || rich.Reason != "UNAUTHENTICATED" {
			t.Fatalf("want UNAUTHENTICATED, got %v", err)
		}
	}
}
