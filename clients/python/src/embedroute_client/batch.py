"""Batch jobs (BatchService): the lines a job is made of, the job as it stands, and each line's result.

    job = client.submit_batch([EmbedLine("doc-1", ["a text"]), EmbedLine("doc-2", ["another"])])
    for seen in client.watch_batch(job.id):      # each change, until the job ends
        print(seen.completed, "/", seen.total)
    for result in client.batch_results(job.id):  # every line once: vectors, ranking or error
        ...

A job runs on the server below live traffic and survives its restarts; with API keys it is visible
only to the key that submitted it. Its lines are all embed lines or all rerank lines (the first
decides; a line of the other kind is answered with an error).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
import numpy.typing as npt

from . import _convert
from ._convert import InputType, Precision, RerankResult
from ._proto.embedroute.v1 import batch_pb2, embed_pb2
from .errors import _CLASSES, EmbedrouteError

FINAL = frozenset({"completed", "failed", "expired", "cancelled"})


@dataclass(frozen=True)
class EmbedLine:
    """One Embed request of a job, named by `custom_id` (unique in the job)."""

    custom_id: str
    texts: Sequence[str]
    model: str = ""
    instruction: str | None = None
    dimensions: int | None = None
    input_type: InputType | None = None
    normalize: bool = True
    truncate: bool = False
    precision: Precision = "float32"


@dataclass(frozen=True)
class RerankLine:
    """One Rerank request of a job."""

    custom_id: str
    query: str
    documents: Sequence[str]
    model: str = ""
    top_n: int | None = None
    instruction: str | None = None
    return_documents: bool = False
    truncate: bool = False


@dataclass(frozen=True)
class LineProblem:
    """A submitted line that names nothing to answer (no custom_id, or one already used)."""

    code: str
    message: str
    line: int
    """1-based, in the order the lines were sent."""


@dataclass(frozen=True)
class Batch:
    id: str
    status: str
    """validating, in_progress, finalizing, completed, failed, expired, cancelling or cancelled."""
    total: int
    completed: int
    failed: int
    created_at: int
    expires_at: int
    ended_at: int | None
    errors: list[LineProblem] = field(default_factory=list)

    @property
    def done(self) -> bool:
        """The job reached a final status: its results can be read."""
        return self.status in FINAL


@dataclass(frozen=True)
class BatchPage:
    """A page of the caller's jobs, newest first; `next_page_token` is empty on the last page."""

    batches: list[Batch]
    next_page_token: str


@dataclass(frozen=True)
class BatchResult:
    """One line's answer: `vectors` (embed lines, one row per text) or `ranking` (rerank lines,
    best first), or the `error` the live call would have raised."""

    custom_id: str
    vectors: npt.NDArray[Any] | None = None
    ranking: list[RerankResult] | None = None
    error: EmbedrouteError | None = None


def requests(lines: Iterable[EmbedLine | RerankLine]) -> Iterator[batch_pb2.SubmitBatchRequest]:
    """Lazily: a generator of lines is read only as fast as the server takes them."""
    for line in lines:
        if isinstance(line, EmbedLine):
            options = _convert.embed_options(
                instruction=line.instruction, dimensions=line.dimensions, input_type=line.input_type,
                normalize=line.normalize, truncate=line.truncate, precision=line.precision,
            )
            yield batch_pb2.SubmitBatchRequest(custom_id=line.custom_id, embed=embed_pb2.EmbedRequest(
                model=line.model, inputs=list(line.texts), options=options))
        else:
            yield batch_pb2.SubmitBatchRequest(custom_id=line.custom_id, rerank=_convert.rerank_request(
                line.model, line.query, line.documents, line.top_n, line.instruction, line.return_documents,
                line.truncate))


_STATUSES = {
    batch_pb2.BATCH_STATUS_VALIDATING: "validating", batch_pb2.BATCH_STATUS_FAILED: "failed",
    batch_pb2.BATCH_STATUS_IN_PROGRESS: "in_progress", batch_pb2.BATCH_STATUS_FINALIZING: "finalizing",
    batch_pb2.BATCH_STATUS_COMPLETED: "completed", batch_pb2.BATCH_STATUS_EXPIRED: "expired",
    batch_pb2.BATCH_STATUS_CANCELLING: "cancelling", batch_pb2.BATCH_STATUS_CANCELLED: "cancelled",
}


def batch(message: batch_pb2.Batch) -> Batch:
    return Batch(
        id=message.id, status=_STATUSES.get(message.status, "unknown"), total=message.total,
        completed=message.completed, failed=message.failed, created_at=message.created_at,
        expires_at=message.expires_at, ended_at=message.ended_at or None,
        errors=[LineProblem(e.code, e.message, e.line) for e in message.errors],
    )


def page(message: batch_pb2.ListBatchesResponse) -> BatchPage:
    return BatchPage([batch(b) for b in message.batches], message.next_page_token)


def result(message: batch_pb2.BatchResultsResponse) -> BatchResult:
    kind = message.WhichOneof("result")
    if kind == "embed":
        embeddings = message.embed.embeddings
        return BatchResult(message.custom_id, vectors=_convert.matrix(embeddings, _precision(embeddings)))
    if kind == "rerank":
        results = message.rerank.results
        return BatchResult(message.custom_id, ranking=_convert.rerank_results(results, any(r.document for r in results)))
    code = _code(message.error.code)
    error = _CLASSES.get(code, EmbedrouteError)(code, message.error.message, reason=message.error.reason)
    return BatchResult(message.custom_id, error=error)


def _precision(embeddings: Sequence[embed_pb2.Embedding]) -> Precision:
    """The encoding the line asked for, as the values show it."""
    if any(e.int8_values for e in embeddings):
        return "int8"
    if any(e.binary_values for e in embeddings):
        return "ubinary"
    return "float32"


def _code(number: int) -> grpc.StatusCode:
    for code in grpc.StatusCode:
        if code.value[0] == number:
            return code
    return grpc.StatusCode.UNKNOWN


__all__ = ["Batch", "BatchPage", "BatchResult", "EmbedLine", "LineProblem", "RerankLine", "batch", "page", "requests", "result"]
