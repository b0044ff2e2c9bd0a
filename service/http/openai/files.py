"""OpenAI's Files API, for batch input files: `POST /v1/files`, `GET /v1/files` (the key's own, a page at
a time), `GET /v1/files/{id}`, `GET /v1/files/{id}/content`, `DELETE /v1/files/{id}` -> service.batch.

The upload is read as it arrives (service.http.multipart) and written to the store piece by piece,
refused with 413 once past `batch_max_file_bytes`; a download is streamed from the store the same way.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from service.batch import BatchJobs, FileRecord
from service.core.errors import PayloadTooLargeError
from service.http.body import page_limit
from service.http.errors import answers
from service.http.fields import NONE
from service.http.multipart import FormReader

MULTIPART_SLACK = 64 * 1024
"""Bytes a multipart body may carry beyond its file (boundaries, part headers, the purpose field)."""


class FileRoutes:
    def __init__(self, jobs: BatchJobs) -> None:
        self._jobs = jobs

    def routes(self) -> list[Route]:
        return [
            Route("/v1/files", self.create, methods=["POST"]),
            Route("/v1/files", self.list_files, methods=["GET"]),
            Route("/v1/files/{file_id}", self.retrieve, methods=["GET"]),
            Route("/v1/files/{file_id}", self.delete, methods=["DELETE"]),
            Route("/v1/files/{file_id}/content", self.content, methods=["GET"]),
        ]

    @answers("openai", NONE)
    async def create(self, request: Request) -> Response:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self._jobs.max_file_bytes + MULTIPART_SLACK:
            raise PayloadTooLargeError(f"the file is over {self._jobs.max_file_bytes} bytes (batch_max_file_bytes)")
        form = FormReader(request.headers.get("content-type", ""))
        upload = await self._jobs.upload()
        try:
            async for piece in request.stream():
                form.feed(piece)
                for data in form.take():
                    await upload.write(data)
            form.finish()
            record = await upload.finish(form.filename or "", form.fields.get("purpose", ""))
        except BaseException:
            await upload.abort()
            raise
        return JSONResponse(file_object(record))

    @answers("openai", NONE)
    async def list_files(self, request: Request) -> Response:
        query = request.query_params
        purpose, after, order = query.get("purpose") or None, query.get("after") or None, query.get("order", "desc")
        records, more = await self._jobs.files(purpose, after, page_limit(query), order)
        return JSONResponse({
            "object": "list", "data": [file_object(r) for r in records],
            "first_id": records[0].id if records else None, "last_id": records[-1].id if records else None,
            "has_more": more,
        })

    @answers("openai", NONE)
    async def retrieve(self, request: Request) -> Response:
        return JSONResponse(file_object(await self._jobs.file(request.path_params["file_id"])))

    @answers("openai", NONE)
    async def delete(self, request: Request) -> Response:
        record = await self._jobs.delete(request.path_params["file_id"])
        return JSONResponse({"id": record.id, "object": "file", "deleted": True})

    @answers("openai", NONE)
    async def content(self, request: Request) -> Response:
        record, pieces = await self._jobs.content(request.path_params["file_id"])
        return StreamingResponse(pieces, media_type="application/jsonl",
                                 headers={"content-length": str(record.bytes)})


def file_object(record: FileRecord) -> dict[str, Any]:
    return {"id": record.id, "object": "file", "bytes": record.bytes, "created_at": record.created_at,
            "filename": record.filename, "purpose": record.purpose, "status": "processed", "expires_at": None,
            "status_details": None}


__all__ = ["FileRoutes", "file_object"]
