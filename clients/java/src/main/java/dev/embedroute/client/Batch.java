package dev.embedroute.client;

import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * A batch job as it stands.
 *
 * @param status OpenAI's: validating, in_progress, finalizing, completed, failed, expired,
 *     cancelling or cancelled
 * @param endedAt Unix seconds when the job ended; 0 before
 * @param errors submitted lines that name nothing to answer (no custom id, or a repeated one)
 */
public record Batch(
    String id, String status, int total, int completed, int failed, long createdAt, long expiresAt, long endedAt,
    List<BatchLineProblem> errors) {
  private static final Set<String> FINAL = Set.of("completed", "failed", "expired", "cancelled");

  /** A submitted line that names nothing to answer; {@code line} is 1-based. */
  public record BatchLineProblem(String code, String message, int line) {}

  /** The job reached a final status: its results can be read. */
  public boolean done() {
    return FINAL.contains(status);
  }

  static Batch of(dev.embedroute.v1.Batch b) {
    return new Batch(
        b.getId(), b.getStatus().name().replace("BATCH_STATUS_", "").toLowerCase(Locale.ROOT), b.getTotal(),
        b.getCompleted(), b.getFailed(), b.getCreatedAt(), b.getExpiresAt(), b.getEndedAt(),
        b.getErrorsList().stream().map(e -> new BatchLineProblem(e.getCode(), e.getMessage(), e.getLine())).toList());
  }
}
