"""Proto <-> domain translation, and nothing else (no decisions, no I/O)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from service.api.embedroute.v1 import (
    common_pb2,
    embed_pb2,
    model_pb2,
    rerank_pb2,
    tokenize_pb2,
)
from service.engine.encoding import encode
from service.engine.types import EmbedOptions, Embedding, InputType
from service.errors import InvalidArgumentError
from service.scheduler import Outcome, Timing
from service.validation import EmbedCall, OutputEncoding, RerankCall, TokenizeCall

if TYPE_CHECKING:
    from router import Candidate
    from service.registry import ServedModel

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
            "options.encoding", f"unknown encoding {options.encoding}; use FLOAT32, INT8 or UBINARY"
        )
    return domain, _ENCODINGS[options.encoding]


def embed_call(request: embed_pb2.EmbedRequest) -> EmbedCall:
    options, encoding = embed_options(request.options)
    inputs = list(request.inputs)
    return EmbedCall(request.model, inputs, options, encoding, [f"inputs[{i}]" for i in range(len(inputs))])


def embed_stream_call(request: embed_pb2.EmbedStreamRequest) -> EmbedCall:
    options, encoding = embed_options(request.options)
    return EmbedCall(request.model, [request.input], options, encoding, ["input"])


def rerank_call(request: rerank_pb2.RerankRequest) -> RerankCall:
    return RerankCall(
        model=request.model,
        query=request.query,
        documents=list(request.documents),
        top_n=request.top_n,
        instruction=request.instruction or None,
        return_documents=request.return_documents,
        truncate=request.truncate,
    )


def rerank_stream_header(request: rerank_pb2.RerankStreamRequest) -> RerankCall:
    """The stream's first message as a call template; each chunk fills in documents and offset."""
    return RerankCall(
        model=request.model,
        query=request.query,
        documents=[],
        top_n=request.top_n,
        instruction=request.instruction or None,
        return_documents=request.return_documents,
        truncate=request.truncate,
    )


def tokenize_call(request: tokenize_pb2.TokenizeRequest) -> TokenizeCall:
    return TokenizeCall(
        model=request.model,
        inputs=list(request.inputs),
        input_type=input_type(request.input_type),
        instruction=request.instruction or None,
        query=request.query,
        return_tokens=request.return_tokens,
    )


def usage(prompt_tokens: int, timing: Timing, received_ns: int) -> common_pb2.Usage:
    return common_pb2.Usage(
        prompt_tokens=prompt_tokens,
        queue_time_ns=timing.queue_ns,
        tokenization_time_ns=timing.tokenization_ns,
        inference_time_ns=timing.inference_ns,
        total_time_ns=time.monotonic_ns() - received_ns,
    )


def add_usage(total: common_pb2.Usage, part: common_pb2.Usage) -> None:
    total.prompt_tokens += part.prompt_tokens
    total.queue_time_ns += part.queue_time_ns
    total.tokenization_time_ns += part.tokenization_time_ns
    total.inference_time_ns += part.inference_time_ns
    total.total_time_ns += part.total_time_ns


def embeddings(outcome: Outcome[Embedding], encoding: OutputEncoding) -> list[embed_pb2.Embedding]:
    protos = []
    for i, embedding in enumerate(outcome.values):
        proto = embed_pb2.Embedding(
            index=i,
            dimensions=int(embedding.vector.shape[0]),
            prompt_tokens=embedding.n_tokens,
            truncated=embedding.truncated,
        )
        if encoding == "float32":
            proto.float_values.extend(embedding.vector.tolist())
        else:
            encoded = encode(embedding.vector, encoding)
            if encoding == "int8":
                proto.int8_values, proto.int8_scale = encoded.data, encoded.scale
            else:
                proto.binary_values = encoded.data
        protos.append(proto)
    return protos


def rerank_results(call: RerankCall, outcome: Outcome[float], *, sort: bool = True) -> list[rerank_pb2.RerankResult]:
    results = [
        rerank_pb2.RerankResult(
            index=call.index_offset + i,
            score=score,
            document=call.documents[i] if call.return_documents else "",
            prompt_tokens=len(item.tokens),
            truncated=item.truncated,
        )
        for i, (score, item) in enumerate(zip(outcome.values, outcome.items, strict=True))
    ]
    if sort:
        results.sort(key=lambda r: (-r.score, r.index))
    return results


_KINDS = {"embedding": model_pb2.MODEL_KIND_EMBEDDING, "reranker": model_pb2.MODEL_KIND_RERANKER}
_STATES = {
    "loading": model_pb2.MODEL_STATE_LOADING,
    "ready": model_pb2.MODEL_STATE_READY,
    "failed": model_pb2.MODEL_STATE_FAILED,
}


def model(served: ServedModel) -> model_pb2.Model:
    plan = served.plan
    shown = served.chosen or plan.candidates[0]
    d = shown.description
    proto = model_pb2.Model(
        id=served.model_id,
        kind=_KINDS[served.kind],
        state=_STATES[served.state],
        dimensions=d.hidden_size,
        context_length=served.worker.n_ctx if served.worker else 0,
        trained_context_length=d.context_length,
        pooling=d.pooling,
        architecture=d.architecture,
        reason=shown.reason if served.chosen else plan.reason,
        candidates=[candidate(c, chosen=c is served.chosen) for c in plan.candidates],
        degraded=plan.degraded,
        error="; ".join(served.errors),
        hardware=plan.hardware_summary,
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
    return model_pb2.Placement(
        device=model_pb2.DEVICE_GPU if c.device == "gpu" else model_pb2.DEVICE_CPU,
        gpu_layers=c.n_gpu_layers,
        total_layers=c.description.n_layers,
        threads=c.n_threads,
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
