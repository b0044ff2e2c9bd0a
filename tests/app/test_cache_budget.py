"""The in-process cache stays within its byte budget under a stream of distinct inputs: least
recently used entries go, what is kept still hits, and the bytes gauge never passes the budget."""

from __future__ import annotations

from pathlib import Path

from service.app.cache.memory import ENTRY_OVERHEAD
from tests.app.cache_support import embed, metric, model_folder, start
from tests.conftest import SynthModels

BUDGET = 16 * 1024


def test_memory_stays_within_the_budget(synth_models: SynthModels, tmp_path: Path) -> None:
    server = start(model_folder(synth_models.embedding["Q8_0"], tmp_path), cache_bytes=BUDGET)
    try:
        vector_bytes = embed(server, ["sizing"])[0][0].nbytes
        entry = vector_bytes + ENTRY_OVERHEAD + 100  # key (about 100 characters) and header
        peak = 0.0
        for batch in range(25):
            embed(server, [f"distinct input {batch}-{i}" for i in range(8)])
            used = metric(server, "embedroute_cache_bytes")
            assert 0 < used <= BUDGET
            peak = max(peak, used)
        assert peak > BUDGET - 2 * entry  # the budget is used, not left idle
        assert metric(server, "embedroute_cache_inputs_total", result="miss") == 201
        assert embed(server, ["distinct input 24-7"])[1].cached_tokens > 0  # the most recent is kept
        assert embed(server, ["distinct input 0-0"])[1].cached_tokens == 0  # the oldest went
    finally:
        server.stop()
