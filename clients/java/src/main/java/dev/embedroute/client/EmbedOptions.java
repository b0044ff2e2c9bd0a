package dev.embedroute.client;

import dev.embedroute.v1.Encoding;
import dev.embedroute.v1.InputType;

/**
 * Per-call embedding options; {@link #DEFAULTS} embeds documents at full size, normalised.
 * Immutable: each {@code with} method returns a copy. {@code expectVectorSpace} (empty: the
 * client's, see {@link EmbedrouteClient.Builder#expectVectorSpace}) makes the call throw
 * {@link VectorSpaceMismatchException} instead of returning vectors from another space.
 */
public record EmbedOptions(
    String model,
    boolean query,
    String instruction,
    int dimensions,
    boolean normalize,
    boolean truncate,
    String expectVectorSpace) {
  public static final EmbedOptions DEFAULTS = new EmbedOptions("", false, "", 0, true, false, "");

  public EmbedOptions(String model, boolean query, String instruction, int dimensions, boolean normalize, boolean truncate) {
    this(model, query, instruction, dimensions, normalize, truncate, "");
  }

  /** Require this vector-space id for this call. */
  public EmbedOptions expectingVectorSpace(String id) {
    return new EmbedOptions(model, query, instruction, dimensions, normalize, truncate, id);
  }

  /** Queries get the model's instruction prefix ({@code task}; empty: the model's default). */
  public EmbedOptions asQuery(String task) {
    return new EmbedOptions(model, true, task, dimensions, normalize, truncate, expectVectorSpace);
  }

  public EmbedOptions asDocument() {
    return new EmbedOptions(model, false, "", dimensions, normalize, truncate, expectVectorSpace);
  }

  /** Matryoshka size; 0 is the model's full size. */
  public EmbedOptions withDimensions(int n) {
    return new EmbedOptions(model, query, instruction, n, normalize, truncate, expectVectorSpace);
  }

  public EmbedOptions withModel(String id) {
    return new EmbedOptions(id, query, instruction, dimensions, normalize, truncate, expectVectorSpace);
  }

  public EmbedOptions withNormalize(boolean on) {
    return new EmbedOptions(model, query, instruction, dimensions, on, truncate, expectVectorSpace);
  }

  public EmbedOptions withTruncate(boolean on) {
    return new EmbedOptions(model, query, instruction, dimensions, normalize, on, expectVectorSpace);
  }

  dev.embedroute.v1.EmbedOptions proto() {
    return dev.embedroute.v1.EmbedOptions.newBuilder()
        .setInputType(query ? InputType.INPUT_TYPE_QUERY : InputType.INPUT_TYPE_DOCUMENT)
        .setInstruction(instruction)
        .setDimensions(dimensions)
        .setNormalize(normalize)
        .setTruncate(truncate)
        .setEncoding(Encoding.ENCODING_FLOAT32)
        .build();
  }
}
