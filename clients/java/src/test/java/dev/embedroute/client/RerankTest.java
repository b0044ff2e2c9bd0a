package dev.embedroute.client;

import static dev.embedroute.client.Server.DOCUMENTS;
import static dev.embedroute.client.Server.QUERIES;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class RerankTest {
  @Test
  void rerankScoresEveryDocumentBestFirst() {
    try (EmbedrouteClient client = Server.client()) {
      List<RerankResult> results = client.rerank(QUERIES.get(0), DOCUMENTS, RerankOptions.DEFAULTS);
      assertEquals(2, results.size());
      assertNotEquals(results.get(0).index(), results.get(1).index());
      assertTrue(results.get(0).score() >= results.get(1).score());
      for (RerankResult r : results) {
        assertTrue(r.score() >= 0 && r.score() <= 1 && r.promptTokens() > 0);
        assertNull(r.document());
      }
    }
  }

  @Test
  void topNAndReturnDocumentsAsync() throws Exception {
    try (EmbedrouteClient client = Server.client()) {
      List<RerankResult> full = client.rerank(QUERIES.get(1), DOCUMENTS, RerankOptions.DEFAULTS);
      List<RerankResult> top = client.rerankAsync(
          QUERIES.get(1), DOCUMENTS, RerankOptions.DEFAULTS.withTopN(1).withReturnDocuments(true)).get();
      assertEquals(1, top.size());
      assertEquals(full.get(0).index(), top.get(0).index());
      assertEquals(DOCUMENTS.get(full.get(0).index()), top.get(0).document());
    }
  }
}
