package dev.embedroute.client;

/** Per-call rerank options; {@link #DEFAULTS} scores every document with the model's default task. */
public record RerankOptions(String model, int topN, String instruction, boolean returnDocuments, boolean truncate) {
  public static final RerankOptions DEFAULTS = new RerankOptions("", 0, "", false, false);

  /** Only the {@code n} best; 0 returns every document. */
  public RerankOptions withTopN(int n) {
    return new RerankOptions(model, n, instruction, returnDocuments, truncate);
  }

  public RerankOptions withInstruction(String task) {
    return new RerankOptions(model, topN, task, returnDocuments, truncate);
  }

  public RerankOptions withReturnDocuments(boolean on) {
    return new RerankOptions(model, topN, instruction, on, truncate);
  }

  public RerankOptions withModel(String id) {
    return new RerankOptions(id, topN, instruction, returnDocuments, truncate);
  }

  public RerankOptions withTruncate(boolean on) {
    return new RerankOptions(model, topN, instruction, returnDocuments, on);
  }
}
