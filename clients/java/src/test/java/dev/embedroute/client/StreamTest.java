package dev.embedroute.client;

import static dev.embedroute.client.Server.assertNear;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class StreamTest {
  private static final List<String> TEXTS =
      IntStream.range(0, 24).mapToObj(i -> "streamed text number " + i).toList();

  @Test
  void embedStreamYieldsEveryInputInOrder() {
    try (EmbedrouteClient client = Server.client()) {
      List<float[]> expected = client.embed(TEXTS, EmbedOptions.DEFAULTS);
      int next = 0;
      Iterator<Streamed> results = client.embedStream(TEXTS, EmbedOptions.DEFAULTS);
      while (results.hasNext()) {
        Streamed item = results.next();
        assertEquals(next, item.index());
        assertNear(expected.get(next), item.vector(), 1e-5);
        next++;
      }
      assertEquals(TEXTS.size(), next);
    }
  }

  @Test
  void closingEarlyCancelsTheStreamAndTheClientStaysUsable() {
    try (EmbedrouteClient client = Server.client()) {
      Streamed first;
      try (StreamedEmbeddings results = client.embedStream(TEXTS, EmbedOptions.DEFAULTS)) {
        first = results.next();
      }
      assertEquals(0, first.index());
      assertNear(client.embed(TEXTS.subList(0, 1), EmbedOptions.DEFAULTS).get(0), first.vector(), 1e-5);
    }
  }

  @Test
  void embedStreamThrowsTheFirstError() {
    try (EmbedrouteClient client = Server.client()) {
      Iterator<Streamed> results = client.embedStream(List.of("fine", ""), EmbedOptions.DEFAULTS);
      EmbedrouteException error = assertThrows(EmbedrouteException.class, () -> {
        while (results.hasNext()) {
          results.next();
        }
      });
      assertEquals("INVALID_ARGUMENT", error.reason());
    }
  }

  @Test
  void rerankStreamOverChunksEqualsUnaryRerank() {
    List<String> documents = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      documents.add("document " + i + " about " + (i % 3 == 0 ? "Beijing" : "gravity"));
    }
    try (EmbedrouteClient client = Server.client()) {
      List<RerankResult> unary = client.rerank("capital of China", documents, RerankOptions.DEFAULTS);
      List<RerankResult> top = client.rerankStream("capital of China", documents, 2, RerankOptions.DEFAULTS.withTopN(3));
      List<RerankResult> all = client.rerankStream("capital of China", documents, 3, RerankOptions.DEFAULTS);
      assertEquals(3, top.size());
      assertEquals(5, all.size());
      for (int i = 0; i < 3; i++) {
        assertEquals(unary.get(i).index(), top.get(i).index());
        assertEquals(unary.get(i).score(), top.get(i).score(), 1e-5);
      }
      for (int i = 0; i < 5; i++) {
        assertEquals(unary.get(i).index(), all.get(i).index());
      }
    }
  }
}
