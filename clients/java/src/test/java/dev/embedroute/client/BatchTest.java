package dev.embedroute.client;

import static dev.embedroute.client.Server.DOCUMENTS;
import static dev.embedroute.client.Server.QUERIES;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BatchTest {
  /** Seconds of work uncancelled: far more than a cancelBatch takes to arrive, however slow the machine. */
  private static final int CANCEL_LINES = 1000;

  private static final List<String> TEXTS = List.of("batch one", "batch two", "batch three", "batch four", "batch five");

  private static Batch watchToEnd(EmbedrouteClient client, String id) {
    Batch last = null;
    for (Iterator<Batch> seen = client.watchBatch(id); seen.hasNext(); ) {
      last = seen.next();
    }
    assertNotNull(last);
    assertTrue(last.done(), "watch ended at " + last);
    return last;
  }

  private static Map<String, BatchResult> results(EmbedrouteClient client, String id) {
    Map<String, BatchResult> answers = new HashMap<>();
    for (Iterator<BatchResult> it = client.batchResults(id); it.hasNext(); ) {
      BatchResult r = it.next();
      assertEquals(null, answers.put(r.customId(), r), "each custom id once");
    }
    return answers;
  }

  @Test
  void aJobAnswersAsTheLiveCalls() {
    try (EmbedrouteClient client = Server.client()) {
      List<BatchLine> lines = new ArrayList<>();
      for (int i = 0; i < TEXTS.size(); i++) {
        lines.add(BatchLine.embed("t" + i, List.of(TEXTS.get(i)), EmbedOptions.DEFAULTS));
      }
      lines.add(BatchLine.embed("empty", List.of(""), EmbedOptions.DEFAULTS));
      lines.add(BatchLine.rerank("rerank", "q", List.of("d"), RerankOptions.DEFAULTS));
      Batch job = client.submitBatch(lines);
      assertEquals("validating", job.status());
      Batch done = watchToEnd(client, job.id());
      assertEquals(List.of("completed", 7, 5, 2), List.of(done.status(), done.total(), done.completed(), done.failed()));
      assertEquals(done, client.batch(job.id()));
      Map<String, BatchResult> answers = results(client, job.id());
      assertEquals(7, answers.size());
      for (int i = 0; i < TEXTS.size(); i++) {
        assertArrayEquals(client.embed(List.of(TEXTS.get(i)), EmbedOptions.DEFAULTS).get(0), answers.get("t" + i).vectors().get(0));
      }
      assertEquals(Status.Code.INVALID_ARGUMENT, answers.get("empty").error().code());
      assertEquals("INVALID_URL", answers.get("rerank").error().reason());
    }
  }

  @Test
  void rerankLines() {
    try (EmbedrouteClient client = Server.client()) {
      RerankOptions options = RerankOptions.DEFAULTS.withTopN(1).withReturnDocuments(true);
      Batch job = client.submitBatch(List.of(BatchLine.rerank("r", QUERIES.get(1), DOCUMENTS, options)));
      assertEquals("completed", watchToEnd(client, job.id()).status());
      assertEquals(client.rerank(QUERIES.get(1), DOCUMENTS, options), results(client, job.id()).get("r").ranking());
    }
  }

  @Test
  void cancelAndAnUnknownJob() {
    try (EmbedrouteClient client = Server.client()) {
      String text = String.join(" ", java.util.Collections.nCopies(200, "word"));
      List<BatchLine> lines = new ArrayList<>();
      for (int i = 0; i < CANCEL_LINES; i++) {
        lines.add(BatchLine.embed("c" + i, List.of(text, text), EmbedOptions.DEFAULTS));
      }
      Batch job = client.submitBatch(lines);
      assertEquals("cancelling", client.cancelBatch(job.id()).status());
      Batch done = watchToEnd(client, job.id());
      assertEquals("cancelled", done.status());
      assertTrue(done.completed() < CANCEL_LINES);
      assertEquals(done.completed() + done.failed(), results(client, job.id()).size());
      EmbedrouteException unknown = assertThrows(EmbedrouteException.class, () -> client.batch("batch_000000000000000000000000"));
      assertEquals(Status.Code.NOT_FOUND, unknown.code());
      EmbedrouteException empty = assertThrows(EmbedrouteException.class, () -> client.submitBatch(List.of()));
      assertEquals(Status.Code.INVALID_ARGUMENT, empty.code());
    }
  }

  @Test
  void jobsAreListedNewestFirstAPageAtATime() {
    try (EmbedrouteClient client = Server.client()) {
      Batch older = client.submitBatch(List.of(BatchLine.embed("one", List.of("listed first"), EmbedOptions.DEFAULTS)));
      Batch newer = client.submitBatch(List.of(BatchLine.embed("one", List.of("listed second"), EmbedOptions.DEFAULTS)));
      BatchPage first = client.listBatches(1, "");
      assertEquals(List.of(newer.id()), first.batches().stream().map(Batch::id).toList());
      assertEquals(newer.id(), first.nextPageToken());
      BatchPage second = client.listBatches(1, first.nextPageToken());
      assertEquals(List.of(older.id()), second.batches().stream().map(Batch::id).toList());
      EmbedrouteException tooBig = assertThrows(EmbedrouteException.class, () -> client.listBatches(101, ""));
      assertEquals(Status.Code.INVALID_ARGUMENT, tooBig.code());
    }
  }
}
