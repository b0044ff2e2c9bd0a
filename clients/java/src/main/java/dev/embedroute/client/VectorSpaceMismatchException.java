package dev.embedroute.client;

import io.grpc.Status;
import java.util.List;
import java.util.Map;

/**
 * Thrown instead of returning vectors when the server answers from another vector space than
 * the caller requires (another file, quant, pooling, template or normalisation): such vectors
 * must not be mixed into the caller's index. {@link #actual} is empty when the server reports no id.
 */
public final class VectorSpaceMismatchException extends EmbedrouteException {
  private final String expected;
  private final String actual;
  private final String model;

  VectorSpaceMismatchException(String expected, String actual, String model) {
    super(
        Status.Code.FAILED_PRECONDITION,
        "model '" + model + "' serves vector space " + (actual.isEmpty() ? "(none reported)" : actual)
            + ", expected " + expected,
        "VECTOR_SPACE_MISMATCH",
        "",
        Map.of("expected", expected, "actual", actual, "model", model),
        List.of(),
        null,
        null);
    this.expected = expected;
    this.actual = actual;
    this.model = model;
  }

  /** Throws when {@code expected} is set and differs from what the server answered with. */
  static void check(String expected, String actual, String model) {
    if (!expected.isEmpty() && !expected.equals(actual)) {
      throw new VectorSpaceMismatchException(expected, actual, model);
    }
  }

  public String expected() {
    return expected;
  }

  public String actual() {
    return actual;
  }

  public String model() {
    return model;
  }
}
