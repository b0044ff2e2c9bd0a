import assert from "node:assert/strict";
import { test } from "node:test";

import { DOCUMENTS, needsServer, QUERIES, withClient } from "./env";

test("rerank scores every document best first", { skip: needsServer }, () =>
  withClient(async (client) => {
    const results = await client.rerank(QUERIES[0], DOCUMENTS);
    assert.deepEqual(results.map((r) => r.index).sort(), [0, 1]);
    assert.ok(results[0].score >= results[1].score);
    assert.ok(results.every((r) => r.score >= 0 && r.score <= 1 && r.promptTokens > 0 && r.document === undefined));
  }));

test("topN and returnDocuments", { skip: needsServer }, () =>
  withClient(async (client) => {
    const full = await client.rerank(QUERIES[1], DOCUMENTS);
    const top = await client.rerank(QUERIES[1], DOCUMENTS, { topN: 1, returnDocuments: true });
    assert.equal(top.length, 1);
    assert.equal(top[0].index, full[0].index);
    assert.equal(top[0].document, DOCUMENTS[full[0].index]);
  }));
