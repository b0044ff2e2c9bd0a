import assert from "node:assert/strict";
import { test } from "node:test";

import { EmbedrouteError } from "../src";
import { assertNear, needsServer, withClient } from "./env";

const TEXTS = Array.from({ length: 24 }, (_, i) => `streamed text number ${i}`);

async function* produce(texts: string[]): AsyncGenerator<string> {
  for (const text of texts) {
    await new Promise((resolve) => setImmediate(resolve));
    yield text;
  }
}

test("embedStream yields every input in order", { skip: needsServer }, () =>
  withClient(async (client) => {
    const expected = await client.embed(TEXTS);
    let next = 0;
    for await (const { index, vector } of client.embedStream(produce(TEXTS))) {
      assert.equal(index, next);
      assertNear(vector, expected[index], 1e-5);
      next++;
    }
    assert.equal(next, TEXTS.length);
  }));

test("embedStream ends with the first error", { skip: needsServer }, () =>
  withClient(async (client) => {
    await assert.rejects(
      async () => {
        for await (const item of client.embedStream(["fine", ""])) {
          assert.equal(item.index, 0);
        }
      },
      (error: unknown) => error instanceof EmbedrouteError && error.reason === "INVALID_ARGUMENT",
    );
  }));

test("rerankStream over chunks equals unary rerank", { skip: needsServer }, () =>
  withClient(async (client) => {
    const documents = Array.from({ length: 5 }, (_, i) => `document ${i} about ${i % 3 === 0 ? "Beijing" : "gravity"}`);
    const unary = await client.rerank("capital of China", documents);
    const top = await client.rerankStream("capital of China", produce(documents), { chunkSize: 2, topN: 3 });
    const all = await client.rerankStream("capital of China", documents, { chunkSize: 3 });
    assert.deepEqual(top.map((r) => r.index), unary.slice(0, 3).map((r) => r.index));
    assert.deepEqual(all.map((r) => r.index), unary.map((r) => r.index));
    assertNear(top.map((r) => r.score), unary.slice(0, 3).map((r) => r.score), 1e-5);
  }));

test("breaking out of embedStream cancels it and the client stays usable", { skip: needsServer }, () =>
  withClient(async (client) => {
    let first: Float32Array | undefined;
    for await (const { vector } of client.embedStream(produce(TEXTS))) {
      first = vector;
      break;
    }
    const [expected] = await client.embed([TEXTS[0]]);
    assert.ok(first);
    assertNear(first, expected, 1e-5);
  }));
