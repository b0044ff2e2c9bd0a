"""EmbedTokens through the real server: every token's vector, as the engine computes them on the same file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import numpy as np
import pytest

from router import ModelPlan
from service.core.encoding import encode
from service.core.values import EmbedOptions
from service.engine import Model, load_model
from service.rpc.generated.embedroute.v1 import common_pb2, embed_pb2, embed_pb2_grpc
from tests.rpc.conftest import EMBED_MODEL
from tests.rpc.harness import RunningServer, details_of, rich_status, server_settings

TEXTS = ["What is the capital of China?", "Gravity is a force that attracts two bodies.", "hello"]


@pytest.fixture(scope="module")
def engine(served: RunningServer) -> Iterator[Model]:
    chosen = served.server.registry.get(EMBED_MODEL).chosen
    assert chosen is not None
    model = load_model(chosen.description.path, chosen.settings)
    yield model
    model.close()


@pytest.fixture(scope="module")
def stub(channel: grpc.Channel) -> embed_pb2_grpc.EmbedServiceStub:
    return embed_pb2_grpc.EmbedServiceStub(channel)


def _matrix(t: embed_pb2.TokenVectors) -> np.ndarray:
    return np.array([v.float_values for v in t.vectors], dtype=np.float32)


def test_token_vectors_equal_engine(stub: embed_pb2_grpc.EmbedServiceStub, engine: Model) -> None:
    response = stub.EmbedTokens(embed_pb2.EmbedTokensRequest(model=EMBED_MODEL, inputs=TEXTS))
    expected = engine.embed_tokens(TEXTS, EmbedOptions())
    assert response.model == EMBED_MODEL
    assert response.dimensions == 256
    assert [t.index for t in response.inputs] == [0, 1, 2]
    for got, want in zip(response.inputs, expected, strict=True):
        assert list(got.token_ids) == want.token_ids
        assert [v.index for v in got.vectors] == list(range(want.n_tokens))
        assert all(v.dimensions == 256 for v in got.vectors)
        np.testing.assert_allclose(_matrix(got), want.vectors, atol=1e-5)
        assert not got.truncated
    assert response.usage.prompt_tokens == sum(t.n_tokens for t in expected)


def test_options_apply_per_token(stub: embed_pb2_grpc.EmbedServiceStub, engine: Model) -> None:
    options = embed_pb2.EmbedOptions(
        input_type=common_pb2.INPUT_TYPE_QUERY, instruction="Find the answer", dimensions=64, normalize=False
    )
    response = stub.EmbedTokens(embed_pb2.EmbedTokensRequest(inputs=TEXTS[:1], options=options))
    want = engine.embed_tokens(
        TEXTS[:1], EmbedOptions(input_type="query", instruction="Find the answer", dimensions=64, normalize=False)
    )[0]
    assert response.dimensions == 64
    assert list(response.inputs[0].token_ids) == want.token_ids
    np.testing.assert_allclose(_matrix(response.inputs[0]), want.vectors, atol=1e-5)


def test_int8_encoding_per_token(stub: embed_pb2_grpc.EmbedServiceStub, engine: Model) -> None:
    options = embed_pb2.EmbedOptions(encoding=embed_pb2.ENCODING_INT8)
    got = stub.EmbedTokens(embed_pb2.EmbedTokensRequest(inputs=TEXTS[2:], options=options)).inputs[0]
    want = engine.embed_tokens(TEXTS[2:], EmbedOptions())[0]
    for vector, row in zip(got.vectors, want.vectors, strict=True):
        assert vector.int8_values == encode(row, "int8").data
        assert not vector.float_values


def test_token_vectors_have_their_own_vector_space(stub: embed_pb2_grpc.EmbedServiceStub) -> None:
    tokens = stub.EmbedTokens(embed_pb2.EmbedTokensRequest(inputs=TEXTS[:1])).vector_space_id
    pooled = stub.Embed(embed_pb2.EmbedRequest(inputs=TEXTS[:1])).vector_space_id
    assert tokens.startswith("vs1-") and pooled.startswith("vs1-") and tokens != pooled


def test_truncate_cuts_the_tokens(stub: embed_pb2_grpc.EmbedServiceStub, served: RunningServer) -> None:
    n_ctx = served.server.registry.get(EMBED_MODEL).context_length
    long_text = "word " * (2 * n_ctx)
    with pytest.raises(grpc.RpcError) as caught:
        stub.EmbedTokens(embed_pb2.EmbedTokensRequest(inputs=[long_text]))
    code, status = rich_status(caught.value)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in details_of(status)["BadRequest"].field_violations] == ["inputs[0]"]
    cut = stub.EmbedTokens(
        embed_pb2.EmbedTokensRequest(inputs=[long_text], options=embed_pb2.EmbedOptions(truncate=True))
    ).inputs[0]
    assert cut.truncated and len(cut.token_ids) == len(cut.vectors) == n_ctx


@pytest.mark.parametrize(
    ("options", "field"),
    [
        (embed_pb2.EmbedOptions(chunking=embed_pb2.Chunking(mode=embed_pb2.CHUNKING_MODE_MEAN)), "options.chunking.mode"),
        (embed_pb2.EmbedOptions(dimensions=8), "options.dimensions"),
    ],
)
def test_bad_options_name_their_field(stub: embed_pb2_grpc.EmbedServiceStub, options: embed_pb2.EmbedOptions, field: str) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        stub.EmbedTokens(embed_pb2.EmbedTokensRequest(inputs=TEXTS[:1], options=options))
    code, status = rich_status(caught.value)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in details_of(status)["BadRequest"].field_violations] == [field]


def test_no_inputs_is_invalid(stub: embed_pb2_grpc.EmbedServiceStub) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        stub.EmbedTokens(embed_pb2.EmbedTokensRequest())
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_an_answer_past_the_message_limit_is_refused_before_decoding(
    models_dir: Path, embed_plans: list[ModelPlan]
) -> None:
    """Token vectors take hidden_size floats a token: the request is refused once its inputs are
    tokenised, before the model decodes them, and the same server answers what fits."""
    server = RunningServer(server_settings(models_dir, max_message_bytes=4096), embed_plans).load()
    try:
        chosen = server.server.registry.get(EMBED_MODEL).chosen
        assert chosen is not None
        per_token = chosen.description.hidden_size * 4 + 32
        stepper = server.worker(EMBED_MODEL).model.stepper
        with grpc.insecure_channel(server.target) as channel:
            stub = embed_pb2_grpc.EmbedServiceStub(channel)
            fits = stub.EmbedTokens(embed_pb2.EmbedTokensRequest(inputs=["hello"]))
            assert len(fits.inputs[0].vectors) * per_token <= 4096
            before = stepper.decoded
            with pytest.raises(grpc.RpcError) as caught:
                stub.EmbedTokens(embed_pb2.EmbedTokensRequest(inputs=["word " * (4096 // per_token)]))
            assert stepper.decoded == before
    finally:
        server.stop()
    code, status = rich_status(caught.value)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    [violation] = details_of(status)["BadRequest"].field_violations
    assert violation.field == "inputs"
    assert "4096-byte message limit" in violation.description
