"""tei.v1 <-> core translation, and nothing else (no decisions, no I/O).

TEI's messages carry one input each (a stream carries many); options a TEI client may
set that embedroute cannot honour (left truncation, an unknown prompt name) are refused
as INVALID_ARGUMENT, not ignored.
"""

from __future__ import annotations

from service.core.encoding import raw_score
from service.core.errors import FieldViolation, InvalidArgumentError
from service.core.requests import DecodeCall, EmbedCall, RerankCall, TokenizeCall
from service.core.results import RankedDocument, Scoring, ServerInfo, TokenizeResult, Usage
from service.core.values import EmbedOptions, InputType
from service.rpc.generated.tei.v1 import tei_pb2

_PROMPT_NAMES: dict[str, InputType] = {"query": "query", "document": "document", "passage": "document"}


def _right_only(direction: int) -> None:
    if direction != tei_pb2.TRUNCATION_DIRECTION_RIGHT:
        raise InvalidArgumentError.for_field("truncation_direction", "only TRUNCATION_DIRECTION_RIGHT is supported")


def input_type(
    request: tei_pb2.EmbedRequest | tei_pb2.EncodeRequest | tei_pb2.EmbedAllRequest | tei_pb2.EmbedSparseRequest,
) -> InputType:
    name = request.prompt_name if request.HasField("prompt_name") else "document"
    if name not in _PROMPT_NAMES:
        raise InvalidArgumentError.for_field("prompt_name", f"unknown prompt_name {name!r}; use query or document")
    return _PROMPT_NAMES[name]


def embed_call(request: tei_pb2.EmbedRequest) -> EmbedCall:
    """`normalize` as sent: proto3's default is false, as it is for TEI's own gRPC server."""
    _right_only(request.truncation_direction)
    options = EmbedOptions(
        input_type=input_type(request),
        dimensions=request.dimensions if request.HasField("dimensions") else None,
        normalize=request.normalize,
        truncate=request.truncate,
    )
    return EmbedCall("", [request.inputs], options)


def embed_all_call(request: tei_pb2.EmbedAllRequest) -> EmbedCall:
    """TEI's EmbedAll has no options but truncation and the prompt: raw hidden states, as TEI's."""
    _right_only(request.truncation_direction)
    options = EmbedOptions(input_type=input_type(request), normalize=False, truncate=request.truncate)
    return EmbedCall("", [request.inputs], options)


def embed_sparse_call(request: tei_pb2.EmbedSparseRequest) -> EmbedCall:
    """TEI's EmbedSparse: truncation and the prompt, as EmbedAll."""
    _right_only(request.truncation_direction)
    options = EmbedOptions(input_type=input_type(request), truncate=request.truncate)
    return EmbedCall("", [request.inputs], options)


def metadata(usage: Usage, chars: int) -> tei_pb2.Metadata:
    return tei_pb2.Metadata(
        compute_chars=chars,
        compute_tokens=usage.prompt_tokens,
        total_time_ns=usage.total_ns,
        tokenization_time_ns=usage.timing.tokenization_ns,
        queue_time_ns=usage.timing.queue_ns,
        inference_time_ns=usage.timing.inference_ns,
    )


def rerank_call(request: tei_pb2.RerankRequest) -> RerankCall:
    _right_only(request.truncation_direction)
    return RerankCall(
        model="", query=request.query, documents=list(request.texts), return_documents=request.return_text,
        truncate=request.truncate,
    )


_STREAM_HEADER = ("query", "truncate", "raw_scores", "return_text", "truncation_direction")
"""What every message of TEI's RerankStream repeats; the stream ranks by the first's."""


def rerank_stream_call(request: tei_pb2.RerankStreamRequest, first: tei_pb2.RerankStreamRequest, n: int) -> RerankCall:
    """Message `n`'s document. A later message may leave the query empty; what it sets must
    equal the first message's: one stream is one ranking, and a silently ignored query or
    option would rank documents against something the client did not ask for."""
    differing = [
        name for name in _STREAM_HEADER
        if getattr(request, name) != getattr(first, name) and not (name == "query" and not request.query)
    ]
    if differing:
        raise InvalidArgumentError(
            f"message {n} sets {', '.join(differing)} unlike the first message; a stream ranks every text "
            "against the first message's query and options",
            [FieldViolation(name, "must equal the first message's") for name in differing],
        )
    _right_only(request.truncation_direction)
    return RerankCall(
        model="", query=request.query, documents=[request.text], return_documents=request.return_text,
        truncate=request.truncate,
    )


def ranks(results: list[RankedDocument], scoring: Scoring, raw: bool) -> list[tei_pb2.Rank]:
    return [
        tei_pb2.Rank(index=r.index, text=r.document, score=raw_score(r.score, scoring) if raw else r.score)
        if r.document is not None
        else tei_pb2.Rank(index=r.index, score=raw_score(r.score, scoring) if raw else r.score)
        for r in results
    ]


def tokenize_call(request: tei_pb2.EncodeRequest) -> TokenizeCall:
    """TEI names no model: the application takes its primary one."""
    return TokenizeCall(model="", inputs=[request.inputs], input_type=input_type(request), return_tokens=True,
                        with_template=request.add_special_tokens, unnamed="primary")


def tokens(result: TokenizeResult) -> tei_pb2.EncodeResponse:
    counted = result.results[0]
    return tei_pb2.EncodeResponse(
        tokens=[tei_pb2.SimpleToken(id=t, text=piece, special=special)
                for t, piece, special in zip(counted.token_ids, counted.pieces, counted.special)]
    )


def decode_call(request: tei_pb2.DecodeRequest) -> DecodeCall:
    return DecodeCall("", [list(request.ids)], unnamed="primary", skip_special=request.skip_special_tokens)


def info(server: ServerInfo) -> tei_pb2.InfoResponse:
    return tei_pb2.InfoResponse(
        version=server.version,
        model_id=server.model_id,
        model_dtype=server.quant,
        model_type=tei_pb2.MODEL_TYPE_EMBEDDING if server.kind == "embedding" else tei_pb2.MODEL_TYPE_RERANKER,
        max_concurrent_requests=server.max_concurrent_requests,
        max_input_length=server.max_input_length,
        max_batch_tokens=server.max_batch_tokens,
        max_client_batch_size=server.max_client_batch_size,
        tokenization_workers=1,
    )
