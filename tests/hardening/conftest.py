"""Fixtures of the hardening tests: one loaded server with small limits and metrics on.

Small limits (8 inputs, 4,000 characters a text, 12,000 a message, 1 MiB messages) let the bad-input table hit
every bound with tiny requests; the server is shared because loading is the slow part.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from router import ModelPlan
from service.serve import plan
from tests.rpc.harness import RunningServer, server_settings

MAX_INPUTS = 8
MAX_CHARS = 4000
MAX_REQUEST_CHARS = 12_000
MAX_MESSAGE_BYTES = 1024 * 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def hardened_plans(models_dir: Path) -> list[ModelPlan]:
    return plan(server_settings(models_dir))


@pytest.fixture(scope="session")
def hardened(models_dir: Path, hardened_plans: list[ModelPlan]) -> Iterator[RunningServer]:
    settings = server_settings(
        models_dir,
        metrics_port=free_port(),
        max_inputs_per_request=MAX_INPUTS,
        max_input_chars=MAX_CHARS,
        max_request_chars=MAX_REQUEST_CHARS,
        max_message_bytes=MAX_MESSAGE_BYTES,
    )
    server = RunningServer(settings, hardened_plans).load()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def hardened_channel(hardened: RunningServer) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(hardened.target) as ch:
        yield ch


@pytest.fixture(scope="session")
def embed_plans_only(hardened_plans: list[ModelPlan]) -> list[ModelPlan]:
    return [p for p in hardened_plans if p.model_id == "qwen3-embedding-tiny"]
