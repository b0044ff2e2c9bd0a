// The server under test comes from scripts/check-clients.sh (EMBEDROUTE_TARGET,
// EMBEDROUTE_API_KEY, EMBEDROUTE_VECTORS_DIR; EMBEDROUTE_M3_TARGET, a second server with the tiny
// BGE-M3, and EMBEDROUTE_M3_HYBRID, the hybrid scores it must give); without it the server tests skip.
import assert from "node:assert/strict";

import { EmbedrouteClient } from "../src";

export const target = process.env.EMBEDROUTE_TARGET ?? "";
export const apiKey = process.env.EMBEDROUTE_API_KEY ?? "";
export const vectorsDir = process.env.EMBEDROUTE_VECTORS_DIR ?? "";
export const needsServer = target && apiKey ? false : "EMBEDROUTE_TARGET/EMBEDROUTE_API_KEY unset: run scripts/check-clients.sh";
export const m3Target = process.env.EMBEDROUTE_M3_TARGET ?? "";
export const m3Hybrid = process.env.EMBEDROUTE_M3_HYBRID ?? "";
export const needsM3Server =
  m3Target && m3Hybrid && apiKey ? false : "EMBEDROUTE_M3_TARGET/EMBEDROUTE_M3_HYBRID unset: run scripts/check-clients.sh";

export const QUERIES = ["What is the capital of China?", "Explain gravity"];
export const DOCUMENTS = [
  "The capital of China is Beijing.",
  "Gravity is a force that attracts two bodies towards each other. It gives weight to physical objects " +
    "and is responsible for the movement of planets around the sun.",
];
export const TASK = "Given a web search query, retrieve relevant passages that answer the query";

export async function withClient<T>(run: (client: EmbedrouteClient) => Promise<T>): Promise<T> {
  const client = new EmbedrouteClient(target, { apiKey });
  try {
    return await run(client);
  } finally {
    client.close();
  }
}

export function assertNear(got: ArrayLike<number>, want: ArrayLike<number>, tolerance: number): void {
  assert.equal(got.length, want.length);
  for (let i = 0; i < got.length; i++) {
    assert.ok(Math.abs(got[i] - want[i]) <= tolerance, `component ${i}: ${got[i]} vs ${want[i]}`);
  }
}
