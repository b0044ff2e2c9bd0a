package dev.embedroute.client;

import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * Writes a stream's requests only while the call is ready (HTTP/2 flow control), so that a
 * slow server slows the producer instead of filling memory, then half-closes. Failures go
 * to {@code sink}.
 */
abstract class Feeder<Req, Res> implements ClientResponseObserver<Req, Res> {
  private final Sink sink;
  private ClientCallStreamObserver<Req> requests;
  private boolean done;

  /** Where a stream's failure (or end) is reported. */
  interface Sink {
    void fail(Throwable failure);

    void end();
  }

  Feeder(Sink sink) {
    this.sink = sink;
  }

  Feeder(CompletableFuture<?> outcome) {
    this(new Sink() {
      @Override
      public void fail(Throwable failure) {
        outcome.completeExceptionally(EmbedrouteException.from(failure));
      }

      @Override
      public void end() {}
    });
  }

  /** The next message to send, or empty when the input is exhausted. */
  abstract Optional<Req> nextRequest();

  @Override
  public final void beforeStart(ClientCallStreamObserver<Req> stream) {
    this.requests = stream;
    stream.setOnReadyHandler(this::feed);
  }

  private void feed() {
    try {
      while (!done && requests.isReady()) {
        Optional<Req> next = nextRequest();
        if (next.isEmpty()) {
          done = true;
          requests.onCompleted();
          return;
        }
        requests.onNext(next.get());
      }
    } catch (RuntimeException producerFailed) {
      done = true;
      requests.cancel("the request producer failed", producerFailed);
      sink.fail(producerFailed);
    }
  }

  /** Ends the call early (the consumer stopped reading); the server stops working on it. */
  final void cancel() {
    if (requests != null) {
      requests.cancel("the client stopped reading the stream", null);
    }
  }

  @Override
  public void onError(Throwable failure) {
    sink.fail(failure);
  }

  @Override
  public void onCompleted() {
    sink.end();
  }
}
