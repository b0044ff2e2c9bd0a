"""Batch jobs through the client (sync and asyncio): submit, watch to the end, results equal to the
live calls' answers, cancel, bad lines answered per line, another job id unknown."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import numpy as np
import pytest

from embedroute_client import (
    AsyncClient,
    Batch,
    BatchResult,
    Client,
    EmbedLine,
    InvalidArgumentError,
    LineProblem,
    NotFoundError,
    RerankLine,
)

from .conftest import DOCUMENTS, QUERIES

TEXTS = [f"batch text {i}" for i in range(9)]
CANCEL_LINES = 1000
"""Seconds of work uncancelled: far more than a cancel_batch takes to arrive, however slow the machine."""


def test_a_job_answers_as_the_live_calls(client: Client) -> None:
    lines = [EmbedLine(f"t{i}", [text]) for i, text in enumerate(TEXTS)]
    lines.append(EmbedLine("pair", TEXTS[:2], dimensions=32, input_type="query"))
    created = client.submit_batch(iter(lines))
    assert created.status == "validating" and created.id.startswith("batch_") and not created.done

    seen = list(client.watch_batch(created.id, timeout=120))
    assert seen[-1].done and seen[-1].status == "completed"
    assert (seen[-1].total, seen[-1].completed, seen[-1].failed) == (10, 10, 0)
    assert client.batch(created.id) == seen[-1]

    results = {r.custom_id: r for r in client.batch_results(created.id)}
    assert sorted(results) == sorted(line.custom_id for line in lines)
    for i, text in enumerate(TEXTS):
        assert results[f"t{i}"].error is None and results[f"t{i}"].ranking is None
        np.testing.assert_array_equal(results[f"t{i}"].vectors, client.embed([text]))
    np.testing.assert_array_equal(results["pair"].vectors, client.embed(TEXTS[:2], dimensions=32, input_type="query"))


def test_rerank_lines(client: Client) -> None:
    job = client.submit_batch([RerankLine("r", QUERIES[1], DOCUMENTS, top_n=1, return_documents=True)])
    assert list(client.watch_batch(job.id, timeout=120))[-1].status == "completed"
    [result] = client.batch_results(job.id)
    assert result.custom_id == "r" and result.ranking == client.rerank(QUERIES[1], DOCUMENTS, top_n=1,
                                                                         return_documents=True)


def test_jobs_are_listed_newest_first_a_page_at_a_time(client: Client) -> None:
    older = client.submit_batch([EmbedLine("one", ["listed first"])])
    newer = client.submit_batch([EmbedLine("one", ["listed second"])])
    first = client.list_batches(page_size=1)
    assert [b.id for b in first.batches] == [newer.id] and first.next_page_token == newer.id
    second = client.list_batches(page_size=1, page_token=first.next_page_token)
    assert [b.id for b in second.batches] == [older.id]
    assert newer.id in [b.id for b in client.list_batches().batches]
    with pytest.raises(InvalidArgumentError, match="a page holds 1 to 100 jobs"):
        client.list_batches(page_size=101)


def test_bad_lines_are_answered_per_line(client: Client) -> None:
    lines: list[EmbedLine | RerankLine] = [
        EmbedLine("ok", ["fine"]), EmbedLine("empty", [""]), RerankLine("rerank", "q", ["d"]),
        EmbedLine("ok", ["again"]),
    ]
    job = client.submit_batch(lines)
    done = list(client.watch_batch(job.id, timeout=120))[-1]
    assert (done.status, done.total, done.completed, done.failed) == ("completed", 3, 1, 2)
    assert done.errors == [LineProblem("duplicate_custom_id", done.errors[0].message, 4)]
    results = {r.custom_id: r for r in client.batch_results(job.id)}
    assert results["ok"].vectors is not None
    assert isinstance(results["empty"].error, InvalidArgumentError)
    assert isinstance(results["rerank"].error, InvalidArgumentError) and results["rerank"].error.reason == "INVALID_URL"
    with pytest.raises(InvalidArgumentError):
        client.submit_batch([])


def test_cancel_and_unknown_jobs(client: Client) -> None:
    long_text = " ".join(["word"] * 200)
    job = client.submit_batch(EmbedLine(f"c{i}", [long_text, long_text]) for i in range(CANCEL_LINES))
    assert client.cancel_batch(job.id).status == "cancelling"
    done = list(client.watch_batch(job.id, timeout=120))[-1]
    assert done.status == "cancelled" and done.completed < CANCEL_LINES
    assert len(list(client.batch_results(job.id))) == done.completed + done.failed
    for call in (client.batch, client.cancel_batch, lambda i: list(client.watch_batch(i)),
                 lambda i: list(client.batch_results(i))):
        with pytest.raises(NotFoundError):
            call("batch_000000000000000000000000")


async def _lines() -> AsyncIterator[EmbedLine]:
    for i, text in enumerate(TEXTS[:3]):
        await asyncio.sleep(0)
        yield EmbedLine(f"a{i}", [text])


def test_async_client(client: Client, target: str, api_key: str) -> None:
    async def run() -> tuple[Batch, list[Batch], Batch, list[BatchResult], Batch]:
        async with AsyncClient(target, api_key=api_key) as aclient:
            created = await aclient.submit_batch(_lines())
            seen = [b async for b in aclient.watch_batch(created.id, timeout=120)]
            got = await aclient.batch(created.id)
            assert (await aclient.list_batches(page_size=1)).batches[0].id == created.id
            results = [r async for r in aclient.batch_results(created.id)]
            long_text = " ".join(["word"] * 200)
            other = await aclient.submit_batch(EmbedLine(f"x{i}", [long_text, long_text]) for i in range(CANCEL_LINES))
            await aclient.cancel_batch(other.id)
            *_, cancelled = [b async for b in aclient.watch_batch(other.id, timeout=120)]
            return seen[-1], seen, got, results, cancelled

    last, seen, got, results, cancelled = asyncio.run(run())
    assert last.status == "completed" and got == last and len(seen) >= 1
    by_id = {r.custom_id: r.vectors for r in results}
    assert sorted(by_id) == ["a0", "a1", "a2"]
    for i, text in enumerate(TEXTS[:3]):
        np.testing.assert_array_equal(by_id[f"a{i}"], client.embed([text]))
    assert cancelled.status == "cancelled" and cancelled.completed < CANCEL_LINES
