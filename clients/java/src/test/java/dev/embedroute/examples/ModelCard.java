package dev.embedroute.examples;

import dev.embedroute.client.EmbedOptions;
import dev.embedroute.client.EmbedrouteClient;
import dev.embedroute.client.RerankOptions;
import dev.embedroute.client.RerankResult;
import java.util.List;

/**
 * The Qwen3-Embedding model card's example through the Java client: two queries with the
 * web-search instruction, two documents, their similarity matrix, then a rerank.
 *
 * <pre>mvn -q test-compile exec:java -Dexec.args="127.0.0.1:50051 [API_KEY]"</pre>
 */
public final class ModelCard {
  private static final List<String> QUERIES = List.of("What is the capital of China?", "Explain gravity");
  private static final List<String> DOCUMENTS = List.of(
      "The capital of China is Beijing.",
      "Gravity is a force that attracts two bodies towards each other. It gives weight to physical objects "
          + "and is responsible for the movement of planets around the sun.");
  private static final String TASK = "Given a web search query, retrieve relevant passages that answer the query";

  private ModelCard() {}

  public static void main(String[] args) {
    EmbedrouteClient.Builder builder = EmbedrouteClient.builder(args[0]);
    if (args.length > 1) {
      builder.apiKey(args[1]);
    }
    try (EmbedrouteClient client = builder.build()) {
      List<float[]> queries = client.embed(QUERIES, EmbedOptions.DEFAULTS.asQuery(TASK));
      List<float[]> documents = client.embed(DOCUMENTS, EmbedOptions.DEFAULTS.asDocument());
      float[][] scores = EmbedrouteClient.similarity(queries, documents);
      System.out.println("similarity (queries x documents):");
      for (int i = 0; i < scores.length; i++) {
        System.out.printf("  %-32s %+.4f  %+.4f%n", QUERIES.get(i), scores[i][0], scores[i][1]);
      }
      System.out.printf("rerank for '%s':%n", QUERIES.get(0));
      for (RerankResult r : client.rerank(QUERIES.get(0), DOCUMENTS, RerankOptions.DEFAULTS)) {
        System.out.printf("  document %d: %.4f%n", r.index(), r.score());
      }
    }
  }
}
