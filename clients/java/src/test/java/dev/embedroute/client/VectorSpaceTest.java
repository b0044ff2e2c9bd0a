package dev.embedroute.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import java.util.List;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

class VectorSpaceTest {
  private static final String OTHER = "vs1-0000000000000000";
  private static final String ID = "vs1-[0-9a-f]{16}";

  @Test
  void theServedSpaceHasAnId() {
    try (EmbedrouteClient client = Server.client()) {
      assertTrue(client.vectorSpace("").matches(ID));
    }
  }

  @Test
  void aMatchingExpectationReturnsVectors() {
    String space;
    try (EmbedrouteClient client = Server.client()) {
      space = client.vectorSpace("");
    }
    try (EmbedrouteClient strict = EmbedrouteClient.builder(Server.target())
        .apiKey(Server.env("EMBEDROUTE_API_KEY")).expectVectorSpace(space).build()) {
      List<float[]> vectors = strict.embed(List.of("a text"), EmbedOptions.DEFAULTS);
      assertEquals(1, vectors.size());
      assertEquals(256, vectors.get(0).length);
    }
  }

  @Test
  void aMismatchThrowsTheTypedErrorInsteadOfReturningVectors() throws Exception {
    try (EmbedrouteClient client = Server.client()) {
      String space = client.vectorSpace("");
      VectorSpaceMismatchException error = assertThrows(VectorSpaceMismatchException.class,
          () -> client.embed(List.of("a text"), EmbedOptions.DEFAULTS.expectingVectorSpace(OTHER)));
      assertEquals(List.of(OTHER, space, "qwen3-embedding-tiny"), List.of(error.expected(), error.actual(), error.model()));
      assertEquals(Status.Code.FAILED_PRECONDITION, error.code());
      assertEquals("VECTOR_SPACE_MISMATCH", error.reason());
      assertEquals("FAILED_PRECONDITION: model 'qwen3-embedding-tiny' serves vector space " + space + ", expected "
          + OTHER + " (VECTOR_SPACE_MISMATCH)", error.getMessage());
      ExecutionException failed = assertThrows(ExecutionException.class,
          () -> client.embedAsync(List.of("a text"), EmbedOptions.DEFAULTS.expectingVectorSpace(OTHER)).get());
      assertInstanceOf(VectorSpaceMismatchException.class, failed.getCause());
      try (StreamedEmbeddings stream = client.embedStream(List.of("a", "b"), EmbedOptions.DEFAULTS.expectingVectorSpace(OTHER))) {
        assertThrows(VectorSpaceMismatchException.class, stream::hasNext);
      }
    }
  }

  @Test
  void unnormalisedVectorsAreAnotherSpace() {
    try (EmbedrouteClient client = Server.client()) {
      String space = client.vectorSpace("");
      VectorSpaceMismatchException error = assertThrows(VectorSpaceMismatchException.class,
          () -> client.embed(List.of("a text"), EmbedOptions.DEFAULTS.withNormalize(false).expectingVectorSpace(space)));
      assertTrue(error.actual().matches(ID));
      assertNotEquals(space, error.actual());
    }
  }
}
