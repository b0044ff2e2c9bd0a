"""Bodies that used to stall the loop gRPC shares, or come back larger than they went in (issue 33,
items 2, 3 and 6): gRPC Health/Check and /livez are timed while a 60 MB body and a 2M-element body
are parsed; echoes are capped at 256 characters and 10 violations; deep JSON and lone surrogates are
the client's fault (400), not a 500 with a traceback."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from router import ModelPlan
from service.core.errors import MAX_ECHO_CHARS, MAX_VIOLATIONS
from tests.hardening.conftest import free_port
from tests.rpc.harness import RunningServer, server_settings

PROBE_DEADLINE_S = 1.0


@pytest.fixture(scope="module")
def roomy(models_dir: Path, http_plans: list[ModelPlan]) -> Iterator[RunningServer]:
    """The default 64 MiB message limit: room for the bodies that stalled the loop."""
    server = RunningServer(server_settings(models_dir, http_port=free_port()), http_plans).load()
    yield server
    server.stop()


class Probes:
    """gRPC Health/Check and /livez, one after the other, each within PROBE_DEADLINE_S, until stopped."""

    def __init__(self, server: RunningServer) -> None:
        self._server = server
        self._stop = threading.Event()
        self.slowest = {"grpc": 0.0, "livez": 0.0}
        self.failures: list[str] = []
        self.rounds = 0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Probes:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        with grpc.insecure_channel(self._server.target) as channel, httpx.Client(timeout=PROBE_DEADLINE_S) as http:
            health = health_pb2_grpc.HealthStub(channel)
            while not self._stop.is_set():
                for name, probe in (
                    ("grpc", lambda: health.Check(health_pb2.HealthCheckRequest(), timeout=PROBE_DEADLINE_S)),
                    ("livez", lambda: http.get(f"{self._server.http_url}/livez").raise_for_status()),
                ):
                    started = time.monotonic()
                    try:
                        probe()
                    except Exception as exc:  # a missed deadline is what this measures
                        self.failures.append(f"{name}: {type(exc).__name__}")
                    self.slowest[name] = max(self.slowest[name], time.monotonic() - started)
                self.rounds += 1
                time.sleep(0.05)


def test_probes_answer_while_huge_bodies_are_parsed(roomy: RunningServer) -> None:
    url = roomy.http_url
    million_pairs = b'{"input": ["x"], "user": [' + b",".join([b"[0,0]"] * 10_000_000) + b"]}"  # 60 MB, valid
    two_million = b'{"query": "q", "documents": [' + b",".join([b"0"] * 2_000_000) + b"]}"  # 4 MB
    with Probes(roomy) as probes, httpx.Client(timeout=120) as http:
        time.sleep(0.3)
        big = http.post(f"{url}/v1/embeddings", content=million_pairs, headers={"content-type": "application/json"})
        started = time.monotonic()
        many = http.post(f"{url}/v2/rerank", content=two_million, headers={"content-type": "application/json"})
        many_s = time.monotonic() - started
        time.sleep(0.3)
    assert big.status_code == 200, big.text[:300]
    assert many.status_code == 400 and len(many.content) < 8192, (many.status_code, len(many.content))
    body = many.json()
    assert len(body["violations"]) == MAX_VIOLATIONS and body["message"].startswith("2000000 documents")
    assert many_s < 5, many_s
    assert probes.rounds >= 3
    assert not probes.failures, probes.failures
    assert max(probes.slowest.values()) < PROBE_DEADLINE_S, probes.slowest


def test_echoes_are_capped(roomy: RunningServer) -> None:
    url = roomy.http_url
    huge_model = "m" * 5_000_000
    missing = httpx.post(f"{url}/v1/embeddings", json={"model": huge_model, "input": "x"}, timeout=60)
    assert missing.status_code == 404 and len(missing.content) < 2048, len(missing.content)
    assert len(missing.json()["error"]["message"]) <= MAX_ECHO_CHARS
    timeout = httpx.post(f"{url}/v1/embeddings", json={"input": "x"}, headers={"x-stainless-timeout": "x" * 30_000})
    assert timeout.status_code == 400 and len(timeout.content) < 2048, len(timeout.content)
    tei = httpx.post(f"{url}/embed", json={"inputs": "x", "prompt_name": "p" * 100_000}, timeout=60)
    assert tei.status_code == 422 and len(tei.content) < 2048, len(tei.content)


@pytest.mark.parametrize("size", ["small", "large"])
def test_deep_json_and_lone_surrogates_are_400(roomy: RunningServer, size: str) -> None:
    """Both parsers: the one on the loop (small bodies) and the stepwise one (over OFF_LOOP_BYTES)."""
    url = roomy.http_url
    pad = ', "user": "' + "p" * 300_000 + '"' if size == "large" else ""
    cases = {
        "/v1/embeddings": '{"input": "\\ud800"' + pad + "}",
        "/tokenize": '{"inputs": ["ok", "\\udfff x"]' + pad + "}",
        "/api/embed": '{"model": "qwen3-embedding-tiny", "input": "' + "\\ud83d" + '"' + pad + "}",
    }
    for path, text in cases.items():
        answer = httpx.post(f"{url}{path}", content=text.encode(), headers={"content-type": "application/json"})
        assert answer.status_code in (400, 422), (path, answer.status_code, answer.text[:200])
        assert "surrogate" in answer.text
    paired = httpx.post(f"{url}/v1/embeddings", content=('{"input": "\\ud83d\\ude00"' + pad + "}").encode(),
                        headers={"content-type": "application/json"})
    assert paired.status_code == 200, paired.text[:300]
    deep = '{"input": "x", "user": ' + "[" * 3000 + "]" * 3000 + pad + "}"
    answer = httpx.post(f"{url}/v1/embeddings", content=deep.encode(), headers={"content-type": "application/json"})
    assert answer.status_code == 400 and "nested too deeply" in answer.text, answer.text[:200]
