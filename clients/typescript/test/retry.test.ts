// Retries against a small in-test server that is overloaded for its first N calls: the
// real server's queue cannot be filled on cue, this one answers as service/status.py does.
import { Metadata, Server, ServerCredentials, type ServerUnaryCall, status, type sendUnaryData } from "@grpc/grpc-js";
import assert from "node:assert/strict";
import { test } from "node:test";

import { EmbedrouteClient, EmbedrouteError } from "../src";
import { EmbedResponse, type EmbedRequest, EmbedServiceService } from "../src/gen/embedroute/v1/embed";
import { ErrorInfo, RetryInfo } from "../src/gen/google/rpc/error_details";
import { Status } from "../src/gen/google/rpc/status";
import { assertNear } from "./env";

const RETRY_DELAY_MS = 300;

async function overloadedFirst(failures: number): Promise<{ calls: number[]; target: string; server: Server }> {
  const calls: number[] = [];
  const server = new Server();
  server.addService(EmbedServiceService, {
    embed(_call: ServerUnaryCall<EmbedRequest, EmbedResponse>, callback: sendUnaryData<EmbedResponse>) {
      calls.push(Date.now());
      if (calls.length > failures) {
        callback(null, EmbedResponse.fromPartial({ embeddings: [{ dimensions: 2, floatValues: [0.6, 0.8] }] }));
        return;
      }
      const details = Status.encode({
        code: status.RESOURCE_EXHAUSTED,
        message: "queue full",
        details: [
          {
            typeUrl: "type.googleapis.com/google.rpc.ErrorInfo",
            value: Buffer.from(ErrorInfo.encode({ reason: "OVERLOADED", domain: "embedroute.dev", metadata: {} }).finish()),
          },
          {
            typeUrl: "type.googleapis.com/google.rpc.RetryInfo",
            value: Buffer.from(RetryInfo.encode({ retryDelay: { seconds: 0, nanos: RETRY_DELAY_MS * 1e6 } }).finish()),
          },
        ],
      }).finish();
      const metadata = new Metadata();
      metadata.set("grpc-status-details-bin", Buffer.from(details));
      callback({ code: status.RESOURCE_EXHAUSTED, details: "queue full", metadata });
    },
    embedStream() {},
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return { calls, target: `127.0.0.1:${port}`, server };
}

test("RESOURCE_EXHAUSTED is retried after the RetryInfo delay", async () => {
  const { calls, target, server } = await overloadedFirst(1);
  const client = new EmbedrouteClient(target);
  try {
    const [vector] = await client.embed(["text"]);
    assertNear(vector, [0.6, 0.8], 1e-7);
    assert.equal(calls.length, 2);
    assert.ok(calls[1] - calls[0] >= RETRY_DELAY_MS - 5, `retried after ${calls[1] - calls[0]} ms`);
  } finally {
    client.close();
    server.forceShutdown();
  }
});

test("without retries the error carries the delay", async () => {
  const { calls, target, server } = await overloadedFirst(1);
  const client = new EmbedrouteClient(target, { retry: { maxAttempts: 1, backoffMs: 100, maxDelayMs: 1000 } });
  try {
    await assert.rejects(client.embed(["text"]), (error: unknown) => {
      assert.ok(error instanceof EmbedrouteError);
      assert.equal(error.code, status.RESOURCE_EXHAUSTED);
      assert.equal(error.reason, "OVERLOADED");
      assert.equal(error.retryDelayMs, RETRY_DELAY_MS);
      return true;
    });
    assert.equal(calls.length, 1);
  } finally {
    client.close();
    server.forceShutdown();
  }
});

test("no retry that would outlast the deadline; attempts are bounded", async () => {
  const { calls, target, server } = await overloadedFirst(10);
  const client = new EmbedrouteClient(target, { retry: { maxAttempts: 2, backoffMs: 100, maxDelayMs: 1000 } });
  try {
    await assert.rejects(client.embed(["text"], { timeoutMs: RETRY_DELAY_MS / 2 }), EmbedrouteError);
    assert.equal(calls.length, 1);
    await assert.rejects(client.embed(["text"]), EmbedrouteError);
    assert.equal(calls.length, 3);
  } finally {
    client.close();
    server.forceShutdown();
  }
});
