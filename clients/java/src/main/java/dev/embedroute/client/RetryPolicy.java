package dev.embedroute.client;

import io.grpc.Status;
import java.time.Duration;
import java.util.Optional;

/**
 * When a unary call is tried again: only on RESOURCE_EXHAUSTED or UNAVAILABLE, after the
 * server's RetryInfo delay (or {@code backoff}, doubling, when it sent none), and never
 * when the wait would outlast the call's deadline.
 *
 * @param maxAttempts counts the first try; 1 turns retries off
 * @param backoff first wait when the server sent no RetryInfo
 * @param maxDelay cap on any single wait
 */
public record RetryPolicy(int maxAttempts, Duration backoff, Duration maxDelay) {
  public static final RetryPolicy DEFAULT = new RetryPolicy(4, Duration.ofMillis(100), Duration.ofSeconds(10));

  /** Wait before the next attempt, or empty when {@code error} is final. */
  Optional<Duration> delay(EmbedrouteException error, int attempt, Duration remaining) {
    if (attempt >= maxAttempts
        || (error.code() != Status.Code.RESOURCE_EXHAUSTED && error.code() != Status.Code.UNAVAILABLE)) {
      return Optional.empty();
    }
    Duration wait = error.retryDelay().orElse(backoff.multipliedBy(1L << Math.min(attempt - 1, 20)));
    if (wait.compareTo(maxDelay) > 0) {
      wait = maxDelay;
    }
    if (remaining != null && wait.compareTo(remaining) >= 0) {
      return Optional.empty();
    }
    return Optional.of(wait);
  }
}
