"""The server under test comes from scripts/check-clients.sh: EMBEDROUTE_TARGET (host:port),
EMBEDROUTE_API_KEY (it is started with --api-keys-file) and EMBEDROUTE_VECTORS_DIR (where
each client's suite leaves its vectors for the cross-language check); EMBEDROUTE_M3_TARGET is a
second server with the tiny BGE-M3 and EMBEDROUTE_M3_HYBRID the hybrid scores it must give
(tests/clients/m3_hybrid.py)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from embedroute_client import Client

QUERIES = ["What is the capital of China?", "Explain gravity"]
DOCUMENTS = [
    "The capital of China is Beijing.",
    "Gravity is a force that attracts two bodies towards each other. It gives weight to physical objects "
    "and is responsible for the movement of planets around the sun.",
]
TASK = "Given a web search query, retrieve relevant passages that answer the query"


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.skip(f"{name} is not set: run scripts/check-clients.sh, which starts the server")
    return value


@pytest.fixture(scope="session")
def target() -> str:
    return _env("EMBEDROUTE_TARGET")


@pytest.fixture(scope="session")
def api_key() -> str:
    return _env("EMBEDROUTE_API_KEY")


@pytest.fixture(scope="session")
def vectors_dir() -> Path:
    return Path(_env("EMBEDROUTE_VECTORS_DIR"))


@pytest.fixture(scope="session")
def m3_target() -> str:
    return _env("EMBEDROUTE_M3_TARGET")


@pytest.fixture(scope="session")
def m3_hybrid() -> dict[str, Any]:
    """The query, documents, weights and expected scores of the hybrid check."""
    loaded: dict[str, Any] = json.loads(Path(_env("EMBEDROUTE_M3_HYBRID")).read_text(encoding="utf-8"))
    return loaded


@pytest.fixture
def client(target: str, api_key: str) -> Iterator[Client]:
    with Client(target, api_key=api_key) as c:
        yield c
