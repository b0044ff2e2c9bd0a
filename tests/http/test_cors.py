"""CORS, off unless the operator names origins (`cors_allow_origins`): a browser app on an allowed
origin gets its preflight answered without an API key and the CORS headers on every answer."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from router import ModelPlan
from router.errors import ConfigError
from service.core.config import load_settings
from tests.hardening.conftest import free_port
from tests.rpc.harness import RunningServer, server_settings

APP = "https://app.example.com"
PREFLIGHT = {"origin": APP, "access-control-request-method": "POST",
             "access-control-request-headers": "authorization, content-type"}


@pytest.fixture(scope="module")
def cors_url(models_dir: Path, http_embed_plans: list[ModelPlan]) -> Iterator[str]:
    settings = server_settings(models_dir, http_port=free_port(), api_keys=["key-one"], cors_allow_origins=[APP])
    server = RunningServer(settings, http_embed_plans).load()
    yield server.http_url
    server.stop()


def test_a_preflight_from_an_allowed_origin_is_answered_without_a_key(cors_url: str) -> None:
    answer = httpx.options(f"{cors_url}/v1/embeddings", headers=PREFLIGHT)
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == APP
    assert set(answer.headers["access-control-allow-methods"].split(", ")) == {"GET", "POST", "DELETE"}
    assert answer.headers["access-control-allow-headers"] == "authorization, content-type"
    assert answer.headers["access-control-max-age"] == "600"


def test_answers_carry_the_headers_errors_included(cors_url: str) -> None:
    ok = httpx.post(f"{cors_url}/v1/embeddings", json={"input": "x"},
                    headers={"origin": APP, "authorization": "Bearer key-one"})
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == APP
    assert "x-request-id" in ok.headers["access-control-expose-headers"]
    refused = httpx.post(f"{cors_url}/v1/embeddings", json={"input": "x"}, headers={"origin": APP})
    assert refused.status_code == 401 and refused.headers["access-control-allow-origin"] == APP  # readable by the app


def test_another_origin_gets_no_grant(cors_url: str) -> None:
    answer = httpx.options(f"{cors_url}/v1/embeddings", headers={**PREFLIGHT, "origin": "https://evil.example"})
    assert answer.status_code == 400 and "access-control-allow-origin" not in answer.headers


def test_off_by_default(http_served: RunningServer) -> None:
    answer = httpx.options(f"{http_served.http_url}/v1/embeddings", headers=PREFLIGHT)
    assert answer.status_code == 405 and "access-control-allow-origin" not in answer.headers


@pytest.mark.parametrize("origin", ["app.example.com", "https://app.example.com/path", "ftp://x"])
def test_an_origin_that_is_not_one_is_a_configuration_error(origin: str) -> None:
    with pytest.raises(ConfigError, match=rf"--cors-allow-origins: .{re.escape(origin)}. is not an origin"):
        load_settings({"cors_allow_origins": [origin]}, {})
