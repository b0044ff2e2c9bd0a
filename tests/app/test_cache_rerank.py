"""Rerank scores are cached by query, document, instruction and truncation: a repeated document is
scored once, a repeated request is answered from the cache with the same scores, bit for bit
(and within the engine's batch noise of a fresh compute), and another query or instruction is
not a hit."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from service.rpc.generated.embedroute.v1 import rerank_pb2, rerank_pb2_grpc
from tests.app.cache_support import metric, start
from tests.conftest import SynthModels
from tests.rpc.harness import RunningServer

DOCUMENTS = ["a cat on a mat", "stock prices fell", "a cat on a mat", "kittens and cats", "stock prices fell"]


def rerank(server: RunningServer, query: str, instruction: str = "") -> rerank_pb2.RerankResponse:
    with grpc.insecure_channel(server.target) as channel:
        request = rerank_pb2.RerankRequest(query=query, documents=DOCUMENTS, instruction=instruction)
        response: rerank_pb2.RerankResponse = rerank_pb2_grpc.RerankServiceStub(channel).Rerank(request, timeout=60)
        return response


def scores(response: rerank_pb2.RerankResponse) -> dict[int, float]:
    return {r.index: r.score for r in response.results}


def test_rerank_scores_are_cached_per_query_and_document(synth_models: SynthModels, tmp_path: Path) -> None:
    folder = tmp_path / "models"
    folder.mkdir()
    source = synth_models.reranker_cls["F16"]
    (folder / source.name).symlink_to(source)
    server, fresh = start(folder), start(folder, cache="off")
    try:
        first = rerank(server, "cats")
        assert metric(server, "embedroute_cache_inputs_total", result="miss") == 3  # the repeats scored once
        assert first.usage.cached_tokens > 0 and first.usage.prompt_tokens == rerank(fresh, "cats").usage.prompt_tokens
        # a fresh compute scores each copy in its own batch position: equal within the engine's batch noise
        assert scores(first) == pytest.approx(scores(rerank(fresh, "cats")), abs=1e-3)
        by_index = scores(first)
        assert by_index[0] == by_index[2] and by_index[1] == by_index[4]
        again = rerank(server, "cats")
        assert again.usage.cached_tokens == again.usage.prompt_tokens
        assert scores(again) == by_index and [r.index for r in again.results] == [r.index for r in first.results]
        other = rerank(server, "stocks")
        instructed = rerank(server, "cats", instruction="Find documents about pets")
        assert other.usage.cached_tokens < other.usage.prompt_tokens
        assert instructed.usage.cached_tokens < instructed.usage.prompt_tokens
        assert scores(instructed) == pytest.approx(
            scores(rerank(fresh, "cats", instruction="Find documents about pets")), abs=1e-3
        )
    finally:
        server.stop()
        fresh.stop()
