// Rerank's scoring options against the tiny BGE-M3 server: hybrid with explicit weights gives the
// scores the Python tests' numpy reference computes (EMBEDROUTE_M3_HYBRID), within 1e-4, unary and
// stream; a negative weight is the server's INVALID_ARGUMENT.
import { status } from "@grpc/grpc-js";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { EmbedrouteClient, EmbedrouteError, type HybridWeights, type RerankResult } from "../src";
import { apiKey, m3Hybrid, m3Target, needsM3Server } from "./env";

interface HybridCheck {
  query: string;
  documents: string[];
  weights: HybridWeights;
  scores: number[];
}

async function withM3<T>(run: (client: EmbedrouteClient, check: HybridCheck) => Promise<T>): Promise<T> {
  const check = JSON.parse(readFileSync(m3Hybrid, "utf-8")) as HybridCheck;
  const client = new EmbedrouteClient(m3Target, { apiKey });
  try {
    return await run(client, check);
  } finally {
    client.close();
  }
}

function assertReference(results: RerankResult[], check: HybridCheck): void {
  const order = check.scores.map((_, i) => i).sort((a, b) => check.scores[b] - check.scores[a] || a - b);
  assert.deepEqual(results.map((r) => r.index), order);
  for (const r of results) {
    assert.ok(Math.abs(r.score - check.scores[r.index]) <= 1e-4, `document ${r.index}: ${r.score} vs ${check.scores[r.index]}`);
  }
}

test("hybrid with weights equals the reference", { skip: needsM3Server }, () =>
  withM3(async (client, check) => {
    const options = { scoring: "hybrid" as const, hybridWeights: check.weights };
    assertReference(await client.rerank(check.query, check.documents, options), check);
    assertReference(await client.rerankStream(check.query, check.documents, { ...options, chunkSize: 2 }), check);
  }));

test("cosine is hybrid of the dense score alone; maxsim scores every document", { skip: needsM3Server }, () =>
  withM3(async (client, check) => {
    const cosine = await client.rerank(check.query, check.documents, { scoring: "cosine" });
    const dense = await client.rerank(check.query, check.documents, {
      scoring: "hybrid",
      hybridWeights: { dense: 1, sparse: 0, colbert: 0 },
    });
    assert.deepEqual(dense.map((r) => r.index), cosine.map((r) => r.index));
    dense.forEach((r, i) => assert.ok(Math.abs(r.score - cosine[i].score) <= 1e-5));
    assert.equal((await client.rerank(check.query, check.documents, { scoring: "maxsim" })).length, check.documents.length);
  }));

test("a negative hybrid weight is INVALID_ARGUMENT", { skip: needsM3Server }, () =>
  withM3(async (client, check) => {
    const hybridWeights = { dense: -0.5, sparse: 0.5, colbert: 0.5 };
    await assert.rejects(client.rerank(check.query, check.documents, { scoring: "hybrid", hybridWeights }), (error: unknown) => {
      assert.ok(error instanceof EmbedrouteError, `not an EmbedrouteError: ${String(error)}`);
      assert.equal(error.code, status.INVALID_ARGUMENT);
      assert.deepEqual(error.fieldViolations.map((v) => v.field), ["hybrid_weights.dense"]);
      return true;
    });
  }));
