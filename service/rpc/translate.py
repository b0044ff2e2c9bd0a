"""Proto <-> core translation, and nothing else (no decisions, no I/O).

Requests become `service.core.requests`, results become response messages. Field
names in errors raised here are the core's, like validation's; service.rpc.fields
maps them to proto paths.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from service.core.encoding import encode
from service.core.errors import FieldViolation, InvalidArgumentError
from service.core.requests import EmbedCall, EmbedStreamItem, OutputEncoding, RerankCall, TokenizeCall
from service.core.results import RankedDocument, RerankResult, Scoring, SparseEmbedResult, TokenCount, Usage
from service.core.values import Chunking, ChunkingMode, EmbedOptions, Embedding, InputType, TokenVectors, Vector
from service.rpc.generated.embedroute.v1 import common_pb2, embed_pb2, model_pb2, rerank_pb2, tokenize_pb2

if TYPE_CHECKING:
    from router import Candidate
    from service.app import ServedModel

_INPUT_TYPES: dict[int, InputType] = {
    common_pb2.INPUT_TYPE_UNSPECIFIED: "document",
    common_pb2.INPUT_TYPE_DOCUMENT: "document",
    common_pb2.INPUT_TYPE_QUERY: "query",
}
_ENCODINGS: dict[int, OutputEncoding] = {
    embed_pb2.ENCODING_UNSPECIFIED: "float32",
    embed_pb2.ENCODING_FLOAT32: "float32",
    embed_pb2.ENCODING_INT8: "int8",
    embed_pb2.ENCODING_UBINARY: "ubinary",
}
_CHUNKING: dict[int, ChunkingMode] = {
    embed_pb2.CHUNKING_MODE_UNSPECIFIED: "none",
    embed_pb2.CHUNKING_MODE_NONE: "none",
    embed_pb2.CHUNKING_MODE_MEAN: "mean",
    embed_pb2.CHUNKING_MODE_CHUNKS: "chunks",
}
_SCORING = {
    "reranker": rerank_pb2.SCORING_RERANKER, "cosine": rerank_pb2.SCORING_COSINE, "maxsim": rerank_pb2.SCORING_MAXSIM,
    "hybrid": rerank_pb2.SCORING_HYBRID,
}
_SCORING_NAMES = {number: name for name, number in _SCORING.items()} | {rerank_pb2.SCORING_UNSPECIFIED: ""}


def input_type(value: int) -> InputType:
    # Unknown enum numbers (a newer client) are read as the default, as proto3 intends.
    return _INPUT_TYPES.get(value, "document")


def embed_options(options: embed_pb2.EmbedOptions) -> tuple[EmbedOptions, OutputEncoding]:
    domain = EmbedOptions(
        input_type=input_type(options.input_type),
        instruction=options.instruction or None,
        dimensions=options.dimensions or None,
        normalize=options.normalize if options.HasField("normalize") else True,
        truncate=options.truncate,
    )
    if options.encoding not in _ENCODINGS:
        # Unlike input_type, guessing here would hand back vectors in a layout the caller cannot read.
        raise InvalidArgumentError.for_field(
            "encoding", f"unknown encoding {options.encoding}; use FLOAT32, INT8 or UBINARY"
        )
    return domain, _ENCODINGS[options.encoding]


def chunking(options: embed_pb2.EmbedOptions) -> Chunking:
    return chunking_of(options.chunking)


def chunking_of(given: embed_pb2.Chunking) -> Chunking:
    if given.mode not in _CHUNKING:  # as with encodings: another split than asked would mislead
        raise InvalidArgumentError.for_field("chunking.mode", f"unknown chunking mode {given.mode}; use NONE, MEAN or CHUNKS")
    return Chunking(_CHUNKING[given.mode], given.size, given.overlap)


def embed_call(request: embed_pb2.EmbedRequest) -> EmbedCall:
    options, encoding = embed_options(request.options)
    return EmbedCall(request.model, list(request.inputs), options, encoding, chunking=chunking(request.options))


def embed_tokens_call(request: embed_pb2.EmbedTokensRequest) -> EmbedCall:
    options, encoding = embed_options(request.options)
    return EmbedCall(request.model, list(request.inputs), options, encoding, chunking=chunking(request.options))


def embed_sparse_call(request: embed_pb2.EmbedSparseRequest) -> EmbedCall:
    options, encoding = embed_options(request.options)
    return EmbedCall(request.model, list(request.inputs), options, encoding, chunking=chunking(request.options))


def sparse_vectors(result: SparseEmbedResult) -> list[embed_pb2.SparseVector]:
    pieces = result.pieces or [[] for _ in result.inputs]
    return [
        embed_pb2.SparseVector(
            index=i,
            token_ids=w.token_ids,
            weights=w.weights.tolist(),
            tokens=each,
            prompt_tokens=w.n_tokens,
            truncated=w.truncated,
        )
        for i, (w, each) in enumerate(zip(result.inputs, pieces, strict=True))
    ]


def embed_stream_item(request: embed_pb2.EmbedStreamRequest) -> EmbedStreamItem:
    try:
        options, encoding = embed_options(request.options)
        chunked = chunking(request.options)
    except InvalidArgumentError as exc:
        exc.metadata["id"] = request.id
        raise
    return EmbedStreamItem(request.id, EmbedCall(request.model, [request.input], options, encoding, chunking=chunked))


def rerank_call(request: rerank_pb2.RerankRequest | rerank_pb2.RerankStreamRequest) -> RerankCall:
    return RerankCall(
        model=request.model,
        query=request.query,
        documents=list(request.documents),
        top_n=request.top_n,
        instruction=request.instruction or None,
        return_documents=request.return_documents,
        truncate=request.truncate,
        scoring=_SCORING_NAMES.get(request.scoring, str(request.scoring)),
        best_chunk=request.best_chunk,
        hybrid_weights=(
            (request.hybrid_weights.dense, request.hybrid_weights.sparse, request.hybrid_weights.colbert)
            if request.HasField("hybrid_weights")
            else None
        ),
    )


def rerank_stream_call(request: rerank_pb2.RerankStreamRequest, n: int) -> RerankCall:
    """Message `n` of a rerank stream; only the first may set anything besides documents."""
    set_fields = [f.name for f, _ in request.ListFields() if f.name != "documents"]
    if n > 0 and set_fields:
        # A later message that sets options is a client bug worth reporting, not a value to ignore.
        raise InvalidArgumentError(
            f"message {n} sets {', '.join(set_fields)}; only the first message may",
            [FieldViolation(name, "only allowed in the stream's first message") for name in set_fields],
        )
    return rerank_call(request)


def tokenize_call(request: tokenize_pb2.TokenizeRequest) -> TokenizeCall:
    return TokenizeCall(
        model=request.model,
        inputs=list(request.inputs),
        input_type=input_type(request.input_type),
        instruction=request.instruction or None,
        query=request.query,
        return_tokens=request.return_tokens,
        chunking=chunking_of(request.chunking),
    )


def usage(u: Usage) -> common_pb2.Usage:
    return common_pb2.Usage(
        prompt_tokens=u.prompt_tokens,
        queue_time_ns=u.timing.queue_ns,
        tokenization_time_ns=u.timing.tokenization_ns,
        inference_time_ns=u.timing.inference_ns,
        total_time_ns=u.total_ns,
        cached_tokens=u.cached_tokens,
    )


def embedding(index: int, e: Embedding, encoding: OutputEncoding) -> embed_pb2.Embedding:
    proto = _vector(index, e.vector, e.n_tokens, encoding)
    proto.truncated = e.truncated
    for i, chunk in enumerate(e.chunks):
        proto.chunks.add(start=chunk.start, end=chunk.end).embedding.CopyFrom(
            _vector(i, chunk.vector, chunk.n_tokens, encoding)
        )
    return proto


def _vector(index: int, vector: Vector, n_tokens: int, encoding: OutputEncoding) -> embed_pb2.Embedding:
    proto = embed_pb2.Embedding(index=index, dimensions=int(vector.shape[0]), prompt_tokens=n_tokens)
    if encoding == "float32":
        proto.float_values.extend(vector.tolist())
    else:
        encoded = encode(vector, encoding)
        if encoding == "int8":
            proto.int8_values, proto.int8_scale = encoded.data, encoded.scale
        else:
            proto.binary_values = encoded.data
    return proto


def token_vectors(index: int, t: TokenVectors, encoding: OutputEncoding) -> embed_pb2.TokenVectors:
    return embed_pb2.TokenVectors(
        index=index,
        token_ids=t.token_ids,
        vectors=[_vector(i, row, 1, encoding) for i, row in enumerate(t.vectors)],
        truncated=t.truncated,
    )


def embeddings(values: list[Embedding], encoding: OutputEncoding) -> list[embed_pb2.Embedding]:
    return [embedding(i, e, encoding) for i, e in enumerate(values)]


def rerank_result(r: RankedDocument) -> rerank_pb2.RerankResult:
    return rerank_pb2.RerankResult(
        index=r.index,
        score=r.score,
        document=r.document or "",
        prompt_tokens=r.prompt_tokens,
        truncated=r.truncated,
        chunks=r.chunks,
        best_start=r.best[0],
        best_end=r.best[1],
    )


def rerank_results(result: RerankResult) -> list[rerank_pb2.RerankResult]:
    return [rerank_result(r) for r in result.results]


def scoring(value: Scoring) -> rerank_pb2.Scoring:
    return _SCORING[value]


def token_count(c: TokenCount) -> tokenize_pb2.TokenizedInput:
    return tokenize_pb2.TokenizedInput(
        index=c.index,
        input_tokens=c.input_tokens,
        prompt_tokens=c.prompt_tokens,
        kept_input_tokens=c.kept_input_tokens,
        kept_text=c.kept_text,
        would_truncate=c.would_truncate,
        token_ids=c.token_ids,
        pieces=c.pieces,
        chunks=[tokenize_pb2.ChunkSpan(start=s, end=e, input_tokens=n) for s, e, n in c.chunks],
    )


_KINDS = {"embedding": model_pb2.MODEL_KIND_EMBEDDING, "reranker": model_pb2.MODEL_KIND_RERANKER}
_STATES = {
    "loading": model_pb2.MODEL_STATE_LOADING,
    "ready": model_pb2.MODEL_STATE_READY,
    "failed": model_pb2.MODEL_STATE_FAILED,
}


def model(served: ServedModel, *, serves_rerank_by_cosine: bool) -> model_pb2.Model:
    plan = served.plan
    d = served.description
    proto = model_pb2.Model(
        id=served.model_id,
        kind=_KINDS[served.kind],
        state=_STATES[served.state],
        dimensions=d.hidden_size,
        context_length=served.context_length,
        trained_context_length=d.context_length,
        pooling=d.pooling,
        architecture=d.architecture,
        reason=served.chosen.reason if served.chosen else plan.reason,
        candidates=[candidate(c, chosen=c is served.chosen) for c in plan.candidates],
        degraded=plan.degraded,
        error="; ".join(served.errors),
        hardware=plan.hardware_summary,
        serves_rerank_by_cosine=serves_rerank_by_cosine,
        vector_space_id=served.vector_space_id(),
        pooling_source=d.pooling_source,
        outputs=list(d.outputs),
        token_vector_space_id=served.vector_space_id(tokens=True) if served.kind == "embedding" else "",
        sparse_vector_space_id=served.vector_space_id(sparse=True) if "sparse" in d.outputs else "",
    )
    if served.chosen is not None:
        proto.file.CopyFrom(gguf_file(served.chosen))
        proto.placement.CopyFrom(placement(served.chosen))
    return proto


def gguf_file(c: Candidate) -> model_pb2.GgufFile:
    d = c.description
    return model_pb2.GgufFile(
        file_name=d.path.name,
        quant=d.quant,
        size_bytes=d.file_size,
        bits_per_weight=d.bits_per_weight,
        parameters=d.n_params,
    )


def placement(c: Candidate) -> model_pb2.Placement:
    layout = c.layout
    return model_pb2.Placement(
        device=model_pb2.DEVICE_GPU if c.device == "gpu" else model_pb2.DEVICE_CPU,
        gpu_layers=c.n_gpu_layers,
        total_layers=c.description.n_layers,
        threads=c.n_threads,
        step_tokens=layout.step_tokens,
        query_step_tokens=layout.query_step_tokens,
        max_sequences=layout.n_seq_max,
        flash_attention=layout.flash_attn,
        kv_layout=layout.kv,
        load_mode=layout.load_mode,
    )


def candidate(c: Candidate, *, chosen: bool) -> model_pb2.Candidate:
    return model_pb2.Candidate(
        file=gguf_file(c),
        placement=placement(c),
        estimated_bytes=c.estimated_bytes,
        fits=c.fits,
        reason=c.reason,
        chosen=chosen,
    )
