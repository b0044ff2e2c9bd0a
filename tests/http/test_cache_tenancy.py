"""With API keys, one key's inputs are not hits for another key unless the operator shares the
cache across keys (`cache_across_keys`): a shared hit would tell one tenant what another embedded."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest

from router import ModelPlan
from tests.hardening.conftest import free_port
from tests.http.conftest import EMBED_MODEL
from tests.rpc.harness import RunningServer, server_settings

TEXTS = ["tenant A's confidential memo", "another of A's documents"]


def _cached_tokens(url: str, key: str) -> tuple[int, int]:
    client = openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0)
    usage = client.embeddings.create(model=EMBED_MODEL, input=TEXTS).usage
    details = (usage.model_extra or {})["prompt_tokens_details"]
    return int(details["cached_tokens"]), usage.prompt_tokens


@pytest.mark.parametrize("across", [False, True])
def test_hits_stay_within_a_key(
    models_dir: Path, http_embed_plans: list[ModelPlan], tmp_path: Path, across: bool
) -> None:
    keys = tmp_path / "keys"
    keys.write_text("key-a\nkey-b\n")
    settings = server_settings(models_dir, http_port=free_port(), api_keys_file=keys, cache_across_keys=across)
    server = RunningServer(settings, http_embed_plans).load()
    try:
        assert _cached_tokens(server.http_url, "key-a")[0] == 0
        cached, prompt = _cached_tokens(server.http_url, "key-b")
        assert cached == (prompt if across else 0)
        cached, prompt = _cached_tokens(server.http_url, "key-a")
        assert cached == prompt  # A's own entries are A's hits
    finally:
        server.stop()
