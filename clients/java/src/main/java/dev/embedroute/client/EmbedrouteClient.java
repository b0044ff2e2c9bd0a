package dev.embedroute.client;

import com.google.common.util.concurrent.FutureCallback;
import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.MoreExecutors;
import dev.embedroute.v1.BatchResultsRequest;
import dev.embedroute.v1.BatchServiceGrpc;
import dev.embedroute.v1.CancelBatchRequest;
import dev.embedroute.v1.EmbedRequest;
import dev.embedroute.v1.EmbedResponse;
import dev.embedroute.v1.EmbedServiceGrpc;
import dev.embedroute.v1.EmbedSparseRequest;
import dev.embedroute.v1.EmbedSparseResponse;
import dev.embedroute.v1.EmbedStreamRequest;
import dev.embedroute.v1.EmbedStreamResponse;
import dev.embedroute.v1.EmbedTokensRequest;
import dev.embedroute.v1.EmbedTokensResponse;
import dev.embedroute.v1.Embedding;
import dev.embedroute.v1.GetBatchRequest;
import dev.embedroute.v1.ListBatchesRequest;
import dev.embedroute.v1.ListModelsRequest;
import dev.embedroute.v1.Model;
import dev.embedroute.v1.ModelKind;
import dev.embedroute.v1.ModelServiceGrpc;
import dev.embedroute.v1.RerankRequest;
import dev.embedroute.v1.RerankResponse;
import dev.embedroute.v1.RerankServiceGrpc;
import dev.embedroute.v1.RerankStreamRequest;
import dev.embedroute.v1.RerankStreamResponse;
import dev.embedroute.v1.SubmitBatchRequest;
import dev.embedroute.v1.SubmitBatchResponse;
import dev.embedroute.v1.WatchBatchRequest;
import io.grpc.Channel;
import io.grpc.ChannelCredentials;
import io.grpc.ClientInterceptors;
import io.grpc.Deadline;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * Client of the embedroute service: blocking methods ({@link #embed}, {@link #rerank}),
 * async ones returning {@link CompletableFuture} ({@link #embedAsync}, {@link #rerankAsync}),
 * and streams ({@link #embedStream}, {@link #rerankStream}). Failures are
 * {@link EmbedrouteException}s with the server's details decoded; unary calls are retried
 * per the server's RetryInfo. Thread-safe; close it when done.
 */
public final class EmbedrouteClient implements AutoCloseable {
  private static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  private final ManagedChannel channel;
  private final EmbedServiceGrpc.EmbedServiceBlockingStub embedBlocking;
  private final EmbedServiceGrpc.EmbedServiceFutureStub embedFuture;
  private final EmbedServiceGrpc.EmbedServiceStub embedAsync;
  private final RerankServiceGrpc.RerankServiceBlockingStub rerankBlocking;
  private final RerankServiceGrpc.RerankServiceFutureStub rerankFuture;
  private final RerankServiceGrpc.RerankServiceStub rerankAsync;
  private final ModelServiceGrpc.ModelServiceBlockingStub modelsBlocking;
  private final BatchServiceGrpc.BatchServiceBlockingStub batchBlocking;
  private final BatchServiceGrpc.BatchServiceStub batchAsync;
  private final Duration timeout;
  private final RetryPolicy retry;
  private final String expectVectorSpace;

  private EmbedrouteClient(Builder b) {
    this.channel = Grpc.newChannelBuilder(b.target, b.credentials).build();
    Channel calls = channel;
    if (b.apiKey != null) {
      Metadata headers = new Metadata();
      headers.put(AUTHORIZATION, "Bearer " + b.apiKey);
      calls = ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(headers));
    }
    this.embedBlocking = EmbedServiceGrpc.newBlockingStub(calls);
    this.embedFuture = EmbedServiceGrpc.newFutureStub(calls);
    this.embedAsync = EmbedServiceGrpc.newStub(calls);
    this.rerankBlocking = RerankServiceGrpc.newBlockingStub(calls);
    this.rerankFuture = RerankServiceGrpc.newFutureStub(calls);
    this.rerankAsync = RerankServiceGrpc.newStub(calls);
    this.modelsBlocking = ModelServiceGrpc.newBlockingStub(calls);
    this.batchBlocking = BatchServiceGrpc.newBlockingStub(calls);
    this.batchAsync = BatchServiceGrpc.newStub(calls);
    this.timeout = b.timeout;
    this.retry = b.retry;
    this.expectVectorSpace = b.expectVectorSpace;
  }

  /** {@code EmbedrouteClient.builder("127.0.0.1:50051").apiKey(key).build()}. */
  public static Builder builder(String target) {
    return new Builder(target);
  }

  /** Settings of a client; plaintext, no key, 30 s per unary call and {@link RetryPolicy#DEFAULT}. */
  public static final class Builder {
    private final String target;
    private ChannelCredentials credentials = InsecureChannelCredentials.create();
    private String apiKey;
    private Duration timeout = Duration.ofSeconds(30);
    private RetryPolicy retry = RetryPolicy.DEFAULT;
    private String expectVectorSpace = "";

    private Builder(String target) {
      this.target = target;
    }

    /** Sent as {@code authorization: Bearer KEY} (the server's --api-keys-file). */
    public Builder apiKey(String key) {
      this.apiKey = key;
      return this;
    }

    /** TLS (e.g. {@code TlsChannelCredentials.create()}). */
    public Builder credentials(ChannelCredentials c) {
      this.credentials = c;
      return this;
    }

    /** Deadline of each unary call, retries included. Streams have none. */
    public Builder timeout(Duration t) {
      this.timeout = t;
      return this;
    }

    public Builder retryPolicy(RetryPolicy p) {
      this.retry = p;
      return this;
    }

    /**
     * Every embed call throws {@link VectorSpaceMismatchException} instead of returning vectors
     * from another vector space than {@code id} (from {@link EmbedrouteClient#vectorSpace}).
     */
    public Builder expectVectorSpace(String id) {
      this.expectVectorSpace = id;
      return this;
    }

    public EmbedrouteClient build() {
      return new EmbedrouteClient(this);
    }
  }

  /** One vector per text, in input order. */
  public List<float[]> embed(List<String> texts, EmbedOptions options) {
    EmbedRequest request = embedRequest(texts, options);
    return vectors(blocking(timeout, d -> embedBlocking.withDeadline(d).embed(request)), expected(options));
  }

  /**
   * Every token's vector of each text: per text, one vector per token of the prompt the model saw
   * (template and special tokens included), with the token ids; the options apply per token.
   */
  public List<TokenVectors> embedTokens(List<String> texts, EmbedOptions options) {
    EmbedTokensRequest request =
        EmbedTokensRequest.newBuilder().setModel(options.model()).addAllInputs(texts).setOptions(options.proto()).build();
    EmbedTokensResponse reply = blocking(timeout, d -> embedBlocking.withDeadline(d).embedTokens(request));
    VectorSpaceMismatchException.check(expected(options), reply.getVectorSpaceId(), reply.getModel());
    List<TokenVectors> out = new ArrayList<>(reply.getInputsCount());
    for (dev.embedroute.v1.TokenVectors t : reply.getInputsList()) {
      List<float[]> vectors = new ArrayList<>(t.getVectorsCount());
      for (Embedding e : t.getVectorsList()) {
        vectors.add(floats(e));
      }
      out.add(new TokenVectors(List.copyOf(t.getTokenIdsList()), vectors, t.getTruncated()));
    }
    return out;
  }

  /**
   * BGE-M3's sparse (lexical) weights of each text, from the same one decode as its dense and
   * ColBERT vectors: vocabulary ids ascending with the weight of each, and each id's token string
   * when {@code returnTokens}. Of the options, model, input type, instruction and truncate apply.
   * A model without the sparse head answers INVALID_ARGUMENT.
   */
  public List<SparseVector> embedSparse(List<String> texts, EmbedOptions options, boolean returnTokens) {
    EmbedSparseRequest request = EmbedSparseRequest.newBuilder().setModel(options.model()).addAllInputs(texts)
        .setOptions(options.proto()).setReturnTokens(returnTokens).build();
    EmbedSparseResponse reply = blocking(timeout, d -> embedBlocking.withDeadline(d).embedSparse(request));
    List<SparseVector> out = new ArrayList<>(reply.getInputsCount());
    for (dev.embedroute.v1.SparseVector v : reply.getInputsList()) {
      float[] weights = new float[v.getWeightsCount()];
      for (int i = 0; i < weights.length; i++) {
        weights[i] = v.getWeights(i);
      }
      out.add(new SparseVector(List.copyOf(v.getTokenIdsList()), weights, List.copyOf(v.getTokensList()),
          v.getPromptTokens(), v.getTruncated()));
    }
    return out;
  }

  /**
   * The vector-space id of the model's normalised embeddings (the only embedding model when
   * {@code model} is empty): store it with an index and require it when querying.
   */
  public String vectorSpace(String model) {
    List<Model> found = new ArrayList<>();
    for (Model m : blocking(timeout, d -> modelsBlocking.withDeadline(d).listModels(ListModelsRequest.getDefaultInstance()))
        .getModelsList()) {
      if (m.getId().equals(model) || (model.isEmpty() && m.getKind() == ModelKind.MODEL_KIND_EMBEDDING)) {
        found.add(m);
      }
    }
    if (found.size() != 1) {
      throw new IllegalArgumentException("name the model: " + found.size() + " embedding models match '" + model + "'");
    }
    return found.get(0).getVectorSpaceId();
  }

  private String expected(EmbedOptions options) {
    return options.expectVectorSpace().isEmpty() ? expectVectorSpace : options.expectVectorSpace();
  }

  /** {@link #embed} without blocking the caller. */
  public CompletableFuture<List<float[]>> embedAsync(List<String> texts, EmbedOptions options) {
    EmbedRequest request = embedRequest(texts, options);
    return async(Deadline.after(timeout.toNanos(), TimeUnit.NANOSECONDS), 1, d -> embedFuture.withDeadline(d).embed(request))
        .thenApply(reply -> vectors(reply, expected(options)));
  }

  /**
   * Embeds any sequence of texts over one stream and returns the vectors in input order.
   * The texts are read on gRPC's threads only as fast as the server's flow control allows;
   * the returned iterator blocks until the next vector arrives and throws
   * {@link EmbedrouteException} when the stream fails. Close it to stop early.
   */
  public StreamedEmbeddings embedStream(Iterable<String> texts, EmbedOptions options) {
    dev.embedroute.v1.EmbedOptions proto = options.proto();
    StreamedEmbeddings results = new StreamedEmbeddings();
    String space = expected(options);
    Iterator<String> source = texts.iterator();
    Feeder<EmbedStreamRequest, EmbedStreamResponse> feeder =
        new Feeder<EmbedStreamRequest, EmbedStreamResponse>(results) {
          private int sent;

          @Override
          Optional<EmbedStreamRequest> nextRequest() {
            if (!source.hasNext()) {
              results.expect(sent);
              return Optional.empty();
            }
            return Optional.of(
                EmbedStreamRequest.newBuilder()
                    .setId(Integer.toString(sent++))
                    .setModel(options.model())
                    .setInput(source.next())
                    .setOptions(proto)
                    .build());
          }

          @Override
          public void onNext(EmbedStreamResponse reply) {
            try {
              VectorSpaceMismatchException.check(space, reply.getVectorSpaceId(), reply.getModel());
            } catch (VectorSpaceMismatchException mismatch) {
              results.fail(mismatch); // no vector from another space reaches the caller
              cancel();
              return;
            }
            results.offer(Integer.parseInt(reply.getId()), floats(reply.getEmbedding()));
          }
        };
    results.onClose(feeder::cancel);
    embedAsync.embedStream(feeder);
    return results;
  }

  /** Documents scored against the query, best first (at most topN). */
  public List<RerankResult> rerank(String query, List<String> documents, RerankOptions options) {
    RerankRequest request = rerankRequest(query, documents, options);
    return results(blocking(timeout, d -> rerankBlocking.withDeadline(d).rerank(request)).getResultsList(), options);
  }

  /** {@link #rerank} without blocking the caller. */
  public CompletableFuture<List<RerankResult>> rerankAsync(String query, List<String> documents, RerankOptions options) {
    RerankRequest request = rerankRequest(query, documents, options);
    return async(Deadline.after(timeout.toNanos(), TimeUnit.NANOSECONDS), 1, d -> rerankFuture.withDeadline(d).rerank(request))
        .thenApply(reply -> results(reply.getResultsList(), options));
  }

  /**
   * Reranks a candidate sequence too large for one message, sent in chunks of
   * {@code chunkSize}; returns the best topN (all when 0), best first.
   */
  public List<RerankResult> rerankStream(String query, Iterable<String> documents, int chunkSize, RerankOptions options) {
    CompletableFuture<List<RerankResult>> outcome = new CompletableFuture<>();
    List<RerankResult> collected = new ArrayList<>();
    Iterator<String> source = documents.iterator();
    int size = Math.max(1, chunkSize);
    rerankAsync.rerankStream(
        new Feeder<RerankStreamRequest, RerankStreamResponse>(outcome) {
          private boolean first = true;

          @Override
          Optional<RerankStreamRequest> nextRequest() {
            if (!first && !source.hasNext()) {
              return Optional.empty();
            }
            RerankStreamRequest.Builder message = RerankStreamRequest.newBuilder();
            if (first) {
              message.setModel(options.model()).setQuery(query).setInstruction(options.instruction())
                  .setTopN(options.topN()).setReturnDocuments(options.returnDocuments()).setTruncate(options.truncate());
              options.applyTo(message);
              first = false;
            }
            while (source.hasNext() && message.getDocumentsCount() < size) {
              message.addDocuments(source.next());
            }
            return Optional.of(message.build());
          }

          @Override
          public void onNext(RerankStreamResponse reply) {
            List<RerankResult> chunk = results(reply.getResultsList(), options);
            if (!reply.getFinal()) {
              collected.addAll(chunk);
            } else if (options.topN() > 0) {
              outcome.complete(chunk);
            }
          }

          @Override
          public void onCompleted() {
            collected.sort(Comparator.comparingDouble((RerankResult r) -> -r.score()).thenComparingInt(RerankResult::index));
            outcome.complete(options.topN() > 0 ? collected.subList(0, Math.min(options.topN(), collected.size())) : collected);
          }
        });
    try {
      return outcome.get();
    } catch (ExecutionException failed) {
      throw EmbedrouteException.from(failed.getCause());
    } catch (InterruptedException interrupted) {
      Thread.currentThread().interrupt();
      throw EmbedrouteException.from(interrupted);
    }
  }

  /**
   * Sends the lines as one batch job, streamed (read only as fast as the server takes them), and
   * returns the job (validating). Not retried: the lines are read once.
   */
  public Batch submitBatch(Iterable<BatchLine> lines) {
    CompletableFuture<Batch> outcome = new CompletableFuture<>();
    Iterator<BatchLine> source = lines.iterator();
    batchAsync.submitBatch(
        new Feeder<SubmitBatchRequest, SubmitBatchResponse>(outcome) {
          @Override
          Optional<SubmitBatchRequest> nextRequest() {
            return source.hasNext() ? Optional.of(source.next().proto()) : Optional.empty();
          }

          @Override
          public void onNext(SubmitBatchResponse reply) {
            outcome.complete(Batch.of(reply.getBatch()));
          }
        });
    try {
      return outcome.get();
    } catch (ExecutionException failed) {
      throw EmbedrouteException.from(failed.getCause());
    } catch (InterruptedException interrupted) {
      Thread.currentThread().interrupt();
      throw EmbedrouteException.from(interrupted);
    }
  }

  public Batch batch(String batchId) {
    GetBatchRequest request = GetBatchRequest.newBuilder().setBatchId(batchId).build();
    return Batch.of(blocking(timeout, d -> batchBlocking.withDeadline(d).getBatch(request)).getBatch());
  }

  /**
   * A page of the caller's jobs, newest first.
   *
   * @param pageSize 1 to 100; 0 means 20
   * @param pageToken the previous page's {@code nextPageToken}; empty for the first page
   */
  public BatchPage listBatches(int pageSize, String pageToken) {
    ListBatchesRequest request = ListBatchesRequest.newBuilder().setPageSize(pageSize).setPageToken(pageToken).build();
    return BatchPage.of(blocking(timeout, d -> batchBlocking.withDeadline(d).listBatches(request)));
  }

  /** Stops the job after the lines in flight (cancelling, then cancelled); answered lines keep their results. */
  public Batch cancelBatch(String batchId) {
    CancelBatchRequest request = CancelBatchRequest.newBuilder().setBatchId(batchId).build();
    return Batch.of(blocking(timeout, d -> batchBlocking.withDeadline(d).cancelBatch(request)).getBatch());
  }

  /** The job now, then each time its status or counts change; the iterator ends when the job does. */
  public Iterator<Batch> watchBatch(String batchId) {
    Iterator<dev.embedroute.v1.WatchBatchResponse> replies =
        batchBlocking.watchBatch(WatchBatchRequest.newBuilder().setBatchId(batchId).build());
    return decoded(replies, reply -> Batch.of(reply.getBatch()));
  }

  /** A finished job's answers, each custom id once: answered lines first, then failed ones. */
  public Iterator<BatchResult> batchResults(String batchId) {
    return decoded(batchBlocking.batchResults(BatchResultsRequest.newBuilder().setBatchId(batchId).build()), BatchResult::of);
  }

  /** A server stream's messages as {@code convert} makes them, its failure as an EmbedrouteException. */
  private static <R, T> Iterator<T> decoded(Iterator<R> replies, Function<R, T> convert) {
    return new Iterator<T>() {
      @Override
      public boolean hasNext() {
        try {
          return replies.hasNext();
        } catch (RuntimeException failure) {
          throw EmbedrouteException.from(failure);
        }
      }

      @Override
      public T next() {
        try {
          return convert.apply(replies.next());
        } catch (RuntimeException failure) {
          throw EmbedrouteException.from(failure);
        }
      }
    };
  }

  /** Cosine similarity matrix, as sentence-transformers' {@code model.similarity}. */
  public static float[][] similarity(List<float[]> a, List<float[]> b) {
    return Similarity.matrix(a, b);
  }

  @Override
  public void close() {
    channel.shutdown();
    try {
      if (!channel.awaitTermination(5, TimeUnit.SECONDS)) {
        channel.shutdownNow();
      }
    } catch (InterruptedException interrupted) {
      channel.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }

  private <T> T blocking(Duration budget, Function<Deadline, T> call) {
    Deadline deadline = Deadline.after(budget.toNanos(), TimeUnit.NANOSECONDS);
    for (int attempt = 1; ; attempt++) {
      EmbedrouteException error;
      try {
        return call.apply(deadline);
      } catch (RuntimeException failure) {
        error = EmbedrouteException.from(failure);
      }
      Optional<Duration> wait = retry.delay(error, attempt, remaining(deadline));
      if (wait.isEmpty()) {
        throw error;
      }
      try {
        Thread.sleep(wait.get().toMillis());
      } catch (InterruptedException interrupted) {
        Thread.currentThread().interrupt();
        throw error;
      }
    }
  }

  private <T> CompletableFuture<T> async(Deadline deadline, int attempt, Function<Deadline, ListenableFuture<T>> call) {
    CompletableFuture<T> result = new CompletableFuture<>();
    Futures.addCallback(
        call.apply(deadline),
        new FutureCallback<T>() {
          @Override
          public void onSuccess(T reply) {
            result.complete(reply);
          }

          @Override
          public void onFailure(Throwable failure) {
            EmbedrouteException error = EmbedrouteException.from(failure);
            Optional<Duration> wait = retry.delay(error, attempt, remaining(deadline));
            if (wait.isEmpty()) {
              result.completeExceptionally(error);
              return;
            }
            CompletableFuture.delayedExecutor(wait.get().toNanos(), TimeUnit.NANOSECONDS)
                .execute(() -> async(deadline, attempt + 1, call).whenComplete((reply, again) -> {
                  if (again != null) {
                    result.completeExceptionally(again);
                  } else {
                    result.complete(reply);
                  }
                }));
          }
        },
        MoreExecutors.directExecutor());
    return result;
  }

  private static Duration remaining(Deadline deadline) {
    return Duration.ofNanos(deadline.timeRemaining(TimeUnit.NANOSECONDS));
  }

  private static EmbedRequest embedRequest(List<String> texts, EmbedOptions options) {
    return EmbedRequest.newBuilder().setModel(options.model()).addAllInputs(texts).setOptions(options.proto()).build();
  }

  private static RerankRequest rerankRequest(String query, List<String> documents, RerankOptions options) {
    RerankRequest.Builder request = RerankRequest.newBuilder()
        .setModel(options.model())
        .setQuery(query)
        .addAllDocuments(documents)
        .setTopN(options.topN())
        .setInstruction(options.instruction())
        .setReturnDocuments(options.returnDocuments())
        .setTruncate(options.truncate());
    options.applyTo(request);
    return request.build();
  }

  private static List<float[]> vectors(EmbedResponse reply, String expected) {
    VectorSpaceMismatchException.check(expected, reply.getVectorSpaceId(), reply.getModel());
    List<float[]> out = new ArrayList<>(reply.getEmbeddingsCount());
    for (Embedding e : reply.getEmbeddingsList()) {
      out.add(floats(e));
    }
    return out;
  }

  private static float[] floats(Embedding e) {
    float[] v = new float[e.getFloatValuesCount()];
    for (int i = 0; i < v.length; i++) {
      v[i] = e.getFloatValues(i);
    }
    return v;
  }

  private static List<RerankResult> results(List<dev.embedroute.v1.RerankResult> list, RerankOptions options) {
    List<RerankResult> out = new ArrayList<>(list.size());
    for (dev.embedroute.v1.RerankResult r : list) {
      out.add(RerankResult.of(r, options.returnDocuments()));
    }
    return out;
  }
}
