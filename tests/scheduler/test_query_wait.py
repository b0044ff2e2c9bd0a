"""A one-line request waits one step, not for a long request ahead of it, and its Usage says how long it waited.

A separate client process (its own gRPC stack, as a user's) sends a one-line request while a long
one is in flight on the same model: a document of all the context's cells, a query behind an
instruction of 199,000 characters, or a rerank whose query is about 7,000 tokens (issue #33 item 4:
a long query-side prompt is a long request, however short its texts). Timings are noisy on a
shared machine, so the assertions are on order and accounting: the short request is answered while
the long one still runs, and the queue time the server reports covers the time it spent waiting.
The cache is off: each case's long request is computed, not found.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from router import ModelPlan
from service.rpc.generated.embedroute.v1 import common_pb2, embed_pb2, embed_pb2_grpc, rerank_pb2, rerank_pb2_grpc
from service.serve import plan
from tests.rpc.harness import RunningServer, server_settings

MODEL = "qwen3-embedding-tiny"
RERANKER = "qwen3-reranker-tiny"
LINE = "line {}: the river bends past the mill and the old stone bridge."
DOCUMENT = " ".join(LINE.format(i) for i in range(600))
CLIENT = """
import json, sys, time
import grpc
from service.rpc.generated.embedroute.v1 import common_pb2, embed_pb2, embed_pb2_grpc, rerank_pb2, rerank_pb2_grpc
channel = grpc.insecure_channel(sys.argv[1])
if sys.argv[2] == "embed":
    call = embed_pb2_grpc.EmbedServiceStub(channel).Embed
    request = embed_pb2.EmbedRequest(
        model=sys.argv[3], inputs=["Where is the old bridge?"],
        options=embed_pb2.EmbedOptions(input_type=common_pb2.INPUT_TYPE_QUERY),
    )
else:
    call = rerank_pb2_grpc.RerankServiceStub(channel).Rerank
    request = rerank_pb2.RerankRequest(model=sys.argv[3], query="Which bridge?", documents=["The stone bridge."])
call(request)  # connected and warm
print("ready", flush=True)
sys.stdin.readline()
started = time.monotonic()
usage = call(request).usage
print(json.dumps({"latency_s": time.monotonic() - started, "queue_s": usage.queue_time_ns / 1e9,
                  "inference_s": usage.inference_time_ns / 1e9, "total_s": usage.total_time_ns / 1e9}), flush=True)
"""


@pytest.fixture(scope="module")
def server(models_dir: Path) -> Iterator[RunningServer]:
    settings = server_settings(models_dir, ctx=8192, cache="off")  # 8,192 tokens: about a second of decodes
    plans: list[ModelPlan] = [p for p in plan(settings) if p.model_id in (MODEL, RERANKER)]
    running = RunningServer(settings, plans).load()
    yield running
    running.stop()


Started = tuple[Any, Callable[[Any], int]]
"""The long call's future, and how many tokens its answer says it decoded."""


def _document(channel: grpc.Channel) -> Started:
    request = embed_pb2.EmbedRequest(model=MODEL, inputs=[DOCUMENT], options=embed_pb2.EmbedOptions(truncate=True))
    future = embed_pb2_grpc.EmbedServiceStub(channel).Embed.future(request, timeout=120)
    return future, lambda answer: answer.embeddings[0].prompt_tokens


def _long_instruction(channel: grpc.Channel) -> Started:
    options = embed_pb2.EmbedOptions(
        input_type=common_pb2.INPUT_TYPE_QUERY, instruction=" ".join([DOCUMENT] * 6)[:199_000], truncate=True
    )
    assert len(options.instruction) == 199_000
    request = embed_pb2.EmbedRequest(model=MODEL, inputs=["Where?"], options=options)
    future = embed_pb2_grpc.EmbedServiceStub(channel).Embed.future(request, timeout=120)
    return future, lambda answer: answer.embeddings[0].prompt_tokens


def _long_rerank_query(channel: grpc.Channel) -> Started:
    query = " ".join(LINE.format(i) for i in range(440))
    request = rerank_pb2.RerankRequest(model=RERANKER, query=query, documents=["The stone bridge."], truncate=True)
    future = rerank_pb2_grpc.RerankServiceStub(channel).Rerank.future(request, timeout=120)
    return future, lambda answer: answer.results[0].prompt_tokens


AHEAD: dict[str, tuple[str, str, Callable[[grpc.Channel], Started]]] = {
    "a context-filling document": ("embed", MODEL, _document),
    "an instruction of 199k characters": ("embed", MODEL, _long_instruction),
    "a rerank query of 7k tokens": ("rerank", RERANKER, _long_rerank_query),
}


@pytest.mark.parametrize("ahead", list(AHEAD))
def test_a_short_request_is_answered_while_a_long_one_runs(server: RunningServer, ahead: str) -> None:
    kind, model, start = AHEAD[ahead]
    with grpc.insecure_channel(server.target) as channel:
        worker = server.server.registry.get(model).worker
        assert worker is not None
        client = subprocess.Popen(
            [sys.executable, "-c", CLIENT, server.target, kind, model],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2],
        )
        try:
            assert client.stdout is not None and client.stdin is not None
            assert client.stdout.readline().strip() == "ready"
            before = worker.stats.batches
            long_call, long_tokens = start(channel)
            deadline = time.monotonic() + 30
            while worker.stats.batches < before + 2 and time.monotonic() < deadline:
                time.sleep(0.005)  # the long request is in the engine, two steps in
            client.stdin.write("go\n")
            client.stdin.flush()
            line = client.stdout.readline()
            long_done = long_call.done()
            answer = long_call.result()
        finally:
            client.kill()
            client.wait(10)
    assert long_tokens(answer) > 6000
    got = json.loads(line)
    print(f"\na one-line {kind} behind {ahead} ({long_tokens(answer)} tokens): {got}; the long one "
          f"{answer.usage.inference_time_ns / 1e9:.3f} s of decodes")
    assert not long_done  # answered while the long request still ran
    # What the server reports accounts for the client's wait: nothing hides between queue and decode.
    assert got["queue_s"] + got["inference_s"] <= got["total_s"] <= got["latency_s"]
    assert got["total_s"] - got["queue_s"] - got["inference_s"] < 0.5 * got["total_s"] + 0.005
