// Server errors as exceptions carrying the decoded AIP-193 details: callers read which
// field was wrong (BadRequest) or how long to back off (RetryInfo) without parsing protos.
import { Metadata, type ServiceError, status } from "@grpc/grpc-js";

import { BadRequest, ErrorInfo, RetryInfo } from "./gen/google/rpc/error_details";
import { Status } from "./gen/google/rpc/status";

export const STATUS_DETAILS_KEY = "grpc-status-details-bin";

export interface FieldViolation {
  field: string;
  description: string;
}

export class EmbedrouteError extends Error {
  constructor(
    readonly code: status,
    readonly details: string,
    readonly reason = "",
    readonly domain = "",
    readonly errorMetadata: Record<string, string> = {},
    readonly fieldViolations: FieldViolation[] = [],
    /** The server's RetryInfo in milliseconds; undefined when it sent none. */
    readonly retryDelayMs?: number,
  ) {
    super(`${status[code]}: ${details}${reason ? ` (${reason})` : ""}`);
    this.name = "EmbedrouteError";
  }
}

/**
 * Thrown instead of returning vectors when the server answers from another vector space than
 * `expectVectorSpace` names (another file, quant, pooling, template or normalisation); `actual`
 * is "" when the server reports no id.
 */
export class VectorSpaceMismatchError extends EmbedrouteError {
  constructor(
    readonly expected: string,
    readonly actual: string,
    readonly model: string,
  ) {
    super(
      status.FAILED_PRECONDITION,
      `model '${model}' serves vector space ${actual || "(none reported)"}, expected ${expected}`,
      "VECTOR_SPACE_MISMATCH",
      "",
      { expected, actual, model },
    );
    this.name = "VectorSpaceMismatchError";
  }
}

/** The VectorSpaceMismatchError to throw when an expectation is set and not met. */
export function spaceMismatch(expected: string | undefined, actual: string, model: string): VectorSpaceMismatchError | undefined {
  return expected && actual !== expected ? new VectorSpaceMismatchError(expected, actual, model) : undefined;
}

function isServiceError(error: unknown): error is ServiceError {
  return error instanceof Error && typeof (error as ServiceError).code === "number" && "metadata" in error;
}

/** Turns a gRPC failure into an EmbedrouteError; anything else is returned as it is. */
export function fromServiceError(error: unknown): unknown {
  if (!isServiceError(error)) {
    return error;
  }
  let details = error.details;
  let reason = "";
  let domain = "";
  let metadata: Record<string, string> = {};
  let violations: FieldViolation[] = [];
  let retryDelayMs: number | undefined;
  const raw = error.metadata instanceof Metadata ? error.metadata.get(STATUS_DETAILS_KEY)[0] : undefined;
  if (raw instanceof Buffer) {
    const decoded = Status.decode(raw);
    details = decoded.message || details;
    for (const any of decoded.details) {
      const type = any.typeUrl.slice(any.typeUrl.lastIndexOf("/") + 1);
      if (type === "google.rpc.ErrorInfo") {
        const info = ErrorInfo.decode(any.value);
        ({ reason, domain, metadata } = info);
      } else if (type === "google.rpc.BadRequest") {
        violations = BadRequest.decode(any.value).fieldViolations.map((v) => ({
          field: v.field,
          description: v.description,
        }));
      } else if (type === "google.rpc.RetryInfo") {
        const delay = RetryInfo.decode(any.value).retryDelay;
        retryDelayMs = delay ? delay.seconds * 1000 + delay.nanos / 1e6 : 0;
      }
    }
  }
  return new EmbedrouteError(error.code, details, reason, domain, metadata, violations, retryDelayMs);
}
