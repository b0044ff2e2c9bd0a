import { status } from "@grpc/grpc-js";
import assert from "node:assert/strict";
import { test } from "node:test";

import { EmbedrouteClient, EmbedrouteError } from "../src";
import { needsServer, target, withClient } from "./env";

function isError(code: status, reason: string) {
  return (error: unknown) => {
    assert.ok(error instanceof EmbedrouteError, `not an EmbedrouteError: ${String(error)}`);
    assert.equal(error.code, code);
    assert.equal(error.reason, reason);
    return true;
  };
}

test("invalid dimensions expose the field violation", { skip: needsServer }, () =>
  withClient(async (client) => {
    await assert.rejects(client.embed(["text"], { dimensions: 7 }), (error: unknown) => {
      isError(status.INVALID_ARGUMENT, "INVALID_ARGUMENT")(error);
      const rich = error as EmbedrouteError;
      assert.equal(rich.domain, "embedroute.dev");
      assert.deepEqual(rich.fieldViolations.map((v) => v.field), ["options.dimensions"]);
      assert.match(rich.fieldViolations[0].description, /7/);
      return true;
    });
  }));

test("an expired deadline is DEADLINE_EXCEEDED", { skip: needsServer }, () =>
  withClient(async (client) => {
    const texts = Array.from({ length: 32 }, () => "a slow request ".repeat(50));
    await assert.rejects(client.embed(texts, { timeoutMs: 1 }), (error: unknown) => {
      assert.ok(error instanceof EmbedrouteError);
      assert.equal(error.code, status.DEADLINE_EXCEEDED);
      return true;
    });
  }));

test("a missing or wrong API key is UNAUTHENTICATED", { skip: needsServer }, async () => {
  for (const apiKey of [undefined, "not-a-key"]) {
    const client = new EmbedrouteClient(target, { apiKey });
    try {
      await assert.rejects(client.embed(["text"]), isError(status.UNAUTHENTICATED, "UNAUTHENTICATED"));
    } finally {
      client.close();
    }
  }
});
