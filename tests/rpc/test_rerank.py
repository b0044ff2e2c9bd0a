"""Unary Rerank through the real server equals the engine's scores, sorted, cut to top_n."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import grpc
import pytest

from service.rpc.generated.embedroute.v1 import rerank_pb2, rerank_pb2_grpc
from service.engine import Model, load_model
from router.types import CPU_QUERY_STEP_TOKENS
from tests.rpc.conftest import EMBED_MODEL, RERANK_MODEL
from tests.rpc.harness import RunningServer, details_of, rich_status

QUERY = "What is the capital of China?"
DOCS = [
    "The capital of China is Beijing.",
    "Gravity is a force that attracts two bodies towards each other.",
    "Beijing has been the capital for centuries.",
    "Bread is made from flour, water and yeast.",
]


@pytest.fixture(scope="module")
def engine(served: RunningServer) -> Iterator[Model]:
    chosen = served.server.registry.get(RERANK_MODEL).chosen
    assert chosen is not None
    # These calls are short requests, which the server runs in query-sized steps; decodes of the
    # same sizes give the same floats (a different split moves scores by about 1e-5).
    model = load_model(chosen.description.path, replace(chosen.settings, n_batch=CPU_QUERY_STEP_TOKENS))
    yield model
    model.close()


@pytest.fixture(scope="module")
def stub(channel: grpc.Channel) -> rerank_pb2_grpc.RerankServiceStub:
    return rerank_pb2_grpc.RerankServiceStub(channel)


def test_scores_equal_engine_sorted(stub: rerank_pb2_grpc.RerankServiceStub, engine: Model) -> None:
    response = stub.Rerank(rerank_pb2.RerankRequest(query=QUERY, documents=DOCS))
    expected = engine.rerank(QUERY, DOCS)
    want = sorted(expected, key=lambda s: (-s.score, s.index))
    assert response.model == RERANK_MODEL
    assert [r.index for r in response.results] == [s.index for s in want]
    # The server decodes the shared prefix once (share_prefixes), the engine here whole prompts:
    # another split of the same decode, within the 1e-4 that sharing is held to.
    assert [r.score for r in response.results] == [pytest.approx(s.score, abs=1e-4) for s in want]
    assert [r.prompt_tokens for r in response.results] == [s.n_tokens for s in want]
    assert all(not r.document for r in response.results)
    assert response.usage.prompt_tokens == sum(s.n_tokens for s in expected)
    assert response.usage.inference_time_ns > 0


def test_top_n_instruction_and_documents(stub: rerank_pb2_grpc.RerankServiceStub, engine: Model) -> None:
    instruction = "Find passages about cities"
    response = stub.Rerank(
        rerank_pb2.RerankRequest(
            model=RERANK_MODEL, query=QUERY, documents=DOCS, top_n=2, instruction=instruction, return_documents=True
        )
    )
    want = sorted(engine.rerank(QUERY, DOCS, instruction=instruction), key=lambda s: (-s.score, s.index))[:2]
    assert [r.index for r in response.results] == [s.index for s in want]
    assert [r.document for r in response.results] == [DOCS[s.index] for s in want]
    # The server decodes the shared prefix once (share_prefixes), the engine here whole prompts:
    # another split of the same decode, within the 1e-4 that sharing is held to.
    assert [r.score for r in response.results] == [pytest.approx(s.score, abs=1e-4) for s in want]


def test_embedding_model_cannot_rerank(stub: rerank_pb2_grpc.RerankServiceStub) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        stub.Rerank(rerank_pb2.RerankRequest(model=EMBED_MODEL, query=QUERY, documents=DOCS))
    code, status = rich_status(caught.value)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    details = details_of(status)
    assert details["ErrorInfo"].reason == "WRONG_MODEL_KIND"
    assert [v.field for v in details["BadRequest"].field_violations] == ["model"]
