package dev.embedroute.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

class ErrorsTest {
  @Test
  void invalidDimensionsExposeTheFieldViolation() {
    try (EmbedrouteClient client = Server.client()) {
      EmbedrouteException error = assertThrows(EmbedrouteException.class,
          () -> client.embed(List.of("text"), EmbedOptions.DEFAULTS.withDimensions(7)));
      assertEquals(Status.Code.INVALID_ARGUMENT, error.code());
      assertEquals("INVALID_ARGUMENT", error.reason());
      assertEquals("embedroute.dev", error.domain());
      assertEquals(1, error.fieldViolations().size());
      assertEquals("options.dimensions", error.fieldViolations().get(0).field());
      assertTrue(error.fieldViolations().get(0).description().contains("7"));
    }
  }

  @Test
  void asyncFailuresAreDecodedToo() {
    try (EmbedrouteClient client = Server.client()) {
      ExecutionException failed = assertThrows(ExecutionException.class,
          () -> client.embedAsync(List.of("fine", ""), EmbedOptions.DEFAULTS).get());
      EmbedrouteException error = (EmbedrouteException) failed.getCause();
      assertEquals("inputs[1]", error.fieldViolations().get(0).field());
    }
  }

  @Test
  void anExpiredDeadlineIsDeadlineExceeded() {
    String target = Server.target();
    try (EmbedrouteClient client = EmbedrouteClient.builder(target)
        .apiKey(Server.env("EMBEDROUTE_API_KEY")).timeout(Duration.ofMillis(1)).build()) {
      List<String> texts = Collections.nCopies(32, "a slow request ".repeat(50));
      EmbedrouteException error = assertThrows(EmbedrouteException.class, () -> client.embed(texts, EmbedOptions.DEFAULTS));
      assertEquals(Status.Code.DEADLINE_EXCEEDED, error.code());
    }
  }

  @Test
  void aMissingOrWrongApiKeyIsUnauthenticated() {
    String target = Server.target();
    for (EmbedrouteClient.Builder builder :
        List.of(EmbedrouteClient.builder(target), EmbedrouteClient.builder(target).apiKey("not-a-key"))) {
      try (EmbedrouteClient client = builder.build()) {
        EmbedrouteException error = assertThrows(EmbedrouteException.class,
            () -> client.embed(List.of("text"), EmbedOptions.DEFAULTS));
        assertEquals(Status.Code.UNAUTHENTICATED, error.code());
        assertEquals("UNAUTHENTICATED", error.reason());
      }
    }
  }
}
