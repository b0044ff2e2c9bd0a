package dev.embedroute.client;

import java.util.List;

/**
 * A page of the caller's batch jobs, newest first.
 *
 * @param nextPageToken passed to {@code listBatches} for the next page; empty on the last page
 */
public record BatchPage(List<Batch> batches, String nextPageToken) {
  static BatchPage of(dev.embedroute.v1.ListBatchesResponse reply) {
    return new BatchPage(reply.getBatchesList().stream().map(Batch::of).toList(), reply.getNextPageToken());
  }
}
