"""A full model queue over HTTP is 429 with Retry-After (and OpenAI's retry-after-ms), at once, and loses
nothing: every other request is answered in full."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx

from router import ModelPlan
from tests.hardening.conftest import free_port
from tests.rpc.harness import RunningServer, server_settings


def test_full_queue_is_429_with_retry_after(models_dir: Path, http_embed_plans: list[ModelPlan]) -> None:
    # the same request six times: with the cache, five would wait on the first instead of queueing
    settings = server_settings(models_dir, http_port=free_port(), max_queued_requests=1, retry_after_seconds=0.25, cache="off")
    server = RunningServer(settings, http_embed_plans).load()
    long_text = " ".join(["hello"] * 400)  # about 400 tokens: fits the 512 context, takes a while
    answers: list[httpx.Response] = []

    def call() -> None:
        answers.append(httpx.post(f"{server.http_url}/v1/embeddings", json={"input": [long_text] * 4}, timeout=120))

    try:
        threads = [threading.Thread(target=call) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        server.stop()
    ok = [a for a in answers if a.status_code == 200]
    refused = [a for a in answers if a.status_code != 200]
    assert ok and refused and len(answers) == 6, [a.text for a in refused]
    assert all(len(a.json()["data"]) == 4 for a in ok)
    for answer in refused:
        assert answer.status_code == 429
        assert answer.headers["retry-after"] == "1"  # whole seconds, rounded up from 0.25
        assert answer.headers["retry-after-ms"] == "250"
        error = answer.json()["error"]
        assert error["type"] == "rate_limit_error" and error["code"] == "overloaded"
