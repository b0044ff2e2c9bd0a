package dev.embedroute.client;

import dev.embedroute.v1.EmbedRequest;
import dev.embedroute.v1.RerankRequest;
import dev.embedroute.v1.SubmitBatchRequest;
import java.util.List;

/**
 * One request of a batch job, named by {@code customId} (unique in the job): {@link #embed} or
 * {@link #rerank}. A job's lines are all of the first line's kind; a line of the other kind is
 * answered with an error.
 */
public final class BatchLine {
  private final SubmitBatchRequest request;

  private BatchLine(SubmitBatchRequest request) {
    this.request = request;
  }

  public static BatchLine embed(String customId, List<String> texts, EmbedOptions options) {
    return new BatchLine(SubmitBatchRequest.newBuilder().setCustomId(customId).setEmbed(
        EmbedRequest.newBuilder().setModel(options.model()).addAllInputs(texts).setOptions(options.proto())).build());
  }

  public static BatchLine rerank(String customId, String query, List<String> documents, RerankOptions options) {
    RerankRequest.Builder rerank = RerankRequest.newBuilder().setModel(options.model()).setQuery(query)
        .addAllDocuments(documents).setTopN(options.topN()).setInstruction(options.instruction())
        .setReturnDocuments(options.returnDocuments()).setTruncate(options.truncate());
    options.applyTo(rerank);
    return new BatchLine(SubmitBatchRequest.newBuilder().setCustomId(customId).setRerank(rerank).build());
  }

  public String customId() {
    return request.getCustomId();
  }

  SubmitBatchRequest proto() {
    return request;
  }
}
