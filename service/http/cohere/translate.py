"""Cohere's (and Jina's) rerank JSON <-> core translation, and nothing else (no decisions, no I/O)."""

from __future__ import annotations

from typing import Any

from service.core.errors import MAX_VIOLATIONS, FieldViolation, InvalidArgumentError
from service.core.requests import RerankCall
from service.core.results import RankedDocument, RerankResult
from service.http.body import JsonObject, boolean, end_truncation, hybrid_weights, integer, opt_string, string, wrong
from service.http.fields import JsonParams

RERANK: JsonParams = {}


def rerank_call(body: JsonObject) -> RerankCall:
    documents = body.get("documents")
    if not isinstance(documents, list):
        raise wrong("documents", "a list of strings or {text} objects")
    texts: list[str] = []
    bad: list[int] = []
    for i, document in enumerate(documents):
        text = document.get("text") if isinstance(document, dict) else document
        if isinstance(text, str):
            texts.append(text)
        else:
            bad.append(i)
    if bad:  # named up to the answer's cap: two million bad documents are not two million violations
        description = "a document must be a string or a {text} object"
        summary = description if len(bad) == 1 else f"{len(bad)} documents are neither strings nor {{text}} objects"
        raise InvalidArgumentError(summary, [FieldViolation(f"documents[{i}]", description) for i in bad[:MAX_VIOLATIONS]])
    return RerankCall(
        model=string(body, "model"),
        query=string(body, "query"),
        documents=texts,
        top_n=min(_top_n(body), len(texts)),  # Cohere returns every document when top_n is larger
        instruction=opt_string(body, "instruction"),
        return_documents=boolean(body, "return_documents", False),
        truncate=end_truncation(body),
        scoring=string(body, "scoring", ""),
        best_chunk=boolean(body, "best_chunk", False),
        hybrid_weights=hybrid_weights(body),
    )


def _top_n(body: JsonObject) -> int:
    top_n = integer(body, "top_n")
    if top_n is not None and top_n < 0:
        raise InvalidArgumentError.for_field("top_n", f"top_n is {top_n}; it must be at least 0 (0 returns all)")
    return top_n or 0


def results(result: RerankResult, request_id: str) -> dict[str, Any]:
    input_tokens = result.usage.prompt_tokens
    meta: dict[str, Any] = {"api_version": {"version": "2"}, "tokens": {"input_tokens": input_tokens}}
    if result.scoring == "cosine":
        meta["warnings"] = [f"no reranker is served: scores are cosine similarities of {result.model_id} embeddings"]
    return {
        "id": request_id,
        "results": [_result(r) for r in result.results],
        "model": result.model_id,
        "scoring": result.scoring,
        "meta": meta,
        "usage": {"total_tokens": input_tokens, "prompt_tokens": input_tokens},
    }


def _result(r: RankedDocument) -> dict[str, Any]:
    entry: dict[str, Any] = {"index": r.index, "relevance_score": r.score}
    if r.document is not None:
        entry["document"] = {"text": r.document}
    if r.chunks:
        entry["best_chunk"] = {"chunks": r.chunks, "start": r.best[0], "end": r.best[1]}
    return entry


__all__ = ["RERANK", "rerank_call", "results"]
