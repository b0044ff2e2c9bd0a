"""A request whose client goes away is cancelled, as gRPC cancels a call whose peer left.

uvicorn does not cancel an ASGI app when the connection closes: it only answers
`http.disconnect` to the next `receive()`. An endpoint that awaits the application
would keep its inputs queued and decoded for no one - a client that times out and
retries would multiply the work. So once the body is read, the request's `receive`
is watched, and a disconnect before the answer is complete cancels the endpoint's
task; the application then drops the request's queued work (service.scheduler).
"""

from __future__ import annotations

import asyncio
import contextlib

from service.http.asgi import ASGIApp, Message, Receive, Scope, Send

CLIENT_CLOSED = 499
"""nginx's status for a request whose client closed the connection first: the access log's and metrics' status."""


async def run_until_disconnect(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> bool:
    """Runs `app` on the request; True when the client went away first and `app` was cancelled."""
    body_read = asyncio.Event()
    answered = False

    async def receive_body() -> Message:
        message = await receive()
        if message["type"] == "http.disconnect" or not message.get("more_body", False):
            body_read.set()
        return message

    async def send_answer(message: Message) -> None:
        nonlocal answered
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            answered = True
        await send(message)

    task = asyncio.ensure_future(app(scope, receive_body, send_answer))

    async def watch() -> None:
        await body_read.wait()
        while (await receive())["type"] != "http.disconnect":
            pass
        if not answered:
            task.cancel()

    watcher = asyncio.create_task(watch())
    try:
        await asyncio.wait([task])
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        if not task.done():
            task.cancel()  # this request itself is cancelled (the server's shutdown): so is its endpoint
            with contextlib.suppress(asyncio.CancelledError):
                await task
    if task.cancelled():
        return True
    task.result()
    return False


__all__ = ["CLIENT_CLOSED", "run_until_disconnect"]
