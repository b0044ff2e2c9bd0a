package dev.embedroute.client;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.BadRequest;
import com.google.rpc.ErrorInfo;
import com.google.rpc.RetryInfo;
import io.grpc.Status;
import io.grpc.protobuf.StatusProto;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A failed call with the AIP-193 details the server attached already decoded, so that a
 * caller reads which field was wrong or how long to back off without parsing protos.
 */
public class EmbedrouteException extends RuntimeException {
  private final Status.Code code;
  private final String reason;
  private final String domain;
  private final Map<String, String> metadata;
  private final List<FieldViolation> fieldViolations;
  private final Duration retryDelay;

  EmbedrouteException(
      Status.Code code,
      String message,
      String reason,
      String domain,
      Map<String, String> metadata,
      List<FieldViolation> fieldViolations,
      Duration retryDelay,
      Throwable cause) {
    super(code + ": " + message + (reason.isEmpty() ? "" : " (" + reason + ")"), cause);
    this.code = code;
    this.reason = reason;
    this.domain = domain;
    this.metadata = Map.copyOf(metadata);
    this.fieldViolations = List.copyOf(fieldViolations);
    this.retryDelay = retryDelay;
  }

  /** Decodes a gRPC failure; any other throwable is wrapped as UNKNOWN. */
  static EmbedrouteException from(Throwable failure) {
    if (failure instanceof EmbedrouteException already) {
      return already;
    }
    Status status = Status.fromThrowable(failure);
    String message = status.getDescription() == null ? "" : status.getDescription();
    String reason = "";
    String domain = "";
    Map<String, String> metadata = Map.of();
    List<FieldViolation> violations = new ArrayList<>();
    Duration retryDelay = null;
    com.google.rpc.Status rich = StatusProto.fromThrowable(failure);
    if (rich != null) {
      for (Any detail : rich.getDetailsList()) {
        try {
          if (detail.is(ErrorInfo.class)) {
            ErrorInfo info = detail.unpack(ErrorInfo.class);
            reason = info.getReason();
            domain = info.getDomain();
            metadata = info.getMetadataMap();
          } else if (detail.is(BadRequest.class)) {
            for (BadRequest.FieldViolation v : detail.unpack(BadRequest.class).getFieldViolationsList()) {
              violations.add(new FieldViolation(v.getField(), v.getDescription()));
            }
          } else if (detail.is(RetryInfo.class)) {
            com.google.protobuf.Duration delay = detail.unpack(RetryInfo.class).getRetryDelay();
            retryDelay = Duration.ofSeconds(delay.getSeconds(), delay.getNanos());
          }
        } catch (InvalidProtocolBufferException malformed) {
          // A detail that does not parse is ignored: the code and message still stand.
        }
      }
    }
    return new EmbedrouteException(
        status.getCode(), message, reason, domain, metadata, violations, retryDelay, failure);
  }

  public Status.Code code() {
    return code;
  }

  /** ErrorInfo reason, e.g. {@code INVALID_ARGUMENT} or {@code OVERLOADED}; empty when none. */
  public String reason() {
    return reason;
  }

  public String domain() {
    return domain;
  }

  public Map<String, String> errorMetadata() {
    return metadata;
  }

  public List<FieldViolation> fieldViolations() {
    return fieldViolations;
  }

  /** The server's RetryInfo, when it sent one. */
  public Optional<Duration> retryDelay() {
    return Optional.ofNullable(retryDelay);
  }
}
