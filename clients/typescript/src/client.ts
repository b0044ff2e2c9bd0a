// The embed / rerank surface on @grpc/grpc-js: Promises for unary calls, async iterators
// for streams, rich errors (EmbedrouteError) and retries that honour RetryInfo.
import {
  type CallOptions,
  type ChannelCredentials,
  type ClientOptions,
  type ClientReadableStream,
  type ClientWritableStream,
  credentials as grpcCredentials,
  Metadata,
} from "@grpc/grpc-js";

import { type Batch, type BatchLine, type BatchPage, type BatchResult, batchOf, lineRequest, resultOf } from "./batch";
import {
  BatchResultsRequest,
  BatchServiceClient,
  CancelBatchRequest,
  type CancelBatchResponse,
  GetBatchRequest,
  type GetBatchResponse,
  ListBatchesRequest,
  type ListBatchesResponse,
  type SubmitBatchRequest,
  type SubmitBatchResponse,
  WatchBatchRequest,
} from "./gen/embedroute/v1/batch";
import { InputType } from "./gen/embedroute/v1/common";
import {
  EmbedOptions as EmbedOptionsProto,
  EmbedRequest,
  type EmbedResponse,
  EmbedServiceClient,
  EmbedStreamRequest,
  EmbedSparseRequest,
  type EmbedSparseResponse,
  EmbedTokensRequest,
  type EmbedTokensResponse,
  Encoding,
} from "./gen/embedroute/v1/embed";
import {
  RerankRequest,
  type RerankResponse,
  type RerankResult as RerankResultProto,
  RerankServiceClient,
  RerankStreamRequest,
  Scoring,
} from "./gen/embedroute/v1/rerank";
import {
  type ListModelsResponse,
  ListModelsRequest,
  ModelKind,
  ModelServiceClient,
} from "./gen/embedroute/v1/model";
import { fromServiceError, spaceMismatch, type VectorSpaceMismatchError } from "./errors";
import { DEFAULT_RETRY_POLICY, type RetryPolicy, retryDelay } from "./retry";

export interface EmbedrouteClientOptions {
  /** Sent as `authorization: Bearer KEY` (the server's --api-keys-file). */
  apiKey?: string;
  /** TLS; plaintext when absent. */
  credentials?: ChannelCredentials;
  /** Default deadline of each unary call, retries included; streams have none unless given. */
  timeoutMs?: number;
  retry?: RetryPolicy;
  channelOptions?: Partial<ClientOptions>;
  /**
   * A vector-space id (from vectorSpace(), stored with an index): every embed call then throws
   * VectorSpaceMismatchError instead of returning vectors from another space.
   */
  expectVectorSpace?: string;
}

export interface CallSettings {
  /** Deadline of this call (unary: retries included). */
  timeoutMs?: number;
}

export interface EmbedOptions extends CallSettings {
  model?: string;
  inputType?: "query" | "document";
  /** Task description for queries; empty means the model's default. */
  instruction?: string;
  /** Matryoshka size; 0 or absent: the model's full size. */
  dimensions?: number;
  /** L2-normalise; default true. */
  normalize?: boolean;
  /** Cut over-long inputs instead of failing. */
  truncate?: boolean;
  /** Overrides the client's expectVectorSpace for this call. */
  expectVectorSpace?: string;
}

export interface RerankOptions extends CallSettings {
  model?: string;
  /** Only the N best; absent or 0: every document. */
  topN?: number;
  instruction?: string;
  returnDocuments?: boolean;
  truncate?: boolean;
  /** How to score; absent: the reranker when one is served, else cosine over the embedding model. */
  scoring?: RerankScoring;
  /** With scoring "hybrid"; absent: BGE-M3's 0.4, 0.2, 0.4. */
  hybridWeights?: HybridWeights;
}

/**
 * "cosine" and "maxsim" (late interaction over token vectors) score with an embedding model,
 * "hybrid" is BGE-M3's weighted dense + sparse + ColBERT score.
 */
export type RerankScoring = "reranker" | "cosine" | "maxsim" | "hybrid";

/** The weights of "hybrid" scoring: each at least 0, not all 0; the server skips a score weighted 0. */
export interface HybridWeights {
  dense: number;
  sparse: number;
  colbert: number;
}

const SCORINGS: Record<RerankScoring, Scoring> = {
  reranker: Scoring.SCORING_RERANKER,
  cosine: Scoring.SCORING_COSINE,
  maxsim: Scoring.SCORING_MAXSIM,
  hybrid: Scoring.SCORING_HYBRID,
};

/** The request fields of `options.scoring` and `options.hybridWeights` (the server checks them). */
function scoringFields(options: RerankOptions): { scoring: Scoring; hybridWeights?: HybridWeights } {
  const scoring = options.scoring === undefined ? Scoring.SCORING_UNSPECIFIED : SCORINGS[options.scoring];
  return options.hybridWeights === undefined ? { scoring } : { scoring, hybridWeights: { ...options.hybridWeights } };
}

export interface RerankResult {
  /** Position of the document in the documents passed in. */
  index: number;
  /** p("yes") in [0, 1]. */
  score: number;
  document?: string;
  promptTokens: number;
  truncated: boolean;
}

export interface Streamed {
  /** Position of the text in the input sequence. */
  index: number;
  vector: Float32Array;
}

/** One text's token vectors: `vectors[i]` belongs to `tokenIds[i]`. */
export interface TokenVectors {
  tokenIds: number[];
  vectors: Float32Array[];
  truncated: boolean;
}

/** One text's lexical weights: `weights[i]` belongs to `tokenIds[i]` (and `tokens[i]`, when asked for). */
export interface SparseVector {
  tokenIds: number[];
  weights: number[];
  tokens: string[];
  promptTokens: number;
  truncated: boolean;
}

type Texts = Iterable<string> | AsyncIterable<string>;

export class EmbedrouteClient {
  private readonly embedder: EmbedServiceClient;
  private readonly reranker: RerankServiceClient;
  private readonly models: ModelServiceClient;
  private readonly batches: BatchServiceClient;
  private readonly expectVectorSpace?: string;
  private readonly timeoutMs?: number;
  private readonly retry: RetryPolicy;
  private readonly apiKey?: string;

  constructor(target: string, options: EmbedrouteClientOptions = {}) {
    const creds = options.credentials ?? grpcCredentials.createInsecure();
    this.embedder = new EmbedServiceClient(target, creds, options.channelOptions);
    this.reranker = new RerankServiceClient(target, creds, options.channelOptions);
    this.models = new ModelServiceClient(target, creds, options.channelOptions);
    this.batches = new BatchServiceClient(target, creds, options.channelOptions);
    this.expectVectorSpace = options.expectVectorSpace;
    this.timeoutMs = "timeoutMs" in options ? options.timeoutMs : 30_000;
    this.retry = options.retry ?? DEFAULT_RETRY_POLICY;
    this.apiKey = options.apiKey;
  }

  close(): void {
    this.embedder.close();
    this.reranker.close();
    this.models.close();
    this.batches.close();
  }

  /**
   * The vector-space id of the model's normalised embeddings (the only embedding model when
   * `model` is absent): store it with an index and pass it as expectVectorSpace when querying.
   */
  async vectorSpace(model = "", settings: CallSettings = {}): Promise<string> {
    const reply = await this.unary<ListModelsResponse>(settings.timeoutMs, (metadata, callOptions, done) =>
      this.models.listModels(ListModelsRequest.fromPartial({}), metadata, callOptions, done),
    );
    const found = reply.models.filter((m) => m.id === model || (!model && m.kind === ModelKind.MODEL_KIND_EMBEDDING));
    if (found.length !== 1) {
      throw new Error(`embedroute: name the model: ${found.length} embedding models match '${model}'`);
    }
    return found[0].vectorSpaceId;
  }

  /** One Float32Array per text, in input order. */
  async embed(texts: string[], options: EmbedOptions = {}): Promise<Float32Array[]> {
    const request = EmbedRequest.fromPartial({ model: options.model ?? "", inputs: texts, options: embedOptions(options) });
    const reply = await this.unary<EmbedResponse>(options.timeoutMs, (metadata, callOptions, done) =>
      this.embedder.embed(request, metadata, callOptions, done),
    );
    const mismatch = spaceMismatch(options.expectVectorSpace ?? this.expectVectorSpace, reply.vectorSpaceId, reply.model);
    if (mismatch) {
      throw mismatch;
    }
    return reply.embeddings.map((e) => Float32Array.from(e.floatValues));
  }

  /**
   * Every token's vector of each text (late interaction, multi-vector retrieval): per text, one
   * vector per token of the prompt the model saw (template and special tokens included), with
   * the token ids. Options apply per token.
   */
  async embedTokens(texts: string[], options: EmbedOptions = {}): Promise<TokenVectors[]> {
    const request = EmbedTokensRequest.fromPartial({ model: options.model ?? "", inputs: texts, options: embedOptions(options) });
    const reply = await this.unary<EmbedTokensResponse>(options.timeoutMs, (metadata, callOptions, done) =>
      this.embedder.embedTokens(request, metadata, callOptions, done),
    );
    const mismatch = spaceMismatch(options.expectVectorSpace ?? this.expectVectorSpace, reply.vectorSpaceId, reply.model);
    if (mismatch) {
      throw mismatch;
    }
    return reply.inputs.map((t) => ({
      tokenIds: t.tokenIds,
      vectors: t.vectors.map((v) => Float32Array.from(v.floatValues)),
      truncated: t.truncated,
    }));
  }

  /**
   * BGE-M3's sparse (lexical) weights of each text, from the same one decode as its dense and
   * ColBERT vectors: vocabulary ids ascending with the weight of each, and each id's token string
   * when `returnTokens` is set. Of the options, model, inputType, instruction and truncate apply.
   * A model without the sparse head answers INVALID_ARGUMENT.
   */
  async embedSparse(texts: string[], options: EmbedOptions = {}, returnTokens = false): Promise<SparseVector[]> {
    const request = EmbedSparseRequest.fromPartial({
      model: options.model ?? "",
      inputs: texts,
      options: embedOptions(options),
      returnTokens,
    });
    const reply = await this.unary<EmbedSparseResponse>(options.timeoutMs, (metadata, callOptions, done) =>
      this.embedder.embedSparse(request, metadata, callOptions, done),
    );
    return reply.inputs.map((v) => ({
      tokenIds: v.tokenIds,
      weights: v.weights,
      tokens: v.tokens,
      promptTokens: v.promptTokens,
      truncated: v.truncated,
    }));
  }

  /**
   * Embeds any (async) iterable of texts over one stream, reading it only as fast as the
   * server's flow control allows, and yields the vectors in input order. Breaking out of
   * the loop cancels the stream.
   */
  async *embedStream(texts: Texts, options: EmbedOptions = {}): AsyncGenerator<Streamed> {
    const call = this.embedder.embedStream(this.metadata(), this.callOptions(options.timeoutMs));
    const proto = embedOptions(options);
    const requests = (async function* () {
      let index = 0;
      for await (const text of texts) {
        yield EmbedStreamRequest.fromPartial({ id: String(index++), model: options.model ?? "", input: text, options: proto });
      }
    })();
    const sending = pump(call, requests);
    sending.catch(() => undefined); // observed below, after the reader stops
    const held = new Map<number, Float32Array>();
    const expected = options.expectVectorSpace ?? this.expectVectorSpace;
    let mismatch: VectorSpaceMismatchError | undefined;
    let next = 0;
    try {
      for await (const reply of call) {
        mismatch = spaceMismatch(expected, reply.vectorSpaceId, reply.model);
        if (mismatch) {
          break; // no vector from another space reaches the caller; the stream is cancelled below
        }
        held.set(Number(reply.id), Float32Array.from(reply.embedding?.floatValues ?? []));
        for (let vector = held.get(next); vector !== undefined; vector = held.get(next)) {
          held.delete(next);
          yield { index: next++, vector };
        }
      }
    } catch (error) {
      throw await sending.then(() => fromServiceError(error), (own: unknown) => own);
    } finally {
      call.cancel();
    }
    if (mismatch) {
      throw mismatch;
    }
    const sent = await sending;
    if (next !== sent) {
      throw new Error(`embedroute: stream ended after ${next} of ${sent} results`);
    }
  }

  /** Documents scored against the query, best first (at most topN). */
  async rerank(query: string, documents: string[], options: RerankOptions = {}): Promise<RerankResult[]> {
    const request = RerankRequest.fromPartial({
      model: options.model ?? "",
      query,
      documents,
      topN: options.topN ?? 0,
      instruction: options.instruction ?? "",
      returnDocuments: options.returnDocuments ?? false,
      truncate: options.truncate ?? false,
      ...scoringFields(options),
    });
    const reply = await this.unary<RerankResponse>(options.timeoutMs, (metadata, callOptions, done) =>
      this.reranker.rerank(request, metadata, callOptions, done),
    );
    return results(reply.results, options.returnDocuments);
  }

  /**
   * Reranks a candidate list too large for one message (any iterable), sent in chunks of
   * `chunkSize`; resolves to the best topN (all when absent), best first.
   */
  async rerankStream(
    query: string,
    documents: Texts,
    options: RerankOptions & { chunkSize?: number } = {},
  ): Promise<RerankResult[]> {
    const call = this.reranker.rerankStream(this.metadata(), this.callOptions(options.timeoutMs));
    const first = {
      model: options.model ?? "",
      query,
      instruction: options.instruction ?? "",
      topN: options.topN ?? 0,
      returnDocuments: options.returnDocuments ?? false,
      truncate: options.truncate ?? false,
      ...scoringFields(options),
    };
    const size = Math.max(1, options.chunkSize ?? 64);
    const requests = (async function* () {
      let chunk: string[] = [];
      let sent = false;
      for await (const document of documents) {
        chunk.push(document);
        if (chunk.length === size) {
          yield RerankStreamRequest.fromPartial({ ...(sent ? {} : first), documents: chunk });
          chunk = [];
          sent = true;
        }
      }
      if (!sent || chunk.length > 0) {
        yield RerankStreamRequest.fromPartial({ ...(sent ? {} : first), documents: chunk });
      }
    })();
    const sending = pump(call, requests);
    sending.catch(() => undefined); // observed below, after the reader stops
    const collected: RerankResult[] = [];
    try {
      for await (const reply of call) {
        if (reply.final) {
          if (first.topN > 0) {
            return results(reply.results, options.returnDocuments);
          }
          continue;
        }
        collected.push(...results(reply.results, options.returnDocuments));
      }
    } catch (error) {
      throw await sending.then(() => fromServiceError(error), (own: unknown) => own);
    } finally {
      call.cancel();
    }
    await sending;
    collected.sort((a, b) => b.score - a.score || a.index - b.index);
    return first.topN > 0 ? collected.slice(0, first.topN) : collected;
  }

  /**
   * Sends the lines (any iterable, read as the server takes them) as one batch job and resolves
   * to the job (validating). Not retried: the lines are read once.
   */
  async submitBatch(lines: Iterable<BatchLine> | AsyncIterable<BatchLine>, settings: CallSettings = {}): Promise<Batch> {
    let call: ClientWritableStream<SubmitBatchRequest> | undefined;
    const reply = new Promise<SubmitBatchResponse>((resolve, reject) => {
      call = this.batches.submitBatch(this.metadata(), this.callOptions(settings.timeoutMs), (error, response) =>
        error ? reject(fromServiceError(error)) : resolve(response),
      );
    });
    reply.catch(() => undefined); // observed below, after the lines are sent
    const requests = (async function* () {
      for await (const line of lines) {
        yield lineRequest(line, embedOptions);
      }
    })();
    await pump(call as ClientWritableStream<SubmitBatchRequest>, requests);
    return batchOf((await reply).batch);
  }

  async batch(batchId: string, settings: CallSettings = {}): Promise<Batch> {
    const request = GetBatchRequest.fromPartial({ batchId });
    const reply = await this.unary<GetBatchResponse>(settings.timeoutMs, (metadata, callOptions, done) =>
      this.batches.getBatch(request, metadata, callOptions, done),
    );
    return batchOf(reply.batch);
  }

  /** A page of the caller's jobs, newest first: `pageSize` 1 to 100 (0 means 20), `pageToken` the previous page's `nextPageToken`. */
  async listBatches(page: { pageSize?: number; pageToken?: string } = {}, settings: CallSettings = {}): Promise<BatchPage> {
    const request = ListBatchesRequest.fromPartial(page);
    const reply = await this.unary<ListBatchesResponse>(settings.timeoutMs, (metadata, callOptions, done) =>
      this.batches.listBatches(request, metadata, callOptions, done),
    );
    return { batches: reply.batches.map(batchOf), nextPageToken: reply.nextPageToken };
  }

  /** Stops the job after the lines in flight (cancelling, then cancelled); answered lines keep their results. */
  async cancelBatch(batchId: string, settings: CallSettings = {}): Promise<Batch> {
    const request = CancelBatchRequest.fromPartial({ batchId });
    const reply = await this.unary<CancelBatchResponse>(settings.timeoutMs, (metadata, callOptions, done) =>
      this.batches.cancelBatch(request, metadata, callOptions, done),
    );
    return batchOf(reply.batch);
  }

  /** The job now, then each time its status or counts change; ends when the job does. */
  async *watchBatch(batchId: string, settings: CallSettings = {}): AsyncGenerator<Batch> {
    const call = this.batches.watchBatch(WatchBatchRequest.fromPartial({ batchId }), this.metadata(), this.callOptions(settings.timeoutMs));
    for await (const reply of serverStream(call)) {
      yield batchOf(reply.batch);
    }
  }

  /** A finished job's answers, each customId once: answered lines first, then failed ones. */
  async *batchResults(batchId: string, settings: CallSettings = {}): AsyncGenerator<BatchResult> {
    const call = this.batches.batchResults(BatchResultsRequest.fromPartial({ batchId }), this.metadata(), this.callOptions(settings.timeoutMs));
    for await (const reply of serverStream(call)) {
      yield resultOf(reply);
    }
  }

  private metadata(): Metadata {
    const metadata = new Metadata();
    if (this.apiKey) {
      metadata.set("authorization", `Bearer ${this.apiKey}`);
    }
    return metadata;
  }

  private callOptions(timeoutMs: number | undefined): Partial<CallOptions> {
    return timeoutMs === undefined ? {} : { deadline: new Date(Date.now() + timeoutMs) };
  }

  private async unary<T>(
    timeoutMs: number | undefined,
    start: (metadata: Metadata, options: Partial<CallOptions>, done: (error: Error | null, reply: T) => void) => void,
  ): Promise<T> {
    const budget = timeoutMs ?? this.timeoutMs;
    const deadline = budget === undefined ? undefined : Date.now() + budget;
    for (let attempt = 1; ; attempt++) {
      try {
        return await new Promise<T>((resolve, reject) => {
          const options = deadline === undefined ? {} : { deadline: new Date(deadline) };
          start(this.metadata(), options, (error, reply) => (error ? reject(error) : resolve(reply)));
        });
      } catch (failure) {
        const error = fromServiceError(failure);
        const wait = retryDelay(this.retry, error, attempt, deadline === undefined ? undefined : deadline - Date.now());
        if (wait === undefined) {
          throw error;
        }
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }
}

function embedOptions(options: EmbedOptions): EmbedOptionsProto {
  const inputType =
    options.inputType === "query"
      ? InputType.INPUT_TYPE_QUERY
      : options.inputType === "document"
        ? InputType.INPUT_TYPE_DOCUMENT
        : InputType.INPUT_TYPE_UNSPECIFIED;
  return EmbedOptionsProto.fromPartial({
    inputType,
    instruction: options.instruction ?? "",
    dimensions: options.dimensions ?? 0,
    normalize: options.normalize ?? true,
    truncate: options.truncate ?? false,
    encoding: Encoding.ENCODING_FLOAT32,
  });
}

function results(list: RerankResultProto[], withDocuments = false): RerankResult[] {
  return list.map((r) => ({
    index: r.index,
    score: r.score,
    document: withDocuments ? r.document : undefined,
    promptTokens: r.promptTokens,
    truncated: r.truncated,
  }));
}

/**
 * Writes requests as the stream accepts them (waiting for 'drain' when grpc-js buffers
 * are full, so a slow server slows the producer), then half-closes; resolves to the
 * number written. Stops quietly when the call ends first: the reader reports why.
 */
async function pump<Req>(call: ClientWritableStream<Req>, requests: AsyncIterable<Req>): Promise<number> {
  let ended = false;
  const onEnd = () => {
    ended = true;
  };
  call.once("status", onEnd);
  call.once("error", onEnd);
  let written = 0;
  try {
    for await (const request of requests) {
      if (ended) {
        return written;
      }
      written++;
      if (!call.write(request)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            call.off("drain", done);
            call.off("status", done);
            resolve();
          };
          call.on("drain", done);
          call.on("status", done);
        });
      }
    }
    if (!ended) {
      call.end();
    }
  } catch (error) {
    call.cancel();
    throw error;
  }
  return written;
}

/** A server stream's messages, its error as an EmbedrouteError; breaking out cancels the call. */
async function* serverStream<Res>(call: ClientReadableStream<Res>): AsyncGenerator<Res> {
  try {
    for await (const reply of call) {
      yield reply as Res;
    }
  } catch (error) {
    throw fromServiceError(error);
  } finally {
    call.cancel();
  }
}
