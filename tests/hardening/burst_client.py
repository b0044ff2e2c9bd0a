"""N calls at once from one process: how each ended and how long it took.

    python -m tests.hardening.burst_client TARGET N [NAME]     (prints one JSON object)

Each burst's texts carry its NAME, so that a later burst's are not answered by the vector cache.

Used by tests/hardening/test_load.py, and by hand against any build for before/after figures.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter

import grpc
import grpc.aio

from service.rpc.generated.embedroute.v1 import embed_pb2, embed_pb2_grpc

TIMEOUT_S = 120.0


async def burst(target: str, n: int, name: str = "") -> dict[str, object]:
    async with grpc.aio.insecure_channel(target) as channel:
        stub = embed_pb2_grpc.EmbedServiceStub(channel)

        async def one(i: int) -> tuple[str, float]:
            began = time.monotonic()
            try:
                await stub.Embed(embed_pb2.EmbedRequest(inputs=[f"query number {i} of burst {name}"]), timeout=TIMEOUT_S)
                code = "OK"
            except grpc.aio.AioRpcError as exc:
                code = exc.code().name
            return code, time.monotonic() - began

        started = time.monotonic()
        results = await asyncio.gather(*(one(i) for i in range(n)))
        wall = time.monotonic() - started

    def quantile(values: list[float], q: float) -> float:
        return round(sorted(values)[int(q * (len(values) - 1))] * 1000, 1) if values else 0.0

    refused = [t for code, t in results if code == "RESOURCE_EXHAUSTED"]
    served = [t for code, t in results if code == "OK"]
    return {
        "codes": dict(Counter(code for code, _ in results)),
        "refused_p50_ms": quantile(refused, 0.5),
        "refused_p99_ms": quantile(refused, 0.99),
        "served_p50_ms": quantile(served, 0.5),
        "served_per_s": round(len(served) / wall, 1),
        "wall_s": round(wall, 2),
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(burst(sys.argv[1], int(sys.argv[2]), *sys.argv[3:4]))))
