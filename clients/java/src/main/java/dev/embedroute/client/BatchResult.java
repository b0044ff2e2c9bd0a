package dev.embedroute.client;

import dev.embedroute.v1.BatchResultsResponse;
import dev.embedroute.v1.Embedding;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One line's answer: {@code vectors} (embed lines, one per text), {@code ranking} (rerank lines,
 * best first), or {@code error}, what the live call would have thrown; the other two are null.
 */
public record BatchResult(String customId, List<float[]> vectors, List<RerankResult> ranking, EmbedrouteException error) {
  static BatchResult of(BatchResultsResponse r) {
    switch (r.getResultCase()) {
      case EMBED -> {
        List<float[]> vectors = new ArrayList<>();
        for (Embedding e : r.getEmbed().getEmbeddingsList()) {
          float[] v = new float[e.getFloatValuesCount()];
          for (int i = 0; i < v.length; i++) {
            v[i] = e.getFloatValues(i);
          }
          vectors.add(v);
        }
        return new BatchResult(r.getCustomId(), vectors, null, null);
      }
      case RERANK -> {
        List<dev.embedroute.v1.RerankResult> list = r.getRerank().getResultsList();
        boolean withDocuments = list.stream().anyMatch(x -> !x.getDocument().isEmpty());
        return new BatchResult(r.getCustomId(), null, list.stream().map(x -> RerankResult.of(x, withDocuments)).toList(), null);
      }
      default -> {
        Status.Code code = Status.fromCodeValue(r.getError().getCode()).getCode();
        return new BatchResult(r.getCustomId(), null, null, new EmbedrouteException(
            code, r.getError().getMessage(), r.getError().getReason(), "", Map.of(), List.of(), null, null));
      }
    }
  }
}
