import { status } from "@grpc/grpc-js";
import assert from "node:assert/strict";
import { test } from "node:test";

import { EmbedrouteError } from "../src";
import { needsServer, withClient } from "./env";

// The check server serves Qwen3-Embedding, which has no sparse head: the call reaches
// EmbedSparse and comes back as the field violation on "model".
test("embedSparse needs a model with the sparse head", { skip: needsServer }, () =>
  withClient(async (client) => {
    await assert.rejects(client.embedSparse(["lexical weights"], {}, true), (error: unknown) => {
      assert.ok(error instanceof EmbedrouteError, `not an EmbedrouteError: ${String(error)}`);
      assert.equal(error.code, status.INVALID_ARGUMENT);
      assert.deepEqual(error.fieldViolations.map((v) => v.field), ["model"]);
      assert.match(error.fieldViolations[0].description, /has no sparse head/);
      return true;
    });
  }));
