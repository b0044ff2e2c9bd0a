import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { similarity } from "../src";
import { assertNear, DOCUMENTS, needsServer, QUERIES, TASK, vectorsDir, withClient } from "./env";

test("embed returns unit vectors in input order", { skip: needsServer }, () =>
  withClient(async (client) => {
    const both = await client.embed(["first text", "second text"]);
    const [one] = await client.embed(["second text"]);
    assert.equal(both.length, 2);
    assert.equal(both[0].length, 256);
    const norm = Math.hypot(...both[0]);
    assert.ok(Math.abs(norm - 1) < 1e-5, `norm ${norm}`);
    assertNear(both[1], one, 1e-6);
  }));

test("dimensions cut and re-normalise", { skip: needsServer }, () =>
  withClient(async (client) => {
    const [full] = await client.embed(["matryoshka"]);
    const [cut] = await client.embed(["matryoshka"], { dimensions: 64 });
    const head = Array.from(full.slice(0, 64));
    const norm = Math.hypot(...head);
    assertNear(cut, head.map((v) => v / norm), 1e-5);
  }));

test("model card vectors for the cross-language check", { skip: needsServer || (!vectorsDir && "EMBEDROUTE_VECTORS_DIR unset") }, () =>
  withClient(async (client) => {
    const queries = await client.embed(QUERIES, { inputType: "query", instruction: TASK });
    const documents = await client.embed(DOCUMENTS, { inputType: "document" });
    const scores = similarity(queries, documents);
    assert.equal(scores.length, 2);
    assert.equal(scores[0].length, 2);
    mkdirSync(vectorsDir, { recursive: true });
    writeFileSync(
      join(vectorsDir, "typescript.json"),
      JSON.stringify({ queries: queries.map((v) => Array.from(v)), documents: documents.map((v) => Array.from(v)) }),
    );
  }));

test("similarity is the cosine matrix", () => {
  const got = similarity([[3, 4], [1, 0]], [[0, 2], [-1, 0]]);
  assertNear(got[0], [0.8, -0.6], 1e-12);
  assertNear(got[1], [0, -1], 1e-12);
  assert.throws(() => similarity([[1, 0]], [[1, 0, 0]]), RangeError);
});
