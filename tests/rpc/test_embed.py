"""Unary Embed through the real server equals the engine's own results on the same file."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import numpy as np
import pytest

from service.rpc.generated.embedroute.v1 import common_pb2, embed_pb2, embed_pb2_grpc
from service.core.values import EmbedOptions
from service.engine import Model, load_model
from service.core.encoding import encode
from tests.rpc.conftest import EMBED_MODEL
from tests.rpc.harness import RunningServer, details_of, rich_status

TEXTS = ["What is the capital of China?", "Gravity is a force that attracts two bodies.", "hello"]


@pytest.fixture(scope="module")
def engine(served: RunningServer) -> Iterator[Model]:
    """The same file with the same settings as the server loaded, called directly."""
    chosen = served.server.registry.get(EMBED_MODEL).chosen
    assert chosen is not None
    model = load_model(chosen.description.path, chosen.settings)
    yield model
    model.close()


@pytest.fixture(scope="module")
def stub(channel: grpc.Channel) -> embed_pb2_grpc.EmbedServiceStub:
    return embed_pb2_grpc.EmbedServiceStub(channel)


def floats(e: embed_pb2.Embedding) -> np.ndarray:
    return np.array(e.float_values, dtype=np.float32)


def test_documents_equal_engine(stub: embed_pb2_grpc.EmbedServiceStub, engine: Model) -> None:
    response = stub.Embed(embed_pb2.EmbedRequest(model=EMBED_MODEL, inputs=TEXTS))
    expected = engine.embed(TEXTS, EmbedOptions())
    assert response.model == EMBED_MODEL
    assert [e.index for e in response.embeddings] == [0, 1, 2]
    for got, want in zip(response.embeddings, expected, strict=True):
        assert got.dimensions == 256
        np.testing.assert_array_equal(floats(got), want.vector)
        assert got.prompt_tokens == want.n_tokens
        assert not got.truncated
    assert response.usage.prompt_tokens == sum(e.n_tokens for e in expected)


def test_query_instruction_dimensions_normalize(stub: embed_pb2_grpc.EmbedServiceStub, engine: Model) -> None:
    options = embed_pb2.EmbedOptions(
        input_type=common_pb2.INPUT_TYPE_QUERY, instruction="Find the answer", dimensions=64, normalize=False
    )
    response = stub.Embed(embed_pb2.EmbedRequest(inputs=TEXTS[:2], options=options))
    expected = engine.embed(
        TEXTS[:2], EmbedOptions(input_type="query", instruction="Find the answer", dimensions=64, normalize=False)
    )
    for got, want in zip(response.embeddings, expected, strict=True):
        assert got.dimensions == 64
        np.testing.assert_array_equal(floats(got), want.vector)
    assert abs(float(np.linalg.norm(floats(response.embeddings[0]))) - 1.0) > 1e-3  # really not normalised


def test_default_normalize_is_true(stub: embed_pb2_grpc.EmbedServiceStub) -> None:
    response = stub.Embed(embed_pb2.EmbedRequest(inputs=["unit length please"]))
    assert np.linalg.norm(floats(response.embeddings[0])) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("encoding", ["int8", "ubinary"])
def test_quantized_encodings(stub: embed_pb2_grpc.EmbedServiceStub, engine: Model, encoding: str) -> None:
    enum = {"int8": embed_pb2.ENCODING_INT8, "ubinary": embed_pb2.ENCODING_UBINARY}[encoding]
    response = stub.Embed(embed_pb2.EmbedRequest(inputs=TEXTS, options=embed_pb2.EmbedOptions(encoding=enum)))
    for got, want in zip(response.embeddings, engine.embed(TEXTS, EmbedOptions()), strict=True):
        encoded = encode(want.vector, encoding)  # type: ignore[arg-type]
        assert not got.float_values
        if encoding == "int8":
            assert got.int8_values == encoded.data and len(got.int8_values) == 256
            assert got.int8_scale == pytest.approx(encoded.scale, rel=1e-6)
        else:
            assert got.binary_values == encoded.data and len(got.binary_values) == 32


def test_usage_reports_tokens_and_times(stub: embed_pb2_grpc.EmbedServiceStub) -> None:
    texts = [f"{text} (timed)" for text in TEXTS]  # not in the vector cache: computed, so timed
    usage = stub.Embed(embed_pb2.EmbedRequest(inputs=texts)).usage
    assert usage.prompt_tokens > len(texts) and usage.cached_tokens == 0
    assert usage.inference_time_ns > 0 and usage.tokenization_time_ns > 0
    assert usage.total_time_ns >= usage.queue_time_ns + usage.inference_time_ns
    cached = stub.Embed(embed_pb2.EmbedRequest(inputs=texts)).usage
    assert cached.cached_tokens == cached.prompt_tokens == usage.prompt_tokens and cached.inference_time_ns == 0


def test_too_long_input_names_the_field(stub: embed_pb2_grpc.EmbedServiceStub, engine: Model) -> None:
    long_text = "word " * (engine.n_ctx + 10)
    with pytest.raises(grpc.RpcError) as caught:
        stub.Embed(embed_pb2.EmbedRequest(inputs=["short", long_text]))
    code, status = rich_status(caught.value)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    details = details_of(status)
    assert details["ErrorInfo"].reason == "INPUT_TOO_LONG"
    assert [v.field for v in details["BadRequest"].field_violations] == ["inputs[1]"]

    truncated = stub.Embed(
        embed_pb2.EmbedRequest(inputs=[long_text], options=embed_pb2.EmbedOptions(truncate=True))
    ).embeddings[0]
    assert truncated.truncated and truncated.prompt_tokens == engine.n_ctx
