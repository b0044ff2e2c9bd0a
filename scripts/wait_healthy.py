"""Wait until the server at TARGET reports SERVING on grpc.health.v1, for at most SECONDS."""

from __future__ import annotations

import sys
import time

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def main(target: str, seconds: float) -> int:
    deadline = time.monotonic() + seconds
    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=2)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return 0
            except grpc.RpcError:
                pass
            if time.monotonic() >= deadline:
                return 1
            time.sleep(0.5)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1], float(sys.argv[2])))
