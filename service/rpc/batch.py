"""embedroute.v1.BatchService: a stream of requests in, a job of service.batch out; translation only.

The job is the HTTP front's Batch API's own (service.batch.BatchJobs): the lines are stored as an
input file (so the file size, storage and jobs-per-key limits are the same), the job is created,
read, watched and cancelled there, and its results are read back from its result files. Lines run
through service.rpc.batch_lines, as the live Embed and Rerank calls.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from service.batch import FINAL, BatchJobs, BatchRecord
from service.core.errors import InvalidArgumentError
from service.rpc import batch_lines, fields
from service.rpc.context import Context
from service.rpc.generated.embedroute.v1 import batch_pb2
from service.rpc.status import rpc_errors, stream_rpc_errors

WRITE_BYTES = 256 * 1024
"""Streamed lines are written to the store in pieces of about this size."""
INPUT_NAME = "grpc-batch.jsonl"
"""The stored input file's name (shown by the HTTP front's /v1/files)."""
COMPLETION_WINDOW = "24h"
STATUSES = {
    "validating": batch_pb2.BATCH_STATUS_VALIDATING, "failed": batch_pb2.BATCH_STATUS_FAILED,
    "in_progress": batch_pb2.BATCH_STATUS_IN_PROGRESS, "finalizing": batch_pb2.BATCH_STATUS_FINALIZING,
    "completed": batch_pb2.BATCH_STATUS_COMPLETED, "expired": batch_pb2.BATCH_STATUS_EXPIRED,
    "cancelling": batch_pb2.BATCH_STATUS_CANCELLING, "cancelled": batch_pb2.BATCH_STATUS_CANCELLED,
}


class BatchServicer:
    def __init__(self, jobs: BatchJobs) -> None:
        self._jobs = jobs

    @rpc_errors(fields.BATCH)
    async def SubmitBatch(
        self, request_iterator: AsyncIterator[batch_pb2.SubmitBatchRequest], context: Context
    ) -> batch_pb2.SubmitBatchResponse:
        upload = await self._jobs.upload()
        try:
            endpoint = ""
            pending = bytearray()
            async for request in request_iterator:
                kind = request.WhichOneof("request")
                endpoint = endpoint or (batch_lines.URLS[kind] if kind else "")
                pending += batch_lines.line(request)
                if len(pending) >= WRITE_BYTES:
                    await upload.write(bytes(pending))
                    pending.clear()
            await upload.write(bytes(pending))
            if not endpoint:
                raise InvalidArgumentError.for_field(
                    "request", "the stream held no line with an embed or rerank request; a job needs one")
            stored = await upload.finish(INPUT_NAME, "batch")
        except BaseException:
            await upload.abort()
            raise
        return batch_pb2.SubmitBatchResponse(batch=_batch(await self._jobs.create(stored.id, endpoint, COMPLETION_WINDOW, None)))

    @rpc_errors(fields.BATCH)
    async def GetBatch(self, request: batch_pb2.GetBatchRequest, context: Context) -> batch_pb2.GetBatchResponse:
        return batch_pb2.GetBatchResponse(batch=_batch(await self._jobs.batch(request.batch_id)))

    @rpc_errors(fields.BATCH)
    async def ListBatches(self, request: batch_pb2.ListBatchesRequest, context: Context) -> batch_pb2.ListBatchesResponse:
        records, more = await self._jobs.batches(request.page_token or None, request.page_size or None)
        return batch_pb2.ListBatchesResponse(
            batches=[_batch(r) for r in records], next_page_token=records[-1].id if more else "")

    @stream_rpc_errors(fields.BATCH)
    async def WatchBatch(
        self, request: batch_pb2.WatchBatchRequest, context: Context
    ) -> AsyncIterator[batch_pb2.WatchBatchResponse]:
        async for record in self._jobs.watch(request.batch_id):
            yield batch_pb2.WatchBatchResponse(batch=_batch(record))

    @rpc_errors(fields.BATCH)
    async def CancelBatch(self, request: batch_pb2.CancelBatchRequest, context: Context) -> batch_pb2.CancelBatchResponse:
        return batch_pb2.CancelBatchResponse(batch=_batch(await self._jobs.cancel(request.batch_id)))

    @stream_rpc_errors(fields.BATCH)
    async def BatchResults(
        self, request: batch_pb2.BatchResultsRequest, context: Context
    ) -> AsyncIterator[batch_pb2.BatchResultsResponse]:
        record = await self._jobs.batch(request.batch_id)
        if not batch_lines.rpc_endpoint(record.endpoint):
            raise InvalidArgumentError.for_field(
                "batch_id", f"batch {record.id} was created over HTTP ({record.endpoint}); read its output file "
                "with GET /v1/files/{id}/content")
        if record.status not in FINAL:
            raise InvalidArgumentError.for_field(
                "batch_id", f"batch {record.id} is {record.status}; its results are read once it ends (WatchBatch)")
        for file_id in (record.output_file_id, record.error_file_id):
            if file_id is None:
                continue
            _, pieces = await self._jobs.content(file_id)
            async for raw in batch_lines.stored_lines(pieces):
                yield batch_lines.result(raw, record.endpoint)


def _batch(r: BatchRecord) -> batch_pb2.Batch:
    ended = r.completed_at or r.failed_at or r.expired_at or r.cancelled_at or 0
    return batch_pb2.Batch(
        id=r.id, status=STATUSES[r.status], total=r.total, completed=r.completed, failed=r.failed,
        created_at=r.created_at, expires_at=r.expires_at, ended_at=ended,
        errors=[batch_pb2.BatchLineProblem(code=e.code, message=e.message, line=e.line) for e in r.errors],
        output_file_id=r.output_file_id or "", error_file_id=r.error_file_id or "",
    )


__all__ = ["BatchServicer"]
