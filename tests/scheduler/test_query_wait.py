"""A query waits one step, not for a document that fills the context, and its Usage says how long it waited.

A separate client process (its own gRPC stack, as a user's) sends a one-line query while
a document of all the context's cells (truncate on) is in flight on the same model.
Timings are noisy on a shared machine, so the assertions are on order and accounting:
the query is answered while the document still runs, and the queue time the server
reports covers the time the query spent waiting.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from router import ModelPlan
from service.rpc.generated.embedroute.v1 import common_pb2, embed_pb2, embed_pb2_grpc
from service.serve import plan
from tests.rpc.harness import RunningServer, server_settings

MODEL = "qwen3-embedding-tiny"
DOCUMENT = " ".join(f"line {i}: the river bends past the mill and the old stone bridge." for i in range(600))
CLIENT = """
import json, sys, time
import grpc
from service.rpc.generated.embedroute.v1 import common_pb2, embed_pb2, embed_pb2_grpc
channel = grpc.insecure_channel(sys.argv[1])
stub = embed_pb2_grpc.EmbedServiceStub(channel)
query = embed_pb2.EmbedRequest(
    model=sys.argv[2], inputs=["Where is the old bridge?"],
    options=embed_pb2.EmbedOptions(input_type=common_pb2.INPUT_TYPE_QUERY),
)
stub.Embed(query)  # connected and warm
print("ready", flush=True)
sys.stdin.readline()
started = time.monotonic()
usage = stub.Embed(query).usage
print(json.dumps({"latency_s": time.monotonic() - started, "queue_s": usage.queue_time_ns / 1e9,
                  "inference_s": usage.inference_time_ns / 1e9, "total_s": usage.total_time_ns / 1e9}), flush=True)
"""


@pytest.fixture(scope="module")
def server(models_dir: Path) -> Iterator[RunningServer]:
    settings = server_settings(models_dir, ctx=8192)  # the document: 8,192 tokens, about a second of decodes
    plans: list[ModelPlan] = [p for p in plan(settings) if p.model_id == MODEL]
    running = RunningServer(settings, plans).load()
    yield running
    running.stop()


def test_a_query_is_answered_while_a_context_filling_document_runs(server: RunningServer) -> None:
    worker = server.server.registry.get(MODEL).worker
    assert worker is not None
    client = subprocess.Popen(
        [sys.executable, "-c", CLIENT, server.target, MODEL],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert client.stdout is not None and client.stdin is not None
        assert client.stdout.readline().strip() == "ready"
        with grpc.insecure_channel(server.target) as channel:
            stub = embed_pb2_grpc.EmbedServiceStub(channel)
            request = embed_pb2.EmbedRequest(
                model=MODEL, inputs=[DOCUMENT], options=embed_pb2.EmbedOptions(truncate=True)
            )
            document = stub.Embed.future(request, timeout=120)
            deadline = time.monotonic() + 30
            before = worker.stats.batches
            while worker.stats.batches < before + 2 and time.monotonic() < deadline:
                time.sleep(0.005)  # the document is in the engine, two steps in
            client.stdin.write("go\n")
            client.stdin.flush()
            line = client.stdout.readline()
            document_done = document.done()
            answer = document.result()
        assert answer.embeddings[0].truncated and answer.embeddings[0].prompt_tokens == server.settings.ctx
        got = json.loads(line)
        print(f"\nquery behind a {server.settings.ctx}-cell document: {got}; document "
              f"{answer.usage.inference_time_ns / 1e9:.3f} s of decodes")
        assert not document_done  # answered while the document still ran
        # What the server reports accounts for the client's wait: nothing hides between queue and decode.
        assert got["queue_s"] + got["inference_s"] <= got["total_s"] <= got["latency_s"]
        assert got["total_s"] - got["queue_s"] - got["inference_s"] < 0.5 * got["total_s"] + 0.005
    finally:
        client.kill()
        client.wait(10)
