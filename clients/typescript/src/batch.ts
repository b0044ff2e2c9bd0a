// Batch jobs (BatchService): the lines a job is made of, the job as it stands, each line's result.
import { status } from "@grpc/grpc-js";

import {
  type Batch as BatchProto,
  type BatchResultsResponse,
  BatchStatus,
  SubmitBatchRequest,
} from "./gen/embedroute/v1/batch";
import { EmbedRequest } from "./gen/embedroute/v1/embed";
import { RerankRequest } from "./gen/embedroute/v1/rerank";
import type { RerankResult } from "./client";
import { EmbedrouteError } from "./errors";

/**
 * One request of a batch job, named by customId (unique in the job): an embed line (`texts`)
 * or a rerank line (`query`, `documents`). A job's lines are all of the first line's kind; a
 * line of the other kind is answered with an error.
 */
export type BatchLine =
  | {
      customId: string;
      texts: string[];
      model?: string;
      inputType?: "query" | "document";
      instruction?: string;
      dimensions?: number;
      normalize?: boolean;
      truncate?: boolean;
    }
  | {
      customId: string;
      query: string;
      documents: string[];
      model?: string;
      topN?: number;
      instruction?: string;
      returnDocuments?: boolean;
      truncate?: boolean;
    };

/** A submitted line that names nothing to answer (no customId, or a repeated one); line is 1-based. */
export interface BatchLineProblem {
  code: string;
  message: string;
  line: number;
}

export type BatchStatusName =
  | "validating"
  | "in_progress"
  | "finalizing"
  | "completed"
  | "failed"
  | "expired"
  | "cancelling"
  | "cancelled";

export interface Batch {
  id: string;
  status: BatchStatusName;
  total: number;
  completed: number;
  failed: number;
  /** Unix seconds. */
  createdAt: number;
  expiresAt: number;
  /** Undefined until the job ends. */
  endedAt?: number;
  errors: BatchLineProblem[];
  /** The job reached a final status: its results can be read. */
  done: boolean;
}

/** One line's answer: vectors (embed lines), ranking (rerank lines, best first) or the live call's error. */
/** A page of the caller's jobs, newest first; `nextPageToken` is empty on the last page. */
export interface BatchPage {
  batches: Batch[];
  nextPageToken: string;
}

export interface BatchResult {
  customId: string;
  vectors?: Float32Array[];
  ranking?: RerankResult[];
  error?: EmbedrouteError;
}

const FINAL = new Set<BatchStatusName>(["completed", "failed", "expired", "cancelled"]);

export function lineRequest(line: BatchLine, embedOptions: (line: BatchLine & { texts: string[] }) => EmbedRequest["options"]): SubmitBatchRequest {
  if ("texts" in line) {
    return SubmitBatchRequest.fromPartial({
      customId: line.customId,
      embed: EmbedRequest.fromPartial({ model: line.model ?? "", inputs: line.texts, options: embedOptions(line) }),
    });
  }
  return SubmitBatchRequest.fromPartial({
    customId: line.customId,
    rerank: RerankRequest.fromPartial({
      model: line.model ?? "",
      query: line.query,
      documents: line.documents,
      topN: line.topN ?? 0,
      instruction: line.instruction ?? "",
      returnDocuments: line.returnDocuments ?? false,
      truncate: line.truncate ?? false,
    }),
  });
}

export function batchOf(b: BatchProto | undefined): Batch {
  const name = BatchStatus[b?.status ?? BatchStatus.BATCH_STATUS_UNSPECIFIED].replace("BATCH_STATUS_", "").toLowerCase() as BatchStatusName;
  return {
    id: b?.id ?? "",
    status: name,
    total: b?.total ?? 0,
    completed: b?.completed ?? 0,
    failed: b?.failed ?? 0,
    createdAt: b?.createdAt ?? 0,
    expiresAt: b?.expiresAt ?? 0,
    endedAt: b?.endedAt || undefined,
    errors: (b?.errors ?? []).map((e) => ({ code: e.code, message: e.message, line: e.line })),
    done: FINAL.has(name),
  };
}

export function resultOf(r: BatchResultsResponse): BatchResult {
  if (r.embed) {
    return { customId: r.customId, vectors: r.embed.embeddings.map((e) => Float32Array.from(e.floatValues)) };
  }
  if (r.rerank) {
    return {
      customId: r.customId,
      ranking: r.rerank.results.map((x) => ({
        index: x.index,
        score: x.score,
        document: x.document || undefined,
        promptTokens: x.promptTokens,
        truncated: x.truncated,
      })),
    };
  }
  const error = r.error ?? { code: status.UNKNOWN, message: "", reason: "" };
  return { customId: r.customId, error: new EmbedrouteError(error.code as status, error.message, error.reason) };
}
