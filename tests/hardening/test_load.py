"""50 concurrent clients for 60 s, and bursts of 1,000 calls at once, against a real `embedroute serve`.

Every call must end in success or in the designed RESOURCE_EXHAUSTED (with RetryInfo,
which the clients honour); the p99 latency is printed and written to
.cache/hardening-load.json; the server's RSS at the end must be within 10% of its
level after warm-up (no leak under sustained load). In a burst, refusals come back
fast (they are decided before any work) and the server's RSS stays flat.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import grpc
import psutil
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from service.rpc.generated.embedroute.v1 import embed_pb2, embed_pb2_grpc, rerank_pb2, rerank_pb2_grpc
from tests.conftest import REPO
from tests.rpc.harness import details_of, rich_status

EMBEDROUTE = Path(sys.executable).with_name("embedroute")
CLIENTS, DURATION_S, WARM_UP_S = 50, 60.0, 15.0
MAX_QUEUED = 24
WORDS = "the quick brown fox jumps over a lazy dog while embeddings of short queries race long documents".split()


@pytest.fixture
def server(models_dir: Path, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    log_path = tmp_path / "server.log"
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            [str(EMBEDROUTE), "serve", "--models", str(models_dir), "--host", "127.0.0.1", "--port", "0",
             "--http-port", "0", "--ctx", "512", "--threads", "1", "--metrics-port", "0", "--log-format", "json",
             "--max-queued-requests", str(MAX_QUEUED), "--retry-after-seconds", "0.05"],
            stderr=log_file,
        )
    try:
        yield process, f"127.0.0.1:{port_of(log_path)}"
    finally:
        process.terminate()
        process.wait(60)


def port_of(log_path: Path) -> int:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for line in log_path.read_text().splitlines():
            port = json.loads(line).get("port")
            if port:
                return int(port)
        time.sleep(0.1)
    raise AssertionError("the server never logged its port")


def wait_serving(channel: grpc.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    deadline = time.monotonic() + 120
    while health.Check(health_pb2.HealthCheckRequest()).status != health_pb2.HealthCheckResponse.SERVING:
        assert time.monotonic() < deadline, "server never became SERVING"
        time.sleep(0.1)


def one_call(embed: embed_pb2_grpc.EmbedServiceStub, rerank: rerank_pb2_grpc.RerankServiceStub, rng: random.Random) -> None:
    pick = rng.random()

    def text(n: int) -> str:
        return " ".join(rng.choices(WORDS, k=n))

    if pick < 0.7:
        inputs = [text(rng.randint(3, 40)) for _ in range(rng.randint(1, 4))]
        assert len(embed.Embed(embed_pb2.EmbedRequest(inputs=inputs), timeout=30).embeddings) == len(inputs)
    elif pick < 0.9:
        docs = [text(rng.randint(10, 60)) for _ in range(3)]
        assert len(rerank.Rerank(rerank_pb2.RerankRequest(query=text(5), documents=docs), timeout=30).results) == 3
    else:
        requests = [embed_pb2.EmbedStreamRequest(id=str(i), input=text(8)) for i in range(5)]
        assert len(list(embed.EmbedStream(iter(requests), timeout=30))) == 5


def test_fifty_clients_sixty_seconds(server: tuple[subprocess.Popen[bytes], str]) -> None:
    process, target = server
    server_ps = psutil.Process(process.pid)
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
    unexpected: list[str] = []
    lock = threading.Lock()
    with grpc.insecure_channel(target) as channel:
        wait_serving(channel)
        embed, rerank = embed_pb2_grpc.EmbedServiceStub(channel), rerank_pb2_grpc.RerankServiceStub(channel)
        start = time.monotonic()
        end = start + DURATION_S

        def client(seed: int) -> None:
            rng = random.Random(seed)
            while time.monotonic() < end:
                began = time.monotonic()
                try:
                    one_call(embed, rerank, rng)
                except grpc.RpcError as exc:
                    code, status = rich_status(exc)
                    if code != grpc.StatusCode.RESOURCE_EXHAUSTED:
                        with lock:
                            unexpected.append(f"{code.name}: {status.message}")
                        continue
                    delay = details_of(status)["RetryInfo"].retry_delay.ToMilliseconds() / 1000
                    with lock:
                        outcomes["RESOURCE_EXHAUSTED"] += 1
                    time.sleep(delay * rng.uniform(1, 2))
                    continue
                except Exception as exc:  # an assertion on a response: a wrong answer
                    with lock:
                        unexpected.append(repr(exc))
                    continue
                with lock:
                    outcomes["OK"] += 1
                    latencies.append(time.monotonic() - began)

        threads = [threading.Thread(target=client, args=(seed,)) for seed in range(CLIENTS)]
        for t in threads:
            t.start()
        time.sleep(WARM_UP_S)
        rss_warm = server_ps.memory_info().rss
        for t in threads:
            t.join(DURATION_S + 60)
        rss_end = server_ps.memory_info().rss

    latencies.sort()
    p50, p99 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99)]
    drift = (rss_end - rss_warm) / rss_warm
    report = {
        "clients": CLIENTS,
        "seconds": DURATION_S,
        "ok": outcomes["OK"],
        "resource_exhausted": outcomes["RESOURCE_EXHAUSTED"],
        "p50_ms": round(p50 * 1000, 1),
        "p99_ms": round(p99 * 1000, 1),
        "rss_warm_mib": round(rss_warm / 2**20, 1),
        "rss_end_mib": round(rss_end / 2**20, 1),
        "rss_drift_pct": round(drift * 100, 2),
    }
    print(f"\nload: {json.dumps(report)}")
    (REPO / ".cache").mkdir(exist_ok=True)
    (REPO / ".cache" / "hardening-load.json").write_text(json.dumps(report, indent=2) + "\n")
    assert unexpected == []
    assert outcomes["OK"] > CLIENTS
    assert abs(drift) <= 0.10, report


BURST, BURSTS = 1000, 3


def test_bursts_of_a_thousand_calls(server: tuple[subprocess.Popen[bytes], str]) -> None:
    process, target = server
    server_ps = psutil.Process(process.pid)
    with grpc.insecure_channel(target) as channel:
        wait_serving(channel)
    reports, rss = [], []
    for n in range(BURSTS):
        client = subprocess.run(
            [sys.executable, "-m", "tests.hardening.burst_client", target, str(BURST), str(n)],
            cwd=REPO, capture_output=True, text=True, timeout=300, check=True,
        )
        reports.append(json.loads(client.stdout))
        rss.append(server_ps.memory_info().rss)
    print(f"\nbursts: {json.dumps(reports)}; server RSS MiB {[round(r / 2**20) for r in rss]}")
    for report in reports:
        assert set(report["codes"]) <= {"OK", "RESOURCE_EXHAUSTED"}, report
        assert report["codes"].get("OK", 0) >= MAX_QUEUED, report
        assert report["refused_p50_ms"] < 1000, report  # 2 shared cores: client, server loop and decodes together
    assert abs(rss[-1] - rss[0]) / rss[0] <= 0.10, rss
