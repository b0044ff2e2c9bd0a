import assert from "node:assert/strict";
import { test } from "node:test";

import { needsServer, withClient } from "./env";

test("embedTokens gives one unit vector per token", { skip: needsServer }, () =>
  withClient(async (client) => {
    const inputs = await client.embedTokens(["late interaction", "a second, longer input text"]);
    assert.equal(inputs.length, 2);
    assert.ok(inputs[1].vectors.length > inputs[0].vectors.length);
    for (const input of inputs) {
      assert.equal(input.vectors.length, input.tokenIds.length);
      for (const vector of input.vectors) {
        assert.equal(vector.length, 256);
        const norm = Math.hypot(...vector);
        assert.ok(Math.abs(norm - 1) < 1e-5, `norm ${norm}`);
      }
    }
    const [cut] = await client.embedTokens(["late interaction"], { dimensions: 64 });
    assert.equal(cut.vectors.length, inputs[0].vectors.length);
    assert.equal(cut.vectors[0].length, 64);
  }));
