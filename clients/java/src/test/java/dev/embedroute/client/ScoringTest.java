package dev.embedroute.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.grpc.Status;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * Rerank's scoring options against the tiny BGE-M3 server: hybrid with explicit weights gives the
 * scores the Python tests' numpy reference computes (EMBEDROUTE_M3_HYBRID), within 1e-4, blocking,
 * async and stream; a negative weight is the server's INVALID_ARGUMENT.
 */
class ScoringTest {
  /** EMBEDROUTE_M3_HYBRID (tests/clients/m3_hybrid.py): plain JSON whose strings hold no quotes or escapes. */
  private record HybridCheck(String query, List<String> documents, float dense, float sparse, float colbert, List<Double> scores) {
    static HybridCheck load() throws IOException {
      String json = Files.readString(Path.of(Server.env("EMBEDROUTE_M3_HYBRID")));
      return new HybridCheck(
          strings(field(json, "query", "\"[^\"]*\"")).get(0),
          strings(field(json, "documents", "\\[[^\\]]*\\]")),
          Float.parseFloat(field(json, "dense", "[-0-9.eE+]+")),
          Float.parseFloat(field(json, "sparse", "[-0-9.eE+]+")),
          Float.parseFloat(field(json, "colbert", "[-0-9.eE+]+")),
          List.of(field(json, "scores", "\\[[^\\]]*\\]").replaceAll("[\\[\\]\\s]", "").split(",")).stream()
              .map(Double::parseDouble).toList());
    }

    private static String field(String json, String name, String value) {
      Matcher m = Pattern.compile("\"" + name + "\":\\s*(" + value + ")").matcher(json);
      if (!m.find()) {
        throw new IllegalStateException("no " + name + " in " + json);
      }
      return m.group(1);
    }

    private static List<String> strings(String json) {
      List<String> out = new ArrayList<>();
      Matcher m = Pattern.compile("\"([^\"]*)\"").matcher(json);
      while (m.find()) {
        out.add(m.group(1));
      }
      return out;
    }

    RerankOptions options() {
      return RerankOptions.DEFAULTS.withHybridWeights(dense, sparse, colbert);
    }

    void assertReference(List<RerankResult> results) {
      List<Integer> order = IntStream.range(0, scores.size()).boxed()
          .sorted(Comparator.comparing((Integer i) -> -scores.get(i)).thenComparing(i -> i)).toList();
      assertEquals(order, results.stream().map(RerankResult::index).toList());
      for (RerankResult r : results) {
        assertEquals(scores.get(r.index()), r.score(), 1e-4, "document " + r.index());
      }
    }
  }

  @Test
  void hybridWithWeightsEqualsTheReference() throws Exception {
    HybridCheck check = HybridCheck.load();
    try (EmbedrouteClient client = Server.m3Client()) {
      check.assertReference(client.rerank(check.query(), check.documents(), check.options()));
      check.assertReference(client.rerankAsync(check.query(), check.documents(), check.options()).get());
      check.assertReference(client.rerankStream(check.query(), check.documents(), 2, check.options()));
    }
  }

  @Test
  void cosineIsHybridOfTheDenseScoreAlone() throws Exception {
    HybridCheck check = HybridCheck.load();
    try (EmbedrouteClient client = Server.m3Client()) {
      List<RerankResult> cosine = client.rerank(
          check.query(), check.documents(), RerankOptions.DEFAULTS.withScoring(RerankOptions.Scoring.COSINE));
      List<RerankResult> dense = client.rerank(check.query(), check.documents(), RerankOptions.DEFAULTS.withHybridWeights(1, 0, 0));
      assertEquals(cosine.stream().map(RerankResult::index).toList(), dense.stream().map(RerankResult::index).toList());
      for (int i = 0; i < cosine.size(); i++) {
        assertEquals(cosine.get(i).score(), dense.get(i).score(), 1e-5);
      }
      List<RerankResult> maxsim = client.rerank(
          check.query(), check.documents(), RerankOptions.DEFAULTS.withScoring(RerankOptions.Scoring.MAXSIM));
      assertEquals(check.documents().size(), maxsim.size());
    }
  }

  @Test
  void negativeHybridWeightIsInvalidArgument() throws Exception {
    HybridCheck check = HybridCheck.load();
    try (EmbedrouteClient client = Server.m3Client()) {
      EmbedrouteException error = assertThrows(EmbedrouteException.class,
          () -> client.rerank(check.query(), check.documents(), RerankOptions.DEFAULTS.withHybridWeights(-0.5f, 0.5f, 0.5f)));
      assertEquals(Status.Code.INVALID_ARGUMENT, error.code());
      assertEquals(List.of("hybrid_weights.dense"), error.fieldViolations().stream().map(FieldViolation::field).toList());
    }
  }
}
