package embedroute_test

// Retries against a small in-test server that is overloaded for its first N calls: the
// real server's queue cannot be filled on cue, this one answers as service/status.py does.

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	embedroute "github.com/embedroute/embedroute/clients/go"
	pb "github.com/embedroute/embedroute/clients/go/gen/embedroute/v1"
)

const retryDelay = 300 * time.Millisecond

type overloadedFirst struct {
	pb.UnimplementedEmbedServiceServer
	failures int
	mu       sync.Mutex
	calls    []time.Time
}

func (s *overloadedFirst) Embed(context.Context, *pb.EmbedRequest) (*pb.EmbedResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, time.Now())
	if len(s.calls) <= s.failures {
		st, err := status.New(codes.ResourceExhausted, "queue full").WithDetails(
			&errdetails.ErrorInfo{Reason: "OVERLOADED", Domain: "embedroute.dev"},
			&errdetails.RetryInfo{RetryDelay: durationpb.New(retryDelay)},
		)
		if err != nil {
			return nil, err
		}
		return nil, st.Err()
	}
	return &pb.EmbedResponse{Embeddings: []*pb.Embedding{{Dimensions: 2, FloatValues: []float32{0.6, 0.8}}}}, nil
}

func serve(t *testing.T, failures int) (*overloadedFirst, string) {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	server := grpc.NewServer()
	servicer := &overloadedFirst{failures: failures}
	pb.RegisterEmbedServiceServer(server, servicer)
	go func() { _ = server.Serve(listener) }()
	t.Cleanup(server.Stop)
	return servicer, listener.Addr().String()
}

func fakeClient(t *testing.T, target string, opts ...embedroute.Option) *embedroute.Client {
	t.Helper()
	client, err := embedroute.New(target, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return client
}

func TestResourceExhaustedIsRetriedAfterTheRetryInfoDelay(t *testing.T) {
	servicer, target := serve(t, 1)
	vectors, err := fakeClient(t, target).Embed(testContext(t), []string{"text"}, embedroute.EmbedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	near(t, vectors[0], []float32{0.6, 0.8}, 1e-7)
	if len(servicer.calls) != 2 || servicer.calls[1].Sub(servicer.calls[0]) < retryDelay {
		t.Fatalf("calls at %v", servicer.calls)
	}
}

func TestWithoutRetriesTheErrorCarriesTheDelay(t *testing.T) {
	servicer, target := serve(t, 1)
	client := fakeClient(t, target, embedroute.WithRetryPolicy(embedroute.RetryPolicy{MaxAttempts: 1}))
	_, err := client.Embed(testContext(t), []string{"text"}, embedroute.EmbedOptions{})
	rich := asError(t, err)
	if !rich.HasRetryDelay || rich.RetryDelay != retryDelay || rich.Reason != "OVERLOADED" || len(servicer.calls) != 1 {
		t.Fatalf("error %+v after %d calls", rich, len(servicer.calls))
	}
}

func TestNoRetryThatWouldOutlastTheDeadline(t *testing.T) {
	servicer, target := serve(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), retryDelay/2)
	defer cancel()
	_, err := fakeClient(t, target).Embed(ctx, []string{"text"}, embedroute.EmbedOptions{})
	if status.Code(err) != codes.ResourceExhausted || len(servicer.calls) != 1 {
		t.Fatalf("got %v after %d calls", err, len(servicer.calls))
	}
}

func TestAttemptsAreBounded(t *testing.T) {
	servicer, target := serve(t, 10)
	client := fakeClient(t, target, embedroute.WithRetryPolicy(embedroute.RetryPolicy{MaxAttempts: 2, MaxDelay: time.Second}))
	_, err := client.Embed(testContext(t), []string{"text"}, embedroute.EmbedOptions{})
	if status.Code(err) != codes.ResourceExhausted || len(servicer.calls) != 2 {
		t.Fatalf("got %v after %d calls", err, len(servicer.calls))
	}
}
