"""Rerank of documents longer than the context, scored by their best chunk (issue #31 item 3).

The served reranker (the LM form, F32) has a 512-token context. The numpy Qwen3 (tests/reference)
scores each window's prompt as the model's own tokenizer and template prepare it (loaded here, no
server); the server's score for a long document must be the best of those, its windows must cover
the document exactly, end to end, and each must fit one sequence beside the query.
"""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest

from router.types import EngineSettings
from service.app.chunking import split
from service.app.work import rerank_room
from service.engine import Model, load_model
from service.prepare.synth.vocab import qwen3_vocabulary
from service.rpc.generated.embedroute.v1 import embed_pb2, rerank_pb2, rerank_pb2_grpc, tokenize_pb2, tokenize_pb2_grpc
from tests.conftest import SynthModels
from tests.engine.conftest import lm_head as lm_head  # noqa: F401 - the reranker's output head, a fixture
from tests.reference.qwen3_numpy import F64, Qwen3Reference
from tests.rpc.harness import RunningServer, rich_status, server_settings
from tests.rpc.test_chunking import LONG

QUERY = "Which bridge does the river pass?"
SHORT = "The river bends past the mill and the old stone bridge."
CONTEXT = 512


@pytest.fixture(scope="module")
def served(synth_models: SynthModels, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    folder = tmp_path_factory.mktemp("f32-reranker")
    (folder / synth_models.reranker_lm["F32"].name).symlink_to(synth_models.reranker_lm["F32"])
    server = RunningServer(server_settings(folder, cache="off", ctx=CONTEXT)).load()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def stub(served: RunningServer) -> Iterator[rerank_pb2_grpc.RerankServiceStub]:
    with grpc.insecure_channel(served.target) as channel:
        yield rerank_pb2_grpc.RerankServiceStub(channel)


@pytest.fixture(scope="module")
def vocabulary(synth_models: SynthModels) -> Iterator[Model]:
    model = load_model(synth_models.reranker_lm["F32"], EngineSettings(n_ctx=CONTEXT, n_seq_max=1))
    yield model
    model.close()


def rerank(stub: rerank_pb2_grpc.RerankServiceStub, documents: list[str], **options: bool) -> rerank_pb2.RerankResponse:
    request = rerank_pb2.RerankRequest(query=QUERY, documents=documents, **options)
    response: rerank_pb2.RerankResponse = stub.Rerank(request, timeout=120)
    return response


def test_a_long_document_is_refused_without_best_chunk(stub: rerank_pb2_grpc.RerankServiceStub) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        rerank(stub, [LONG])
    code, status = rich_status(caught.value)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert f"the model accepts at most {CONTEXT}" in status.message


def test_the_best_window_scores_the_document(
    stub: rerank_pb2_grpc.RerankServiceStub, vocabulary: Model, synth_models: SynthModels, lm_head: F64
) -> None:
    (result,) = rerank(stub, [LONG], best_chunk=True).results
    prompts = []
    start = 0
    # The windows, found again by the same split of the document's tokens.
    room = rerank_room(vocabulary, QUERY, None)
    spans = split(LONG, lambda t: len(vocabulary.tokenize(t)), room, 0)
    assert result.chunks == len(spans) > 1
    for span in spans:
        assert span.start == start  # end to end, no overlap, no gap
        start = span.end
        prompt = vocabulary.prepare_rerank(QUERY, LONG[span.start : span.end], None, False).tokens
        assert len(prompt) <= CONTEXT
        prompts.append(prompt)
    assert start == len(LONG)
    vocab = qwen3_vocabulary()
    reference = Qwen3Reference(synth_models.reranker_lm["F32"])
    scores = [reference.p_yes(p, vocab.id_of("yes"), vocab.id_of("no"), lm_head) for p in prompts]
    best = max(range(len(scores)), key=lambda k: (scores[k], -k))
    assert (result.best_start, result.best_end) == (spans[best].start, spans[best].end)
    assert result.score == pytest.approx(scores[best], abs=2e-3)
    assert result.prompt_tokens == sum(len(p) for p in prompts) and not result.truncated


def test_a_document_that_fits_scores_as_without(stub: rerank_pb2_grpc.RerankServiceStub) -> None:
    plain = rerank(stub, [SHORT]).results[0]
    (chunked,) = rerank(stub, [SHORT], best_chunk=True).results
    assert (chunked.score, chunked.prompt_tokens, chunked.chunks) == (plain.score, plain.prompt_tokens, 1)
    assert (chunked.best_start, chunked.best_end) == (0, len(SHORT))


def test_long_and_short_documents_rank_together(stub: rerank_pb2_grpc.RerankServiceStub) -> None:
    response = rerank(stub, ["Gravity pulls.", LONG, SHORT], best_chunk=True, return_documents=True, top_n=2)
    assert len(response.results) == 2
    assert [r.score for r in response.results] == sorted((r.score for r in response.results), reverse=True)
    assert all(r.document for r in response.results)


def test_streams_take_best_chunk(stub: rerank_pb2_grpc.RerankServiceStub) -> None:
    first = rerank_pb2.RerankStreamRequest(query=QUERY, best_chunk=True, documents=[LONG])
    later = rerank_pb2.RerankStreamRequest(documents=[SHORT])
    answers = list(stub.RerankStream(iter([first, later]), timeout=120))
    scored = {r.index: r for a in answers if not a.final for r in a.results}
    assert scored[0].chunks > 1 and scored[1].chunks == 1


def test_tokenize_shows_the_windows_best_chunk_scores(served: RunningServer, stub: rerank_pb2_grpc.RerankServiceStub) -> None:
    (result,) = rerank(stub, [LONG], best_chunk=True).results
    with grpc.insecure_channel(served.target) as channel:
        request = tokenize_pb2.TokenizeRequest(
            query=QUERY, inputs=[LONG], chunking=embed_pb2.Chunking(mode=embed_pb2.CHUNKING_MODE_MEAN)
        )
        (counted,) = tokenize_pb2_grpc.TokenizeServiceStub(channel).Tokenize(request, timeout=60).results
    assert len(counted.chunks) == result.chunks
    assert (result.best_start, result.best_end) in [(c.start, c.end) for c in counted.chunks]
