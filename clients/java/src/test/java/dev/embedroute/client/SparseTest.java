package dev.embedroute.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import java.util.List;
import org.junit.jupiter.api.Test;

class SparseTest {
  /** The check server serves Qwen3-Embedding, which has no sparse head: the call reaches EmbedSparse. */
  @Test
  void embedSparseNeedsAModelWithTheSparseHead() {
    try (EmbedrouteClient client = Server.client()) {
      EmbedrouteException error = assertThrows(EmbedrouteException.class,
          () -> client.embedSparse(List.of("lexical weights"), EmbedOptions.DEFAULTS, true));
      assertEquals(Status.Code.INVALID_ARGUMENT, error.code());
      assertEquals(1, error.fieldViolations().size());
      assertEquals("model", error.fieldViolations().get(0).field());
      assertTrue(error.fieldViolations().get(0).description().contains("has no sparse head"));
    }
  }
}
