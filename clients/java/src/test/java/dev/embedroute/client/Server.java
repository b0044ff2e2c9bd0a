package dev.embedroute.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.List;

/**
 * The server under test comes from scripts/check-clients.sh (EMBEDROUTE_TARGET,
 * EMBEDROUTE_API_KEY, EMBEDROUTE_VECTORS_DIR; EMBEDROUTE_M3_TARGET, a second server with the tiny
 * BGE-M3, and EMBEDROUTE_M3_HYBRID, the hybrid scores it must give); without it these tests are skipped.
 */
final class Server {
  static final List<String> QUERIES = List.of("What is the capital of China?", "Explain gravity");
  static final List<String> DOCUMENTS = List.of(
      "The capital of China is Beijing.",
      "Gravity is a force that attracts two bodies towards each other. It gives weight to physical objects "
          + "and is responsible for the movement of planets around the sun.");
  static final String TASK = "Given a web search query, retrieve relevant passages that answer the query";

  private Server() {}

  static String env(String name) {
    String value = System.getenv(name);
    assumeTrue(value != null && !value.isEmpty(), name + " is not set: run scripts/check-clients.sh");
    return value;
  }

  static String target() {
    return env("EMBEDROUTE_TARGET");
  }

  static EmbedrouteClient client() {
    return EmbedrouteClient.builder(target()).apiKey(env("EMBEDROUTE_API_KEY")).build();
  }

  static EmbedrouteClient m3Client() {
    return EmbedrouteClient.builder(env("EMBEDROUTE_M3_TARGET")).apiKey(env("EMBEDROUTE_API_KEY")).build();
  }

  static void assertNear(float[] want, float[] got, double tolerance) {
    assertEquals(want.length, got.length, "length");
    for (int i = 0; i < want.length; i++) {
      assertEquals(want[i], got[i], tolerance, "component " + i);
    }
  }
}
