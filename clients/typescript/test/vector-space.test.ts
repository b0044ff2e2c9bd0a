import assert from "node:assert/strict";
import { test } from "node:test";

import { EmbedrouteClient, VectorSpaceMismatchError } from "../src";
import { apiKey, needsServer, target, withClient } from "./env";

const OTHER = "vs1-0000000000000000";
const ID = /^vs1-[0-9a-f]{16}$/;

test("the served space has an id", { skip: needsServer }, () =>
  withClient(async (client) => {
    assert.match(await client.vectorSpace(), ID);
  }));

test("a matching expectation returns vectors", { skip: needsServer }, () =>
  withClient(async (client) => {
    const space = await client.vectorSpace();
    const strict = new EmbedrouteClient(target, { apiKey, expectVectorSpace: space });
    try {
      const vectors = await strict.embed(["a text"]);
      assert.deepEqual([vectors.length, vectors[0].length], [1, 256]);
    } finally {
      strict.close();
    }
  }));

test("a mismatch throws VectorSpaceMismatchError instead of returning vectors", { skip: needsServer }, () =>
  withClient(async (client) => {
    const space = await client.vectorSpace();
    await assert.rejects(client.embed(["a text"], { expectVectorSpace: OTHER }), (error: unknown) => {
      assert.ok(error instanceof VectorSpaceMismatchError, String(error));
      assert.deepEqual([error.expected, error.actual, error.model, error.reason], [
        OTHER, space, "qwen3-embedding-tiny", "VECTOR_SPACE_MISMATCH",
      ]);
      assert.equal(
        error.message,
        `FAILED_PRECONDITION: model 'qwen3-embedding-tiny' serves vector space ${space}, expected ${OTHER} (VECTOR_SPACE_MISMATCH)`,
      );
      return true;
    });
    const streamed: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const item of client.embedStream(["a", "b"], { expectVectorSpace: OTHER })) {
          streamed.push(item.index);
        }
      })(),
      VectorSpaceMismatchError,
    );
    assert.deepEqual(streamed, []);
  }));

test("unnormalised vectors are another space", { skip: needsServer }, () =>
  withClient(async (client) => {
    const space = await client.vectorSpace();
    await assert.rejects(client.embed(["a text"], { normalize: false, expectVectorSpace: space }), (error: unknown) => {
      assert.ok(error instanceof VectorSpaceMismatchError);
      assert.match(error.actual, ID);
      assert.notEqual(error.actual, space);
      return true;
    });
  }));
