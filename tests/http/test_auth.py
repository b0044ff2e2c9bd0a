"""API keys over HTTP: with keys set, every API route needs `Authorization: Bearer KEY` and answers 401 in its
API's error shape without one; the SDKs send their api_key that way; health stays open."""

from __future__ import annotations

from pathlib import Path

import cohere
import httpx
import openai
import pytest

from router import ModelPlan
from tests.hardening.conftest import free_port
from tests.http.conftest import EMBED_MODEL
from tests.rpc.harness import RunningServer, server_settings


def test_api_keys(models_dir: Path, http_embed_plans: list[ModelPlan], tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text("# team A\nkey-one\n")
    settings = server_settings(models_dir, http_port=free_port(), api_keys_file=keys, api_keys=["key-two"])
    server = RunningServer(settings, http_embed_plans).load()
    try:
        url = server.http_url
        for headers in [{}, {"authorization": "Bearer nope"}, {"authorization": "key-one"}]:
            refused = httpx.post(f"{url}/v1/embeddings", json={"input": "x"}, headers=headers)
            assert refused.status_code == 401
            assert refused.headers["www-authenticate"] == "Bearer"
            assert refused.json()["error"]["type"] == "authentication_error"
            assert refused.json()["error"]["code"] == "unauthenticated"
        cohere_shape = httpx.post(f"{url}/v2/rerank", json={"query": "q", "documents": ["a"]})
        assert cohere_shape.status_code == 401 and cohere_shape.json()["code"] == "UNAUTHENTICATED"
        tei_shape = httpx.post(f"{url}/embed", json={"inputs": "x"})
        assert tei_shape.status_code == 401 and tei_shape.json()["error_type"] == "Unauthorized"
        assert httpx.get(f"{url}/v1/models").status_code == 401
        for path in ("/health", "/readyz", "/livez"):
            assert httpx.get(f"{url}{path}").status_code == 200

        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=f"{url}/v1", api_key="wrong", max_retries=0).embeddings.create(model="", input="x")
        for key in ("key-one", "key-two"):
            client = openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0)
            assert len(client.embeddings.create(model=EMBED_MODEL, input=["a", "b"]).data) == 2
        reranked = cohere.ClientV2(api_key="key-one", base_url=url, max_retries=0).rerank(
            model="", query="q", documents=["a", "b"]
        )
        assert sorted(r.index for r in reranked.results) == [0, 1]
    finally:
        server.stop()
