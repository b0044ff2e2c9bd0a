"""`usage.prompt_tokens_details.cached_tokens` on /v1/embeddings, read through the openai SDK: none
for inputs computed, the repeats' tokens within a request, every token for a request answered
from the cache."""

from __future__ import annotations

from typing import Any

import openai

from tests.http.conftest import EMBED_MODEL
from tests.rpc.harness import RunningServer


def _create(client: openai.OpenAI, texts: list[str]) -> Any:
    return client.embeddings.create(model=EMBED_MODEL, input=texts).usage


def test_cached_tokens_through_the_openai_sdk(http_served: RunningServer) -> None:
    client = openai.OpenAI(base_url=f"{http_served.http_url}/v1", api_key="unused", max_retries=0)
    single = _create(client, ["usage of a cached text"])
    assert single.model_extra["prompt_tokens_details"] == {"cached_tokens": 0}
    repeated = _create(client, ["usage of another text", "usage of another text"])
    assert repeated.model_extra["prompt_tokens_details"]["cached_tokens"] == repeated.prompt_tokens // 2
    again = _create(client, ["usage of a cached text", "usage of another text"])
    assert again.model_extra["prompt_tokens_details"]["cached_tokens"] == again.prompt_tokens
    assert again.prompt_tokens == single.prompt_tokens + repeated.prompt_tokens // 2
