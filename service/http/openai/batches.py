"""OpenAI's Batch API: `POST /v1/batches`, `GET /v1/batches/{id}`, `POST /v1/batches/{id}/cancel`,
`GET /v1/batches` (newest first, `after` and `limit`) -> service.batch; translation only.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from service.batch import BatchJobs, BatchRecord
from service.core.config import Settings
from service.core.errors import InvalidArgumentError
from service.http.body import json_object, page_limit, string
from service.http.errors import answers
from service.http.fields import NONE


class BatchRoutes:
    def __init__(self, jobs: BatchJobs, settings: Settings) -> None:
        self._jobs = jobs
        self._max_bytes = settings.max_message_bytes

    def routes(self) -> list[Route]:
        return [
            Route("/v1/batches", self.create, methods=["POST"]),
            Route("/v1/batches", self.list_batches, methods=["GET"]),
            Route("/v1/batches/{batch_id}", self.retrieve, methods=["GET"]),
            Route("/v1/batches/{batch_id}/cancel", self.cancel, methods=["POST"]),
        ]

    @answers("openai", NONE)
    async def create(self, request: Request) -> Response:
        body = await json_object(request, self._max_bytes)
        metadata = body.get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            raise InvalidArgumentError.for_field("metadata", "metadata must be an object of strings")
        record = await self._jobs.create(
            string(body, "input_file_id"), string(body, "endpoint"), string(body, "completion_window", "24h"), metadata
        )
        return JSONResponse(batch_object(record))

    @answers("openai", NONE)
    async def retrieve(self, request: Request) -> Response:
        return JSONResponse(batch_object(await self._jobs.batch(request.path_params["batch_id"])))

    @answers("openai", NONE)
    async def cancel(self, request: Request) -> Response:
        return JSONResponse(batch_object(await self._jobs.cancel(request.path_params["batch_id"])))

    @answers("openai", NONE)
    async def list_batches(self, request: Request) -> Response:
        query = request.query_params
        records, more = await self._jobs.batches(query.get("after") or None, page_limit(query))
        return JSONResponse({
            "object": "list", "data": [batch_object(r) for r in records],
            "first_id": records[0].id if records else None, "last_id": records[-1].id if records else None,
            "has_more": more,
        })


def batch_object(r: BatchRecord) -> dict[str, Any]:
    errors = None
    if r.errors:
        errors = {"object": "list",
                  "data": [{"code": e.code, "message": e.message, "param": e.param, "line": e.line} for e in r.errors]}
    return {
        "id": r.id, "object": "batch", "endpoint": r.endpoint, "errors": errors, "input_file_id": r.input_file_id,
        "completion_window": r.completion_window, "status": r.status, "output_file_id": r.output_file_id,
        "error_file_id": r.error_file_id, "created_at": r.created_at, "in_progress_at": r.in_progress_at,
        "expires_at": r.expires_at, "finalizing_at": r.finalizing_at, "completed_at": r.completed_at,
        "failed_at": r.failed_at, "expired_at": r.expired_at, "cancelling_at": r.cancelling_at,
        "cancelled_at": r.cancelled_at,
        "request_counts": {"total": r.total, "completed": r.completed, "failed": r.failed},
        "metadata": r.metadata,
    }


__all__ = ["BatchRoutes", "batch_object"]
