export { EmbedrouteClient } from "./client";
export type {
  CallSettings,
  EmbedOptions,
  EmbedrouteClientOptions,
  HybridWeights,
  RerankOptions,
  RerankResult,
  RerankScoring,
  SparseVector,
  Streamed,
  TokenVectors,
} from "./client";
export { EmbedrouteError, type FieldViolation, VectorSpaceMismatchError } from "./errors";
export { DEFAULT_RETRY_POLICY, type RetryPolicy } from "./retry";
export { similarity } from "./similarity";
export type { Batch, BatchLine, BatchLineProblem, BatchPage, BatchResult, BatchStatusName } from "./batch";
