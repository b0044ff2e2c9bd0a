"""Fixtures of the service tests: the router's plans (made once) and one shared, loaded server.

Planning and loading the real GGUF files is the slow part of these tests, so most
tests share `served`; a test that needs other settings or must shut its server down
starts its own from `plans`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from router import ModelPlan
from service.serve import plan
from tests.rpc.harness import RunningServer, server_settings

EMBED_MODEL = "qwen3-embedding-tiny"
RERANK_MODEL = "qwen3-reranker-tiny"


@pytest.fixture(scope="session")
def plans(models_dir: Path) -> list[ModelPlan]:
    return plan(server_settings(models_dir))


@pytest.fixture(scope="session")
def embed_plans(plans: list[ModelPlan]) -> list[ModelPlan]:
    """Only the embedding model: for servers that must load but need not rerank."""
    return [p for p in plans if p.model_id == EMBED_MODEL]


@pytest.fixture(scope="session")
def served(models_dir: Path, plans: list[ModelPlan]) -> Iterator[RunningServer]:
    server = RunningServer(server_settings(models_dir), plans).load()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def channel(served: RunningServer) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(served.target) as ch:
        yield ch
