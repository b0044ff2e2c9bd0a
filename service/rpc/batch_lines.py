"""A gRPC batch job's lines, both ways: an embedroute.v1 request as a stored JSONL line, the
endpoints that answer it as the live RPC does, and a stored answer read back as a result message.

A line is stored as OpenAI's batch lines are (`{custom_id, method, url, body}`), with the RPC's
method path for `url` and the request in protobuf's JSON mapping for `body`, so the one batch
package (service.batch) validates, runs, commits and resumes it like any other. A line's answer
is the RPC's response as `{"proto": base64 of its protobuf encoding}` (exact, and cheap: protobuf's
JSON mapping of a 256-dimension vector took 0.9 ms of the event loop, 100 times the encoding), or
its error (service.rpc.status.line_error).
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message
from google.rpc import code_pb2

from service.app import Application
from service.batch import Endpoints, LineAnswer
from service.core.errors import EmbedrouteError, InvalidArgumentError
from service.rpc.embed import embed_response
from service.rpc.generated.embedroute.v1 import batch_pb2, embed_pb2, rerank_pb2
from service.rpc.rerank import rerank_response
from service.rpc.status import line_error

log = logging.getLogger(__name__)

EMBED_URL = "/embedroute.v1.EmbedService/Embed"
RERANK_URL = "/embedroute.v1.RerankService/Rerank"
URLS = {"embed": EMBED_URL, "rerank": RERANK_URL}
"""A SubmitBatchRequest's `request` field -> the job endpoint its lines run through."""
PROTO = "proto"
"""The key of a stored answer's body that holds the response's protobuf encoding."""
_UNSENT_CODES = {"batch_expired": code_pb2.DEADLINE_EXCEEDED}
"""A line that did not run is INVALID_ARGUMENT (no request, another kind's), unless named here."""


def rpc_endpoints(app: Application) -> Endpoints:
    async def embed(body: dict[str, Any]) -> LineAnswer:
        return await _answer(body, embed_pb2.EmbedRequest, lambda r: embed_response(app, r, None))

    async def rerank(body: dict[str, Any]) -> LineAnswer:
        return await _answer(body, rerank_pb2.RerankRequest, lambda r: rerank_response(app, r, None))

    return {EMBED_URL: embed, RERANK_URL: rerank}


async def _answer(body: dict[str, Any], kind: type[Message], run: Callable[[Any], Awaitable[Message]]) -> LineAnswer:
    try:
        try:
            request = json_format.ParseDict(body, kind())
        except json_format.ParseError as exc:
            raise InvalidArgumentError(f"the line's request does not read as {kind.DESCRIPTOR.full_name}: {exc}") from exc
        return 200, {PROTO: base64.b64encode((await run(request)).SerializeToString()).decode()}
    except EmbedrouteError as exc:
        return line_error(exc)
    except Exception as exc:  # a bug: the line is answered INTERNAL, the job goes on
        log.exception("unexpected error in a batch line")
        return line_error(EmbedrouteError(f"internal error: {type(exc).__name__}"))


def line(request: batch_pb2.SubmitBatchRequest) -> bytes:
    """The stored JSONL line of one streamed request (no request: a url no job has, answered per line)."""
    kind = request.WhichOneof("request")
    body = json_format.MessageToDict(getattr(request, kind), preserving_proto_field_name=True) if kind else None
    record = {"custom_id": request.custom_id, "method": "POST", "url": URLS[kind] if kind else "", "body": body}
    return json.dumps(record, separators=(",", ":")).encode() + b"\n"


def result(raw: bytes, endpoint: str) -> batch_pb2.BatchResultsResponse:
    """One stored answer (an output or error file line) as the result message."""
    record = json.loads(raw)
    answer = batch_pb2.BatchResultsResponse(custom_id=record["custom_id"])
    response = record.get("response")
    if response is None:
        code, message = record["error"]["code"], record["error"]["message"]
        answer.error.CopyFrom(batch_pb2.BatchLineError(
            code=_UNSENT_CODES.get(code, code_pb2.INVALID_ARGUMENT), message=message, reason=code.upper()))
    elif 200 <= response["status_code"] < 300:
        target = answer.embed if endpoint == EMBED_URL else answer.rerank
        target.ParseFromString(base64.b64decode(response["body"][PROTO]))
    else:
        json_format.ParseDict(response["body"], answer.error)
    return answer


async def stored_lines(pieces: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """A stored file's lines from its pieces (a line is held whole, never the file)."""
    rest = b""
    async for piece in pieces:
        rest += piece
        *done, rest = rest.split(b"\n")
        for raw in done:
            if raw:
                yield raw
    if rest:
        yield rest


def rpc_endpoint(endpoint: str) -> bool:
    return endpoint in URLS.values()


__all__ = ["EMBED_URL", "RERANK_URL", "URLS", "line", "result", "rpc_endpoint", "rpc_endpoints", "stored_lines"]
