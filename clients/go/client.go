// Package embedroute is the Go client of the embedroute gRPC embedding and reranking
// service: Embed, EmbedStream, Rerank, RerankStream, Similarity and batch jobs (SubmitBatch,
// WatchBatch, BatchResults...), with rich errors
// (*Error) and retries that honour the server's RetryInfo. Deadlines come from the
// context, as everywhere in Go.
package embedroute

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	pb "github.com/embedroute/embedroute/clients/go/gen/embedroute/v1"
)

// Client holds one channel; it is safe for concurrent use. Close it when done.
type Client struct {
	conn     *grpc.ClientConn
	embedder pb.EmbedServiceClient
	reranker pb.RerankServiceClient
	models   pb.ModelServiceClient
	batches  pb.BatchServiceClient
	apiKey   string
	retry    RetryPolicy
	space    string
}

type settings struct {
	apiKey string
	creds  credentials.TransportCredentials
	retry  RetryPolicy
	dial   []grpc.DialOption
	space  string
}

// Option configures New.
type Option func(*settings)

// WithAPIKey sends "authorization: Bearer KEY" on every call (the server's --api-keys-file).
func WithAPIKey(key string) Option { return func(s *settings) { s.apiKey = key } }

// WithTransportCredentials turns TLS on; the default is plaintext.
func WithTransportCredentials(c credentials.TransportCredentials) Option {
	return func(s *settings) { s.creds = c }
}

// WithRetryPolicy replaces DefaultRetryPolicy.
func WithRetryPolicy(p RetryPolicy) Option { return func(s *settings) { s.retry = p } }

// WithExpectVectorSpace makes every Embed and EmbedStream call fail with a
// *VectorSpaceMismatchError instead of returning vectors from another vector space than id
// (from VectorSpace, or stored with an index). EmbedOptions.ExpectVectorSpace overrides it.
func WithExpectVectorSpace(id string) Option { return func(s *settings) { s.space = id } }

// WithDialOptions passes extra options to grpc.NewClient.
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(s *settings) { s.dial = append(s.dial, opts...) }
}

// New creates a client for target ("host:port"); no connection is made until the first call.
func New(target string, opts ...Option) (*Client, error) {
	s := settings{creds: insecure.NewCredentials(), retry: DefaultRetryPolicy}
	for _, opt := range opts {
		opt(&s)
	}
	conn, err := grpc.NewClient(target, append([]grpc.DialOption{grpc.WithTransportCredentials(s.creds)}, s.dial...)...)
	if err != nil {
		return nil, err
	}
	return &Client{
		conn:     conn,
		embedder: pb.NewEmbedServiceClient(conn),
		reranker: pb.NewRerankServiceClient(conn),
		models:   pb.NewModelServiceClient(conn),
		batches:  pb.NewBatchServiceClient(conn),
		apiKey:   s.apiKey,
		retry:    s.retry,
		space:    s.space,
	}, nil
}

// Close releases the channel.
func (c *Client) Close() error { return c.conn.Close() }

func (c *Client) outgoing(ctx context.Context) context.Context {
	if c.apiKey == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+c.apiKey)
}
