package dev.embedroute.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import com.google.rpc.Code;
import com.google.rpc.ErrorInfo;
import com.google.rpc.RetryInfo;
import dev.embedroute.v1.EmbedRequest;
import dev.embedroute.v1.EmbedResponse;
import dev.embedroute.v1.EmbedServiceGrpc;
import dev.embedroute.v1.Embedding;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.StatusProto;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * Retries against a small in-test server that is overloaded for its first N calls: the real
 * server's queue cannot be filled on cue, this one answers as service/status.py does.
 */
class RetryTest {
  private static final Duration RETRY_DELAY = Duration.ofMillis(300);

  static final class OverloadedFirst extends EmbedServiceGrpc.EmbedServiceImplBase implements AutoCloseable {
    final List<Long> calls = new CopyOnWriteArrayList<>();
    private final int failures;
    private final io.grpc.Server server;

    OverloadedFirst(int failures) throws IOException {
      this.failures = failures;
      this.server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).addService(this).build().start();
    }

    String target() {
      return "127.0.0.1:" + server.getPort();
    }

    @Override
    public void embed(EmbedRequest request, StreamObserver<EmbedResponse> reply) {
      calls.add(System.nanoTime());
      if (calls.size() <= failures) {
        com.google.rpc.Status status = com.google.rpc.Status.newBuilder()
            .setCode(Code.RESOURCE_EXHAUSTED_VALUE)
            .setMessage("queue full")
            .addDetails(Any.pack(ErrorInfo.newBuilder().setReason("OVERLOADED").setDomain("embedroute.dev").build()))
            .addDetails(Any.pack(RetryInfo.newBuilder()
                .setRetryDelay(com.google.protobuf.Duration.newBuilder().setNanos((int) RETRY_DELAY.toNanos()))
                .build()))
            .build();
        reply.onError(StatusProto.toStatusRuntimeException(status));
        return;
      }
      reply.onNext(EmbedResponse.newBuilder()
          .addEmbeddings(Embedding.newBuilder().setDimensions(2).addFloatValues(0.6f).addFloatValues(0.8f))
          .build());
      reply.onCompleted();
    }

    @Override
    public void close() {
      server.shutdownNow();
    }
  }

  @Test
  void resourceExhaustedIsRetriedAfterTheRetryInfoDelay() throws Exception {
    try (OverloadedFirst fake = new OverloadedFirst(1);
        EmbedrouteClient client = EmbedrouteClient.builder(fake.target()).build()) {
      assertArrayEquals(new float[] {0.6f, 0.8f}, client.embed(List.of("text"), EmbedOptions.DEFAULTS).get(0));
      assertEquals(2, fake.calls.size());
      assertTrue(fake.calls.get(1) - fake.calls.get(0) >= RETRY_DELAY.toNanos());
    }
  }

  @Test
  void asyncCallsRetryToo() throws Exception {
    try (OverloadedFirst fake = new OverloadedFirst(1);
        EmbedrouteClient client = EmbedrouteClient.builder(fake.target()).build()) {
      assertArrayEquals(new float[] {0.6f, 0.8f}, client.embedAsync(List.of("text"), EmbedOptions.DEFAULTS).get().get(0));
      assertEquals(2, fake.calls.size());
    }
  }

  @Test
  void withoutRetriesTheErrorCarriesTheDelay() throws Exception {
    try (OverloadedFirst fake = new OverloadedFirst(1);
        EmbedrouteClient client = EmbedrouteClient.builder(fake.target())
            .retryPolicy(new RetryPolicy(1, Duration.ofMillis(100), Duration.ofSeconds(1))).build()) {
      EmbedrouteException error = assertThrows(EmbedrouteException.class,
          () -> client.embed(List.of("text"), EmbedOptions.DEFAULTS));
      assertEquals(Status.Code.RESOURCE_EXHAUSTED, error.code());
      assertEquals("OVERLOADED", error.reason());
      assertEquals(RETRY_DELAY, error.retryDelay().orElseThrow());
      assertEquals(1, fake.calls.size());
    }
  }

  @Test
  void noRetryThatWouldOutlastTheDeadlineAndAttemptsAreBounded() throws Exception {
    try (OverloadedFirst fake = new OverloadedFirst(10)) {
      try (EmbedrouteClient client = EmbedrouteClient.builder(fake.target()).timeout(RETRY_DELAY.dividedBy(2)).build()) {
        assertThrows(EmbedrouteException.class, () -> client.embed(List.of("text"), EmbedOptions.DEFAULTS));
        assertEquals(1, fake.calls.size());
      }
      try (EmbedrouteClient client = EmbedrouteClient.builder(fake.target())
          .retryPolicy(new RetryPolicy(2, Duration.ofMillis(100), Duration.ofSeconds(1))).build()) {
        assertThrows(EmbedrouteException.class, () -> client.embed(List.of("text"), EmbedOptions.DEFAULTS));
        assertEquals(3, fake.calls.size());
      }
    }
  }
}
