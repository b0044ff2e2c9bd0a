"""The shared store going away never fails a request: requests are computed meanwhile, the log says
so once, and hits resume once it answers again."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from service.app.cache.shared import RETRY_S
from tests.app.cache_support import embed, metric, model_folder, redis_server, start
from tests.conftest import SynthModels


def test_requests_survive_the_store_going_and_hits_resume(
    synth_models: SynthModels, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="service.app.cache.shared")
    with redis_server(tmp_path) as redis:
        server = start(model_folder(synth_models.embedding["Q8_0"], tmp_path), cache="shared", cache_url=redis.url)
        try:
            before, _ = embed(server, ["kept in redis"])
            assert embed(server, ["kept in redis"])[1].cached_tokens > 0

            redis.stop()
            for n in range(4):  # across retries of the store: each fails again, one log line in all
                vectors, usage = embed(server, ["kept in redis", f"new text {n}"])
                assert usage.cached_tokens == 0
                assert vectors[0].tobytes() == before[0].tobytes()
                time.sleep(RETRY_S * 0.6)
            down = [r for r in caplog.records if "shared cache unreachable" in r.getMessage()]
            assert len(down) == 1 and down[0].levelno == logging.WARNING
            assert metric(server, "embedroute_cache_store_errors_total") >= 2

            redis.start()  # empty: no persistence
            time.sleep(RETRY_S)
            deadline = time.monotonic() + 10 * RETRY_S
            while embed(server, ["after the return"])[1].cached_tokens == 0:  # stored once it answers, then a hit
                assert time.monotonic() < deadline, "no hits after the store came back"
                time.sleep(RETRY_S / 4)
            assert any("shared cache answers again" in r.getMessage() for r in caplog.records)
        finally:
            server.stop()
