"""Server-side chunking of long inputs (issue #31): `mean` and `chunks` over gRPC.

The served model (F32) has a 512-token context. The independent numpy Qwen3 (tests/reference)
embeds each chunk's tokens alone, as the model's own tokenizer and template prepare them (loaded
here, no server, no cache); the server's chunks must equal it, their spans must cover the input exactly with at most the stated overlap, no chunk may pass
the size asked, and the mean must be the token-weighted mean of the chunks.
"""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import numpy as np
import pytest

from router.types import EngineSettings
from service.core.values import EmbedOptions
from service.engine import Model, load_model
from service.rpc.generated.embedroute.v1 import embed_pb2, embed_pb2_grpc, tokenize_pb2, tokenize_pb2_grpc
from tests.conftest import SynthModels
from tests.reference.qwen3_numpy import Qwen3Reference
from tests.rpc.conftest import EMBED_MODEL
from tests.rpc.harness import RunningServer, rich_status, server_settings

SENTENCES = [
    "The river bends past the mill and the old stone bridge.",
    "Ведьма живёт в избушке на курьих ножках.",
    "東京の夜は長い。",
    "Emoji travel too: 🚲🌉🏞️ and a flag 🇫🇷 end this one!",
    "Numbers like 3.14159 and 2,718 must not end a sentence early.",
]
LONG = " ".join(SENTENCES[i % len(SENTENCES)] + f" ({i})" for i in range(120))
MEAN, CHUNKS, NONE = embed_pb2.CHUNKING_MODE_MEAN, embed_pb2.CHUNKING_MODE_CHUNKS, embed_pb2.CHUNKING_MODE_NONE


@pytest.fixture(scope="module")
def served(synth_models: SynthModels, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """The F32 embedding model alone, the cache off: every chunk is computed, in steps shared with others."""
    folder = tmp_path_factory.mktemp("f32-embedding")
    (folder / synth_models.embedding["F32"].name).symlink_to(synth_models.embedding["F32"])
    server = RunningServer(server_settings(folder, cache="off")).load()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def channel(served: RunningServer) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(served.target) as ch:
        yield ch


@pytest.fixture(scope="module")
def stub(channel: grpc.Channel) -> embed_pb2_grpc.EmbedServiceStub:
    return embed_pb2_grpc.EmbedServiceStub(channel)


@pytest.fixture(scope="module")
def vocabulary(served: RunningServer) -> Iterator[Model]:
    """The served file, loaded here with the server's context, for its tokenizer and template."""
    worker = served.worker(EMBED_MODEL)
    model = load_model(worker.description.path, EngineSettings(n_ctx=worker.n_ctx, n_seq_max=1))
    yield model
    model.close()


@pytest.fixture(scope="module")
def reference(served: RunningServer) -> Qwen3Reference:
    return Qwen3Reference(served.worker(EMBED_MODEL).description.path)


def tokens(channel: grpc.Channel, text: str) -> int:
    if not text:
        return 0
    request = tokenize_pb2.TokenizeRequest(model=EMBED_MODEL, inputs=[text])
    return tokenize_pb2_grpc.TokenizeServiceStub(channel).Tokenize(request, timeout=60).results[0].input_tokens


def embed(stub: embed_pb2_grpc.EmbedServiceStub, text: str, **chunking: int) -> embed_pb2.Embedding:
    options = embed_pb2.EmbedOptions(chunking=embed_pb2.Chunking(**chunking))
    response = stub.Embed(embed_pb2.EmbedRequest(model=EMBED_MODEL, inputs=[text], options=options), timeout=120)
    return response.embeddings[0]


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_too_long_without_chunking_names_both_numbers(stub: embed_pb2_grpc.EmbedServiceStub, channel: grpc.Channel) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        embed(stub, LONG, mode=NONE)
    code, status = rich_status(caught.value)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert f"input is {tokens(channel, LONG) + 1} tokens, the model accepts at most 512" in status.message


@pytest.mark.parametrize(("size", "overlap"), [(0, 0), (128, 0), (100, 20), (64, 63)])
def test_chunks_cover_the_input_and_equal_the_reference(
    stub: embed_pb2_grpc.EmbedServiceStub,
    channel: grpc.Channel,
    vocabulary: Model,
    reference: Qwen3Reference,
    size: int,
    overlap: int,
) -> None:
    answer = embed(stub, LONG, mode=CHUNKS, size=size, overlap=overlap)
    chunks = list(answer.chunks)
    limit = size or 511  # the context less the end-of-text token the template adds
    assert len(chunks) >= len(LONG) // (limit * 8) + 1
    assert chunks[0].start == 0 and chunks[-1].end == len(LONG)
    for before, after in zip(chunks, chunks[1:]):
        assert before.start < after.start <= before.end < after.end
        assert tokens(channel, LONG[after.start : before.end]) <= overlap
    texts = [LONG[c.start : c.end] for c in chunks]
    assert all(tokens(channel, text) <= limit for text in texts)
    assert [c.embedding.index for c in chunks] == list(range(len(chunks)))
    prompts = [vocabulary.prepare_embed(text, EmbedOptions()).tokens for text in texts]
    alone = [reference.hidden_states(prompt)[-1] for prompt in prompts]  # last-token pooling, not normalised
    for chunk, prompt, ref in zip(chunks, prompts, alone, strict=True):
        assert chunk.embedding.prompt_tokens == len(prompt)
        assert cosine(np.array(chunk.embedding.float_values), ref) >= 0.99999
    weights = np.array([len(prompt) for prompt in prompts], dtype=np.float64)
    mean = (np.stack(alone) * weights[:, None]).sum(axis=0) / weights.sum()
    got = np.array(answer.float_values)
    assert cosine(got, mean) >= 0.99999
    assert abs(np.linalg.norm(got) - 1.0) < 1e-5
    assert answer.prompt_tokens == int(weights.sum())


def test_chunk_ends_move_back_to_a_sentence_end(stub: embed_pb2_grpc.EmbedServiceStub) -> None:
    chunks = embed(stub, LONG, mode=CHUNKS, size=128).chunks
    assert all(LONG[c.start : c.end].rstrip().endswith((".", "!", "。", ")")) for c in chunks[:-1])


def test_mean_is_the_chunks_mean_without_them(stub: embed_pb2_grpc.EmbedServiceStub) -> None:
    mean = embed(stub, LONG, mode=MEAN, size=100, overlap=20)
    chunked = embed(stub, LONG, mode=CHUNKS, size=100, overlap=20)
    assert not mean.chunks
    np.testing.assert_allclose(mean.float_values, chunked.float_values, atol=1e-6)


def test_a_short_input_is_one_chunk_equal_to_its_plain_vector(stub: embed_pb2_grpc.EmbedServiceStub) -> None:
    plain = embed(stub, SENTENCES[0])
    chunked = embed(stub, SENTENCES[0], mode=CHUNKS)
    assert [(c.start, c.end) for c in chunked.chunks] == [(0, len(SENTENCES[0]))]
    np.testing.assert_allclose(chunked.float_values, plain.float_values, atol=1e-6)
    np.testing.assert_allclose(chunked.chunks[0].embedding.float_values, plain.float_values, atol=1e-6)


def test_chunks_follow_the_encoding_and_dimensions(stub: embed_pb2_grpc.EmbedServiceStub) -> None:
    options = embed_pb2.EmbedOptions(
        dimensions=64, encoding=embed_pb2.ENCODING_INT8, chunking=embed_pb2.Chunking(mode=CHUNKS, size=200)
    )
    answer = stub.Embed(embed_pb2.EmbedRequest(model=EMBED_MODEL, inputs=[LONG], options=options), timeout=120)
    embedding = answer.embeddings[0]
    assert len(embedding.int8_values) == 64 and not embedding.float_values
    assert all(len(c.embedding.int8_values) == 64 and c.embedding.int8_scale > 0 for c in embedding.chunks)


@pytest.mark.parametrize(
    ("chunking", "field", "message"),
    [
        ({"mode": CHUNKS, "size": 600}, "options.chunking.size", "600 tokens is more than a chunk of qwen3-embedding-tiny holds: 511"),
        ({"mode": CHUNKS, "size": 8}, "options.chunking.size", "8 tokens; at least 16"),
        ({"mode": MEAN, "size": 64, "overlap": 64}, "options.chunking.overlap", "64 tokens; it must be less than the chunk size, 64"),
        ({"mode": MEAN, "overlap": 511}, "options.chunking.overlap", "511 tokens of overlap; it must be less than the chunk size, 511"),
        ({"mode": NONE, "size": 64}, "options.chunking.mode", "a chunk size or overlap needs chunking mean or chunks"),
        ({"mode": 9}, "options.chunking.mode", "unknown chunking mode 9"),
    ],
)
def test_bad_chunking_is_refused_by_field(
    stub: embed_pb2_grpc.EmbedServiceStub, chunking: dict[str, int], field: str, message: str
) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        embed(stub, LONG, **chunking)
    code, status = rich_status(caught.value)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert message in status.message
    assert field in str(status.details)


def test_streams_chunk_too(channel: grpc.Channel) -> None:
    options = embed_pb2.EmbedOptions(chunking=embed_pb2.Chunking(mode=CHUNKS, size=128))
    requests = [embed_pb2.EmbedStreamRequest(id=str(i), input=LONG, options=options) for i in range(2)]
    answers = list(embed_pb2_grpc.EmbedServiceStub(channel).EmbedStream(iter(requests), timeout=120))
    assert sorted(a.id for a in answers) == ["0", "1"]
    assert len({len(a.embedding.chunks) for a in answers}) == 1 and len(answers[0].embedding.chunks) > 3


def test_tokenize_shows_the_chunks_embed_makes(stub: embed_pb2_grpc.EmbedServiceStub, channel: grpc.Channel) -> None:
    chunking = embed_pb2.Chunking(mode=CHUNKS, size=128, overlap=16)
    request = tokenize_pb2.TokenizeRequest(model=EMBED_MODEL, inputs=[LONG, SENTENCES[0]], chunking=chunking)
    long, short = tokenize_pb2_grpc.TokenizeServiceStub(channel).Tokenize(request, timeout=60).results
    embedded = embed(stub, LONG, mode=CHUNKS, size=128, overlap=16)
    assert [(c.start, c.end) for c in long.chunks] == [(c.start, c.end) for c in embedded.chunks]
    assert all(0 < c.input_tokens <= 128 for c in long.chunks) and len(long.chunks) > 3
    assert [(c.start, c.end, c.input_tokens) for c in short.chunks] == [(0, len(SENTENCES[0]), short.input_tokens)]
    plain = tokenize_pb2.TokenizeRequest(model=EMBED_MODEL, inputs=[LONG])
    assert not tokenize_pb2_grpc.TokenizeServiceStub(channel).Tokenize(plain, timeout=60).results[0].chunks


def test_tokenize_refuses_a_chunk_larger_than_the_context(channel: grpc.Channel) -> None:
    chunking = embed_pb2.Chunking(mode=MEAN, size=4096)
    request = tokenize_pb2.TokenizeRequest(model=EMBED_MODEL, inputs=[LONG], chunking=chunking)
    with pytest.raises(grpc.RpcError) as caught:
        tokenize_pb2_grpc.TokenizeServiceStub(channel).Tokenize(request, timeout=60)
    code, status = rich_status(caught.value)
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "chunking.size" in str(status.details)
    assert "4096 tokens is more than a chunk of qwen3-embedding-tiny holds" in status.message
