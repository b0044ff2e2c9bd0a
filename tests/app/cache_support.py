"""What the vector-cache tests share: a real server's vectors and usage over gRPC, its metrics as
numbers, the embedding model alone in a folder, and a throwaway redis-server of Debian's package."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc
import httpx
import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from service.rpc.generated.embedroute.v1 import common_pb2, embed_pb2, embed_pb2_grpc
from tests.hardening.conftest import free_port
from tests.rpc.harness import RunningServer, server_settings

EMBED_MODEL = "qwen3-embedding-tiny"


def embed(server: RunningServer, texts: list[str], **options: Any) -> tuple[list[np.ndarray], common_pb2.Usage]:
    """The server's float32 vectors for `texts`, and the response's usage."""
    with grpc.insecure_channel(server.target) as channel:
        request = embed_pb2.EmbedRequest(model=EMBED_MODEL, inputs=texts, options=embed_pb2.EmbedOptions(**options))
        response = embed_pb2_grpc.EmbedServiceStub(channel).Embed(request, timeout=60)
    return [np.array(e.float_values, dtype=np.float32) for e in response.embeddings], response.usage


def metric(server: RunningServer, name: str, **labels: str) -> float:
    """One sample of the server's /metrics (0 when absent)."""
    text = httpx.get(f"http://127.0.0.1:{server.server.metrics_port}/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


def model_folder(source: Path, tmp: Path) -> Path:
    """A models folder with only `source` in it."""
    folder = tmp / source.stem
    folder.mkdir()
    (folder / source.name).symlink_to(source)
    return folder


def start(models: Path, **overrides: Any) -> RunningServer:
    """A loaded server of the folder's model, with metrics on."""
    return RunningServer(server_settings(models, metrics_port=free_port(), **overrides)).load()


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


class RedisServer:
    """A redis-server in a temp folder on a unix socket, with no persistence: a restart is empty."""

    def __init__(self, folder: Path) -> None:
        self.socket = folder / "redis.sock"
        self._folder = folder
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server is not installed and could not be (scripts/install-redis.sh)")
        self._process = subprocess.Popen(
            [binary, "--port", "0", "--unixsocket", str(self.socket), "--save", "", "--appendonly", "no",
             "--dir", str(self._folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not self.socket.exists():
            assert time.monotonic() < deadline, "redis-server did not open its socket"
            time.sleep(0.02)

    def stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait(10)
            self._process = None
            self.socket.unlink(missing_ok=True)


@contextmanager
def redis_server(folder: Path) -> Iterator[RedisServer]:
    server = RedisServer(folder)
    server.start()
    try:
        yield server
    finally:
        server.stop()
