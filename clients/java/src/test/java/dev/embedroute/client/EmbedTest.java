package dev.embedroute.client;

import static dev.embedroute.client.Server.DOCUMENTS;
import static dev.embedroute.client.Server.QUERIES;
import static dev.embedroute.client.Server.TASK;
import static dev.embedroute.client.Server.assertNear;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class EmbedTest {
  @Test
  void embedReturnsUnitVectorsInInputOrder() {
    try (EmbedrouteClient client = Server.client()) {
      List<float[]> both = client.embed(List.of("first text", "second text"), EmbedOptions.DEFAULTS);
      List<float[]> one = client.embed(List.of("second text"), EmbedOptions.DEFAULTS);
      assertEquals(2, both.size());
      assertEquals(256, both.get(0).length);
      double norm = 0;
      for (float v : both.get(0)) {
        norm += v * v;
      }
      assertEquals(1.0, norm, 1e-4);
      assertNear(one.get(0), both.get(1), 1e-6);
    }
  }

  @Test
  void asyncEmbedEqualsBlockingEmbed() throws Exception {
    try (EmbedrouteClient client = Server.client()) {
      List<float[]> blocking = client.embed(List.of("async"), EmbedOptions.DEFAULTS.withDimensions(32));
      List<float[]> async = client.embedAsync(List.of("async"), EmbedOptions.DEFAULTS.withDimensions(32)).get();
      assertEquals(32, async.get(0).length);
      assertNear(blocking.get(0), async.get(0), 1e-6);
    }
  }

  @Test
  void modelCardVectorsForTheCrossLanguageCheck() throws IOException {
    Path dir = Path.of(Server.env("EMBEDROUTE_VECTORS_DIR"));
    try (EmbedrouteClient client = Server.client()) {
      List<float[]> queries = client.embed(QUERIES, EmbedOptions.DEFAULTS.asQuery(TASK));
      List<float[]> documents = client.embed(DOCUMENTS, EmbedOptions.DEFAULTS.asDocument());
      float[][] scores = EmbedrouteClient.similarity(queries, documents);
      assertEquals(2, scores.length);
      assertEquals(2, scores[0].length);
      Files.createDirectories(dir);
      String json = "{\"queries\": " + matrix(queries) + ", \"documents\": " + matrix(documents) + "}";
      Files.writeString(dir.resolve("java.json"), json, StandardCharsets.UTF_8);
    }
  }

  @Test
  void similarityIsTheCosineMatrix() {
    float[][] got = Similarity.matrix(List.of(new float[] {3, 4}, new float[] {1, 0}), List.of(new float[] {0, 2}, new float[] {-1, 0}));
    assertNear(new float[] {0.8f, -0.6f}, got[0], 1e-6);
    assertNear(new float[] {0f, -1f}, got[1], 1e-6);
    assertThrows(IllegalArgumentException.class, () -> Similarity.cosine(new float[] {1}, new float[] {1, 0}));
  }

  private static String matrix(List<float[]> rows) {
    return rows.stream()
        .map(v -> {
          String[] cells = new String[v.length];
          for (int i = 0; i < v.length; i++) {
            cells[i] = Float.toString(v[i]);
          }
          return "[" + String.join(",", cells) + "]";
        })
        .collect(Collectors.joining(",", "[", "]"));
  }
}
