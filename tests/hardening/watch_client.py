"""Opens N Health/Watch streams that nobody ever closes, and reports how many the server refused.

    python -m tests.hardening.watch_client TARGET N SECONDS   (prints {"open": k, "refused": m}, then holds)
"""

from __future__ import annotations

import json
import sys
import threading
import time

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def main(target: str, n: int, seconds: float) -> None:
    with grpc.insecure_channel(target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        calls = [health.Watch(health_pb2.HealthCheckRequest(), timeout=seconds + 30) for _ in range(n)]
        outcome = {"open": 0, "refused": 0, "other": 0}
        lock = threading.Lock()

        def first(call: grpc.Call) -> None:
            try:
                next(iter(call))  # type: ignore[call-overload]
                kind = "open"
            except grpc.RpcError as exc:
                kind = "refused" if exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED else "other"
            with lock:
                outcome[kind] += 1

        threads = [threading.Thread(target=first, args=(c,), daemon=True) for c in calls]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        print(json.dumps(outcome), flush=True)
        time.sleep(seconds)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))
