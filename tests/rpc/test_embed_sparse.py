"""EmbedSparse (embedroute.v1 and tei.v1) through the real server: BGE-M3's lexical weights, equal to the
engine's on the same file and to the numpy reference; a model without the head is INVALID_ARGUMENT."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import numpy as np
import pytest

from service.core.values import EmbedOptions
from service.engine import Model, load_model
from service.rpc.generated.embedroute.v1 import embed_pb2, embed_pb2_grpc, model_pb2, model_pb2_grpc
from service.rpc.generated.tei.v1 import tei_pb2, tei_pb2_grpc
from tests.conftest import M3_MODEL, M3Models
from tests.models.m3_numpy import M3Reference
from tests.rpc.conftest import EMBED_MODEL
from tests.rpc.harness import RunningServer, details_of, rich_status

TEXTS = ["What is the capital of China?", "the model model query", "Paris is the capital of France."]


@pytest.fixture(scope="module")
def m3_channel(m3_served: RunningServer) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(m3_served.target) as ch:
        yield ch


@pytest.fixture(scope="module")
def engine(m3_served: RunningServer) -> Iterator[Model]:
    chosen = m3_served.server.registry.get(M3_MODEL).chosen
    assert chosen is not None
    model = load_model(chosen.description.path, chosen.settings)
    yield model
    model.close()


def test_weights_equal_engine_and_reference(m3_channel: grpc.Channel, engine: Model, m3_models: M3Models) -> None:
    stub = embed_pb2_grpc.EmbedServiceStub(m3_channel)
    response = stub.EmbedSparse(embed_pb2.EmbedSparseRequest(model=M3_MODEL, inputs=TEXTS, return_tokens=True))
    reference = M3Reference(m3_models.checkpoint)
    outs = engine.embed_outputs(TEXTS, EmbedOptions(), frozenset({"sparse"}))
    assert response.model == M3_MODEL and [v.index for v in response.inputs] == [0, 1, 2]
    for text, got, out in zip(TEXTS, response.inputs, outs, strict=True):
        assert out.sparse is not None
        assert list(got.token_ids) == out.sparse.token_ids
        np.testing.assert_allclose(np.array(got.weights, dtype=np.float32), out.sparse.weights, atol=1e-6)
        want = reference.sparse(reference.tokenize(text))
        assert list(got.token_ids) == sorted(want)
        assert np.abs(np.array(got.weights) - np.array([want[t] for t in got.token_ids])).max() <= 1e-4
        assert list(got.tokens) == [reference.tokenizer.decode([t]) for t in got.token_ids]
        assert got.prompt_tokens == len(reference.tokenize(text)) and not got.truncated
    assert response.usage.prompt_tokens == sum(v.prompt_tokens for v in response.inputs)
    assert response.vector_space_id.startswith("vs1-")


def test_each_output_kind_has_its_own_space(m3_channel: grpc.Channel) -> None:
    stub = embed_pb2_grpc.EmbedServiceStub(m3_channel)
    sparse = stub.EmbedSparse(embed_pb2.EmbedSparseRequest(model=M3_MODEL, inputs=TEXTS[:1])).vector_space_id
    dense = stub.Embed(embed_pb2.EmbedRequest(model=M3_MODEL, inputs=TEXTS[:1])).vector_space_id
    colbert = stub.EmbedTokens(embed_pb2.EmbedTokensRequest(model=M3_MODEL, inputs=TEXTS[:1])).vector_space_id
    assert len({sparse, dense, colbert}) == 3


def test_token_vectors_of_bge_m3_are_colbert_vectors(m3_channel: grpc.Channel, m3_models: M3Models) -> None:
    stub = embed_pb2_grpc.EmbedServiceStub(m3_channel)
    response = stub.EmbedTokens(embed_pb2.EmbedTokensRequest(model=M3_MODEL, inputs=TEXTS[:1]))
    reference = M3Reference(m3_models.checkpoint)
    ids = reference.tokenize(TEXTS[0])
    got = np.array([v.float_values for v in response.inputs[0].vectors])
    assert list(response.inputs[0].token_ids) == ids[1:]
    assert np.sum(got * reference.colbert(ids), axis=1).min() >= 0.99999


def test_tei_embed_sparse(m3_channel: grpc.Channel) -> None:
    reply = tei_pb2_grpc.EmbedStub(m3_channel).EmbedSparse(tei_pb2.EmbedSparseRequest(inputs=TEXTS[0]))
    want = embed_pb2_grpc.EmbedServiceStub(m3_channel).EmbedSparse(
        embed_pb2.EmbedSparseRequest(model=M3_MODEL, inputs=TEXTS[:1])
    ).inputs[0]
    assert [v.index for v in reply.sparse_embeddings] == list(want.token_ids)
    assert [v.value for v in reply.sparse_embeddings] == list(want.weights)
    assert reply.metadata.compute_tokens == want.prompt_tokens


def test_a_model_without_the_sparse_head_is_invalid_argument(channel: grpc.Channel) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        embed_pb2_grpc.EmbedServiceStub(channel).EmbedSparse(
            embed_pb2.EmbedSparseRequest(model=EMBED_MODEL, inputs=TEXTS[:1])
        )
    code, status = rich_status(caught.value)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    violations = details_of(status)["BadRequest"].field_violations
    assert [v.field for v in violations] == ["model"]
    assert f"{EMBED_MODEL} has no sparse head" in violations[0].description


def test_model_service_lists_the_outputs_and_their_spaces(m3_channel: grpc.Channel) -> None:
    models = {m.id: m for m in model_pb2_grpc.ModelServiceStub(m3_channel).ListModels(model_pb2.ListModelsRequest()).models}
    m3 = models[M3_MODEL]
    assert list(m3.outputs) == ["dense", "sparse", "colbert"]
    embed = embed_pb2_grpc.EmbedServiceStub(m3_channel)
    assert m3.sparse_vector_space_id == embed.EmbedSparse(
        embed_pb2.EmbedSparseRequest(model=M3_MODEL, inputs=TEXTS[:1])).vector_space_id
    assert m3.token_vector_space_id == embed.EmbedTokens(
        embed_pb2.EmbedTokensRequest(model=M3_MODEL, inputs=TEXTS[:1])).vector_space_id
    reranker = next(m for m in models.values() if m.id != M3_MODEL)
    assert (list(reranker.outputs), reranker.token_vector_space_id, reranker.sparse_vector_space_id) == ([], "", "")
