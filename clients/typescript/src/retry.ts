// When a unary call is tried again: only on RESOURCE_EXHAUSTED or UNAVAILABLE, after the
// server's RetryInfo delay (or a doubling backoff when it sent none), never past the deadline.
import { status } from "@grpc/grpc-js";

import { EmbedrouteError } from "./errors";

export interface RetryPolicy {
  /** Counts the first try; 1 turns retries off. */
  maxAttempts: number;
  /** First wait when the server sent no RetryInfo; doubles per attempt. */
  backoffMs: number;
  /** Cap on any single wait. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 4, backoffMs: 100, maxDelayMs: 10_000 };

/** Milliseconds to wait before the next attempt, or undefined when `error` is final. */
export function retryDelay(
  policy: RetryPolicy,
  error: unknown,
  attempt: number,
  remainingMs: number | undefined,
): number | undefined {
  if (!(error instanceof EmbedrouteError) || attempt >= policy.maxAttempts) {
    return undefined;
  }
  if (error.code !== status.RESOURCE_EXHAUSTED && error.code !== status.UNAVAILABLE) {
    return undefined;
  }
  const wait = Math.min(error.retryDelayMs ?? policy.backoffMs * 2 ** (attempt - 1), policy.maxDelayMs);
  if (remainingMs !== undefined && wait >= remainingMs) {
    return undefined;
  }
  return wait;
}
