"""One request cannot hold a model for long: every text and every answer is bounded up front, and
tokenising runs beside the model's worker, not on it.

Before: Tokenize with return_tokens over many large inputs ran 91 s, a one-line Embed
behind it waited 90 s, and the answer then failed with a message-size RESOURCE_EXHAUSTED.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from router import ModelPlan
from service.rpc.generated.embedroute.v1 import embed_pb2, embed_pb2_grpc, tokenize_pb2, tokenize_pb2_grpc
from tests.rpc.harness import RunningServer, details_of, rich_status, server_settings

TEXT = ("The quick brown fox jumps over the lazy dog. " * 5000)[:199_000]
BIG_ANSWERS = [("grpc.max_receive_message_length", 64 * 2**20)]


@pytest.fixture(scope="module")
def server(models_dir: Path, embed_plans_only: list[ModelPlan]) -> Iterator[RunningServer]:
    running = RunningServer(server_settings(models_dir, max_message_bytes=4 * 2**20), embed_plans_only).load()
    yield running
    running.stop()


def test_a_long_tokenize_does_not_hold_an_embed_behind_it(server: RunningServer) -> None:
    """Ten inputs of 199,000 characters (2 M in all, the default bound): counted while Embeds are answered."""
    waits: list[float] = []
    with grpc.insecure_channel(server.target, options=BIG_ANSWERS) as channel:
        embed = embed_pb2_grpc.EmbedServiceStub(channel)
        embed.Embed(embed_pb2.EmbedRequest(inputs=["warm"]), timeout=30)
        done = threading.Event()

        def queries() -> None:
            while not done.is_set():
                began = time.monotonic()
                embed.Embed(embed_pb2.EmbedRequest(inputs=["one line"]), timeout=30)
                waits.append(time.monotonic() - began)
                time.sleep(0.05)

        thread = threading.Thread(target=queries)
        began = time.monotonic()
        thread.start()
        request = tokenize_pb2.TokenizeRequest(inputs=[TEXT] * 10)
        counted = tokenize_pb2_grpc.TokenizeServiceStub(channel).Tokenize(request, timeout=120)
        took = time.monotonic() - began
        done.set()
        thread.join(30)
    assert [r.input_tokens > 40_000 for r in counted.results] == [True] * 10
    assert len(waits) >= 3, (took, waits)
    assert max(waits) < 0.5, f"an Embed waited {max(waits):.2f} s behind a {took:.2f} s Tokenize"


def test_an_answer_too_large_to_send_is_refused_before_any_work(server: RunningServer) -> None:
    """With return_tokens each token comes back with its piece: 4 x 199,000 characters could need
    7 MB, more than the 4 MiB message limit, so the call is refused at once instead of failing after."""
    with grpc.insecure_channel(server.target) as channel:
        began = time.monotonic()
        with pytest.raises(grpc.RpcError) as caught:
            tokenize_pb2_grpc.TokenizeServiceStub(channel).Tokenize(
                tokenize_pb2.TokenizeRequest(inputs=[TEXT] * 4, return_tokens=True), timeout=60
            )
        took = time.monotonic() - began
    code, status = rich_status(caught.value)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in details_of(status)["BadRequest"].field_violations] == ["return_tokens"]
    assert took < 2.0


def test_a_ten_megabyte_instruction_is_refused_before_tokenising(models_dir: Path, embed_plans_only: list[ModelPlan]) -> None:
    server = RunningServer(server_settings(models_dir), embed_plans_only).load()
    try:
        with grpc.insecure_channel(server.target, options=[("grpc.max_send_message_length", 64 * 2**20)]) as channel:
            options = embed_pb2.EmbedOptions(input_type=1, instruction="i" * 10_000_000)
            began = time.monotonic()
            with pytest.raises(grpc.RpcError) as caught:
                embed_pb2_grpc.EmbedServiceStub(channel).Embed(
                    embed_pb2.EmbedRequest(inputs=["q"], options=options), timeout=60
                )
            took = time.monotonic() - began
        code, status = rich_status(caught.value)
        assert code == grpc.StatusCode.INVALID_ARGUMENT
        assert [v.field for v in details_of(status)["BadRequest"].field_violations] == [
            "options.instruction",
            "inputs",
        ]
        assert took < 2.0
    finally:
        server.stop()
