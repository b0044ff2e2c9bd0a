package dev.embedroute.client;

import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * What {@link EmbedrouteClient#embedStream} returns: a blocking iterator whose results
 * arrive from gRPC's threads in completion order and leave in input order. Close it to stop
 * early (try-with-resources); reading to the end needs no close.
 */
public final class StreamedEmbeddings implements Iterator<Streamed>, AutoCloseable, Feeder.Sink {
  private static final Object END = new Object();

  private final LinkedBlockingQueue<Object> inbox = new LinkedBlockingQueue<>();
  private final Map<Integer, float[]> held = new HashMap<>();
  private volatile int expected = -1;
  private int next;
  private boolean ended;
  private Runnable canceller = () -> {};

  StreamedEmbeddings() {}

  void onClose(Runnable cancel) {
    this.canceller = cancel;
  }

  /** Cancels the stream when it has not ended; idempotent. */
  @Override
  public void close() {
    if (!ended) {
      canceller.run();
    }
  }

  void offer(int index, float[] vector) {
    inbox.add(new Streamed(index, vector));
  }

  void expect(int total) {
    expected = total;
  }

  @Override
  public void fail(Throwable failure) {
    inbox.add(EmbedrouteException.from(failure));
  }

  @Override
  public void end() {
    inbox.add(END);
  }

  @Override
  public boolean hasNext() {
    while (!held.containsKey(next)) {
      if (ended) {
        if (expected >= 0 && next < expected) {
          throw new IllegalStateException("stream ended after " + next + " of " + expected + " results");
        }
        return false;
      }
      Object item;
      try {
        item = inbox.take();
      } catch (InterruptedException interrupted) {
        Thread.currentThread().interrupt();
        throw EmbedrouteException.from(interrupted);
      }
      if (item == END) {
        ended = true;
      } else if (item instanceof EmbedrouteException failure) {
        throw failure;
      } else {
        Streamed result = (Streamed) item;
        held.put(result.index(), result.vector());
      }
    }
    return true;
  }

  @Override
  public Streamed next() {
    if (!hasNext()) {
      throw new NoSuchElementException();
    }
    Streamed result = new Streamed(next, held.remove(next));
    next++;
    return result;
  }
}
