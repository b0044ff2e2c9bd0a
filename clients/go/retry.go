package embedroute

import (
	"context"
	"time"

	"google.golang.org/grpc/codes"
)

// RetryPolicy says when a unary call is tried again: only on RESOURCE_EXHAUSTED or
// UNAVAILABLE, after the server's RetryInfo delay (or Backoff, doubling, when it sent
// none), and never when the wait would outlast the context's deadline.
type RetryPolicy struct {
	MaxAttempts int           // counts the first try; 1 turns retries off
	Backoff     time.Duration // first wait when the server sent no RetryInfo
	MaxDelay    time.Duration // cap on any single wait
}

// DefaultRetryPolicy is what New uses unless WithRetryPolicy says otherwise.
var DefaultRetryPolicy = RetryPolicy{MaxAttempts: 4, Backoff: 100 * time.Millisecond, MaxDelay: 10 * time.Second}

// delay returns the wait before the next attempt, or false when err is final.
func (p RetryPolicy) delay(ctx context.Context, err *Error, attempt int) (time.Duration, bool) {
	if attempt >= p.MaxAttempts || (err.Code != codes.ResourceExhausted && err.Code != codes.Unavailable) {
		return 0, false
	}
	wait := p.Backoff << (attempt - 1)
	if err.HasRetryDelay {
		wait = err.RetryDelay
	}
	wait = min(wait, p.MaxDelay)
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= wait {
		return 0, false
	}
	return wait, true
}

// withRetry runs call until it succeeds, fails for good, or ctx ends.
func withRetry[T any](ctx context.Context, policy RetryPolicy, call func(context.Context) (T, error)) (T, error) {
	for attempt := 1; ; attempt++ {
		result, err := call(ctx)
		if err == nil {
			return result, nil
		}
		rich, _ := fromRPC(err).(*Error)
		if rich == nil {
			return result, err
		}
		wait, again := policy.delay(ctx, rich, attempt)
		if !again {
			return result, rich
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return result, rich
		case <-timer.C:
		}
	}
}
