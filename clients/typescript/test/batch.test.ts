import assert from "node:assert/strict";
import { test } from "node:test";

import { type BatchLine, type BatchResult, EmbedrouteError, type EmbedrouteClient } from "../src";
import { DOCUMENTS, needsServer, QUERIES, withClient } from "./env";

/** Seconds of work uncancelled: far more than a cancelBatch takes to arrive, however slow the machine. */
const CANCEL_LINES = 1000;
const TEXTS = ["batch one", "batch two", "batch three", "batch four", "batch five"];

async function watchToEnd(client: EmbedrouteClient, id: string) {
  const seen = [];
  for await (const batch of client.watchBatch(id, { timeoutMs: 120_000 })) {
    seen.push(batch);
  }
  assert.ok(seen.at(-1)?.done, `watch ended at ${JSON.stringify(seen.at(-1))}`);
  return seen.at(-1)!;
}

async function results(client: EmbedrouteClient, id: string): Promise<Map<string, BatchResult>> {
  const answers = new Map<string, BatchResult>();
  for await (const result of client.batchResults(id)) {
    assert.ok(!answers.has(result.customId));
    answers.set(result.customId, result);
  }
  return answers;
}

test("a batch job answers as the live calls", { skip: needsServer }, () =>
  withClient(async (client) => {
    async function* lines(): AsyncGenerator<BatchLine> {
      for (const [i, text] of TEXTS.entries()) {
        yield { customId: `t${i}`, texts: [text] };
      }
      yield { customId: "pair", texts: TEXTS.slice(0, 2), dimensions: 32, inputType: "query" };
      yield { customId: "empty", texts: [""] };
      yield { customId: "rerank", query: "q", documents: ["d"] };
    }
    const job = await client.submitBatch(lines());
    assert.equal(job.status, "validating");
    const done = await watchToEnd(client, job.id);
    assert.deepEqual([done.status, done.total, done.completed, done.failed], ["completed", 8, 6, 2]);
    assert.deepEqual(await client.batch(job.id), done);
    const answers = await results(client, job.id);
    assert.equal(answers.size, 8);
    for (const [i, text] of TEXTS.entries()) {
      assert.deepEqual(answers.get(`t${i}`)?.vectors, await client.embed([text]));
    }
    assert.deepEqual(answers.get("pair")?.vectors, await client.embed(TEXTS.slice(0, 2), { dimensions: 32, inputType: "query" }));
    assert.ok(answers.get("empty")?.error instanceof EmbedrouteError);
    assert.equal(answers.get("rerank")?.error?.reason, "INVALID_URL");
  }));

test("rerank batch lines", { skip: needsServer }, () =>
  withClient(async (client) => {
    const job = await client.submitBatch([{ customId: "r", query: QUERIES[1], documents: DOCUMENTS, topN: 1, returnDocuments: true }]);
    assert.equal((await watchToEnd(client, job.id)).status, "completed");
    const answers = await results(client, job.id);
    assert.deepEqual(answers.get("r")?.ranking, await client.rerank(QUERIES[1], DOCUMENTS, { topN: 1, returnDocuments: true }));
  }));

test("cancel, and an unknown job", { skip: needsServer }, () =>
  withClient(async (client) => {
    const long = Array(200).fill("word").join(" ");
    const lines: BatchLine[] = Array.from({ length: CANCEL_LINES }, (_, i) => ({ customId: `c${i}`, texts: [long, long] }));
    const job = await client.submitBatch(lines);
    assert.equal((await client.cancelBatch(job.id)).status, "cancelling");
    const done = await watchToEnd(client, job.id);
    assert.equal(done.status, "cancelled");
    assert.ok(done.completed < CANCEL_LINES);
    assert.equal((await results(client, job.id)).size, done.completed + done.failed);
    await assert.rejects(client.batch("batch_000000000000000000000000"), (e: unknown) => e instanceof EmbedrouteError && e.code === 5);
    await assert.rejects(client.submitBatch([]), (e: unknown) => e instanceof EmbedrouteError && e.code === 3);
  }));

test("jobs are listed newest first, a page at a time", { skip: needsServer }, () =>
  withClient(async (client) => {
    const older = await client.submitBatch([{ customId: "one", texts: ["listed first"] }]);
    const newer = await client.submitBatch([{ customId: "one", texts: ["listed second"] }]);
    const first = await client.listBatches({ pageSize: 1 });
    assert.deepEqual([first.batches.map((b) => b.id), first.nextPageToken], [[newer.id], newer.id]);
    const second = await client.listBatches({ pageSize: 1, pageToken: first.nextPageToken });
    assert.deepEqual(second.batches.map((b) => b.id), [older.id]);
    await assert.rejects(client.listBatches({ pageSize: 101 }), (e: unknown) => e instanceof EmbedrouteError && e.code === 3);
  }));
