"""The fleet store's database goes away mid-job and comes back: meanwhile the batch routes answer 503
(the store is unavailable, not the job broken), and once it is back the job goes on from its last
committed chunk and ends with every custom_id answered exactly once."""

from __future__ import annotations

import io
import time
from collections import Counter
from pathlib import Path

import httpx

from router import ModelPlan
from tests.hardening.conftest import free_port
from tests.http.batch_support import KEY_A, embed_line, jsonl, read_lines, sdk, wait_final
from tests.http.postgres_support import postgres_server
from tests.rpc.harness import RunningServer, server_settings

N_LINES = 120
TEXT = " ".join(["outage"] * 200)


def test_a_job_waits_out_a_database_restart_and_answers_each_line_once(
    models_dir: Path, http_plans: list[ModelPlan]
) -> None:
    with postgres_server() as postgres:
        settings = server_settings(models_dir, http_port=free_port(), jobs_store=postgres.database(),
                                   api_keys=[KEY_A], batch_chunk_lines=4, batch_chunk_lease_seconds=1, cache="off")
        server = RunningServer(settings, http_plans).load()
        try:
            client = sdk(server, KEY_A)
            lines = [embed_line(f"o{i}", [f"{i} {TEXT}", f"{TEXT} {i}"]) for i in range(N_LINES)]
            uploaded = client.files.create(file=("o.jsonl", io.BytesIO(jsonl(lines))), purpose="batch")
            batch = client.batches.create(input_file_id=uploaded.id, endpoint="/v1/embeddings",
                                          completion_window="24h")
            deadline = time.monotonic() + 120
            while (seen := client.batches.retrieve(batch.id)).request_counts is None or seen.request_counts.completed < 8:
                assert time.monotonic() < deadline and seen.status in ("validating", "in_progress"), seen.status
                time.sleep(0.02)

            postgres.halt()
            answer = httpx.get(f"{server.http_url}/v1/batches/{batch.id}", headers={"authorization": f"Bearer {KEY_A}"})
            assert answer.status_code == 503, answer.text
            assert "PostgreSQL store is unreachable" in answer.json()["error"]["message"]
            postgres.start()

            done = wait_final(client, batch.id, timeout_s=300)
            out = read_lines(client, done.output_file_id)
        finally:
            server.stop()
    assert done.status == "completed" and done.request_counts is not None
    assert (done.request_counts.total, done.request_counts.completed, done.request_counts.failed) == (N_LINES, N_LINES, 0)
    assert Counter(o["custom_id"] for o in out) == Counter(f"o{i}" for i in range(N_LINES))
    assert done.error_file_id is None
