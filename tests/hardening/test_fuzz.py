"""Random requests against the running server for a bounded time: no crash, no hang, no wrong code.

Each generated Embed request is judged by an oracle that knows the documented rules
(encoding, model, limits, dimensions); Rerank and Tokenize requests may only end in
OK or a client error. A hang shows as the per-call timeout, a crash as the server no
longer answering.
"""

from __future__ import annotations

import time

import grpc
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from service.rpc.generated.embedroute.v1 import (
    embed_pb2,
    embed_pb2_grpc,
    rerank_pb2,
    rerank_pb2_grpc,
    tokenize_pb2,
    tokenize_pb2_grpc,
)
from tests.hardening.conftest import MAX_CHARS, MAX_INPUTS
from tests.rpc.conftest import EMBED_MODEL, RERANK_MODEL
from tests.rpc.harness import RunningServer, details_of, rich_status

BUDGET_S = 35.0
CALL_TIMEOUT_S = 30.0
CLIENT_ERRORS = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND}

texts = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=" \t\n", max_size=3),
    st.text(alphabet="ab €漢🙂\u200b", min_size=MAX_CHARS - 2, max_size=MAX_CHARS + 2),
    st.just("hello " * 600),
)
models = st.sampled_from(["", EMBED_MODEL, RERANK_MODEL, "nope", "../x.gguf", "qwen3-embedding-tiny\x00"])
options = st.builds(
    embed_pb2.EmbedOptions,
    input_type=st.integers(0, 5),
    instruction=st.text(max_size=20),
    dimensions=st.one_of(st.integers(0, 300), st.integers(0, 2**32 - 1)),
    truncate=st.booleans(),
    encoding=st.integers(0, 6),
)
embed_requests = st.builds(
    embed_pb2.EmbedRequest, model=models, inputs=st.lists(texts, max_size=MAX_INPUTS + 2), options=options
)
rerank_requests = st.builds(
    rerank_pb2.RerankRequest,
    model=models,
    query=texts,
    documents=st.lists(texts, max_size=5),
    top_n=st.integers(0, 7),
    truncate=st.booleans(),
    return_documents=st.booleans(),
)
tokenize_requests = st.builds(
    tokenize_pb2.TokenizeRequest, model=models, inputs=st.lists(texts, max_size=4), query=texts, return_tokens=st.booleans()
)


def expected_embed(request: embed_pb2.EmbedRequest) -> grpc.StatusCode:
    o = request.options
    if o.encoding > 3:
        return grpc.StatusCode.INVALID_ARGUMENT
    if request.model not in ("", EMBED_MODEL, RERANK_MODEL):
        return grpc.StatusCode.NOT_FOUND
    bad_dims = o.dimensions != 0 and not 32 <= o.dimensions <= 256
    bad_texts = not request.inputs or len(request.inputs) > MAX_INPUTS
    bad_texts |= any(not t.strip() or len(t) > MAX_CHARS for t in request.inputs)
    if request.model == RERANK_MODEL or bad_dims or bad_texts:
        return grpc.StatusCode.INVALID_ARGUMENT
    return grpc.StatusCode.OK


def test_fuzz(hardened: RunningServer, hardened_channel: grpc.Channel) -> None:
    embed = embed_pb2_grpc.EmbedServiceStub(hardened_channel)
    rerank = rerank_pb2_grpc.RerankServiceStub(hardened_channel)
    tokenize = tokenize_pb2_grpc.TokenizeServiceStub(hardened_channel)
    end = time.monotonic() + BUDGET_S
    tried: list[str] = []

    @settings(
        max_examples=3000,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(st.one_of(embed_requests, rerank_requests, tokenize_requests))
    def one(request: embed_pb2.EmbedRequest | rerank_pb2.RerankRequest | tokenize_pb2.TokenizeRequest) -> None:
        if time.monotonic() > end:
            return
        tried.append(type(request).__name__)
        try:
            if isinstance(request, embed_pb2.EmbedRequest):
                response = embed.Embed(request, timeout=CALL_TIMEOUT_S)
                assert expected_embed(request) == grpc.StatusCode.OK, request
                assert len(response.embeddings) == len(request.inputs)
            elif isinstance(request, rerank_pb2.RerankRequest):
                ranked = rerank.Rerank(request, timeout=CALL_TIMEOUT_S)
                assert len(ranked.results) == (request.top_n or len(request.documents))
            else:
                assert len(tokenize.Tokenize(request, timeout=CALL_TIMEOUT_S).results) == len(request.inputs)
        except grpc.RpcError as exc:
            code, status = rich_status(exc)
            assert code in CLIENT_ERRORS, (code, status.message, request)
            if isinstance(request, embed_pb2.EmbedRequest):
                expected = expected_embed(request)
                too_long = details_of(status)["ErrorInfo"].reason == "INPUT_TOO_LONG" and not request.options.truncate
                assert code == expected or (expected == grpc.StatusCode.OK and too_long), (code, status.message, request)
            if code == grpc.StatusCode.INVALID_ARGUMENT:
                assert details_of(status)["BadRequest"].field_violations

    one()
    assert len(tried) >= 100, f"only {len(tried)} requests in {BUDGET_S:.0f}s"
    assert len(embed.Embed(embed_pb2.EmbedRequest(inputs=["alive"]), timeout=10).embeddings) == 1
    print(f"\nfuzz: {len(tried)} requests in {BUDGET_S:.0f}s")
