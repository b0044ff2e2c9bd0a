"""Bounded, unordered concurrency over a request stream.

The next message is pulled only while fewer than `window` are in flight *or
finished but not yet taken by the consumer*: a slot is freed when its result has
been handed on, not when it was computed. The front's consumer is the transport's
writer, which waits while the peer's flow-control window is full, so a client that
stops reading stops costing the server CPU and memory once `window` results wait;
and a client that streams faster than the model computes is held back by HTTP/2
flow control instead of growing a buffer in the server. Results are yielded as
they complete (`map_ordered`: in the source's order). The first failure - a message
the source could not read, or an item whose work failed - stops reading; the work
already in flight finishes and is handed on, then the failure is raised: a client
whose third input is bad still gets the first two results.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from typing import TypeVar

A = TypeVar("A")
B = TypeVar("B")


async def map_unordered(source: AsyncIterable[A], fn: Callable[[A], Awaitable[B]], window: int) -> AsyncIterator[B]:
    slots = asyncio.Semaphore(window)
    events: asyncio.Queue[asyncio.Task[B] | Exception | None] = asyncio.Queue()
    running: set[asyncio.Task[B]] = set()

    def finished(task: asyncio.Task[B]) -> None:
        events.put_nowait(task)

    async def feed() -> None:
        try:
            async for item in source:
                await slots.acquire()
                task = asyncio.ensure_future(fn(item))
                running.add(task)
                task.add_done_callback(finished)
        except Exception as exc:  # a bad message: the consumer raises it once the work before it is handed on
            events.put_nowait(exc)
            return
        events.put_nowait(None)

    feeder = asyncio.ensure_future(feed())
    fed_all = False
    failure: Exception | None = None
    try:
        while not (fed_all and not running):
            event = await events.get()
            if event is None:
                fed_all = True
            elif isinstance(event, Exception):
                failure, fed_all = failure or event, True
            else:
                running.discard(event)
                error = event.exception()
                if error is None:
                    yield event.result()
                elif isinstance(error, Exception):
                    failure, fed_all = failure or error, True
                    feeder.cancel()  # nothing more is read; what is in flight still finishes and is handed on
                else:
                    raise error
                slots.release()  # the consumer took it: only now may another message be read
        if failure is not None:
            raise failure
    finally:
        feeder.cancel()
        for task in running:
            task.cancel()


async def map_ordered(source: AsyncIterable[A], fn: Callable[[A], Awaitable[B]], window: int) -> AsyncIterator[B]:
    """As `map_unordered`, but yielded in the source's order: a result that finishes early is held
    back until those before it are yielded."""

    async def numbered() -> AsyncIterator[tuple[int, A]]:
        n = 0
        async for item in source:
            yield n, item
            n += 1

    async def one(entry: tuple[int, A]) -> tuple[int, B]:
        return entry[0], await fn(entry[1])

    waiting: dict[int, B] = {}
    next_n = 0
    async for n, result in map_unordered(numbered(), one, window):
        waiting[n] = result
        while next_n in waiting:
            yield waiting.pop(next_n)
            next_n += 1
