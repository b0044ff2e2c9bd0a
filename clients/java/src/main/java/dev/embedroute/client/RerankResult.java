package dev.embedroute.client;

/**
 * One scored document.
 *
 * @param index position of the document in the documents passed in
 * @param score p("yes") in [0, 1]
 * @param document the text, with returnDocuments; otherwise null
 */
public record RerankResult(int index, float score, String document, int promptTokens, boolean truncated) {
  static RerankResult of(dev.embedroute.v1.RerankResult r, boolean withDocument) {
    return new RerankResult(r.getIndex(), r.getScore(), withDocument ? r.getDocument() : null, r.getPromptTokens(), r.getTruncated());
  }
}
