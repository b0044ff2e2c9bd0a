package dev.embedroute.client;

import dev.embedroute.v1.RerankRequest;
import dev.embedroute.v1.RerankStreamRequest;

/**
 * Per-call rerank options; {@link #DEFAULTS} scores every document with the model's default task.
 * Immutable: each {@code with} method returns a copy. {@code scoring} picks how documents are scored
 * ({@link Scoring#DEFAULT}: the reranker when one is served, else cosine over the embedding model);
 * {@code hybridWeights} (null: BGE-M3's 0.4, 0.2, 0.4) go with {@link Scoring#HYBRID}.
 */
public record RerankOptions(
    String model,
    int topN,
    String instruction,
    boolean returnDocuments,
    boolean truncate,
    Scoring scoring,
    HybridWeights hybridWeights) {
  public static final RerankOptions DEFAULTS = new RerankOptions("", 0, "", false, false);

  public RerankOptions {
    scoring = scoring == null ? Scoring.DEFAULT : scoring;
  }

  /** How to score. */
  public enum Scoring {
    /** The reranker when one is served, else cosine over the embedding model. */
    DEFAULT(dev.embedroute.v1.Scoring.SCORING_UNSPECIFIED),
    RERANKER(dev.embedroute.v1.Scoring.SCORING_RERANKER),
    /** Cosine similarity of an embedding model's vectors. */
    COSINE(dev.embedroute.v1.Scoring.SCORING_COSINE),
    /** Late interaction (MaxSim) over an embedding model's token vectors. */
    MAXSIM(dev.embedroute.v1.Scoring.SCORING_MAXSIM),
    /** BGE-M3's weighted dense + sparse + ColBERT score (see {@link HybridWeights}). */
    HYBRID(dev.embedroute.v1.Scoring.SCORING_HYBRID);

    private final dev.embedroute.v1.Scoring proto;

    Scoring(dev.embedroute.v1.Scoring proto) {
      this.proto = proto;
    }
  }

  /** The weights of {@link Scoring#HYBRID}'s scores: each at least 0, not all 0; a score weighted 0 is skipped. */
  public record HybridWeights(float dense, float sparse, float colbert) {
    dev.embedroute.v1.HybridWeights proto() {
      return dev.embedroute.v1.HybridWeights.newBuilder().setDense(dense).setSparse(sparse).setColbert(colbert).build();
    }
  }

  public RerankOptions(String model, int topN, String instruction, boolean returnDocuments, boolean truncate) {
    this(model, topN, instruction, returnDocuments, truncate, Scoring.DEFAULT, null);
  }

  /** Only the {@code n} best; 0 returns every document. */
  public RerankOptions withTopN(int n) {
    return new RerankOptions(model, n, instruction, returnDocuments, truncate, scoring, hybridWeights);
  }

  public RerankOptions withInstruction(String task) {
    return new RerankOptions(model, topN, task, returnDocuments, truncate, scoring, hybridWeights);
  }

  public RerankOptions withReturnDocuments(boolean on) {
    return new RerankOptions(model, topN, instruction, on, truncate, scoring, hybridWeights);
  }

  public RerankOptions withModel(String id) {
    return new RerankOptions(id, topN, instruction, returnDocuments, truncate, scoring, hybridWeights);
  }

  public RerankOptions withTruncate(boolean on) {
    return new RerankOptions(model, topN, instruction, returnDocuments, on, scoring, hybridWeights);
  }

  public RerankOptions withScoring(Scoring how) {
    return new RerankOptions(model, topN, instruction, returnDocuments, truncate, how, hybridWeights);
  }

  /** Hybrid scoring with these weights (sets {@link Scoring#HYBRID}). */
  public RerankOptions withHybridWeights(float dense, float sparse, float colbert) {
    return new RerankOptions(
        model, topN, instruction, returnDocuments, truncate, Scoring.HYBRID, new HybridWeights(dense, sparse, colbert));
  }

  void applyTo(RerankRequest.Builder request) {
    request.setScoring(scoring.proto);
    if (hybridWeights != null) {
      request.setHybridWeights(hybridWeights.proto());
    }
  }

  void applyTo(RerankStreamRequest.Builder request) {
    request.setScoring(scoring.proto);
    if (hybridWeights != null) {
      request.setHybridWeights(hybridWeights.proto());
    }
  }
}
