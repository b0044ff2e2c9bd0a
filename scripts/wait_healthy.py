"""Wait until the server at TARGET reports SERVING on grpc.health.v1, for at most SECONDS.

With the server's PID and LOG, a server that exits first ends the wait at once, with the last
line it logged (its one-line reason, e.g. a port in use) on stderr, instead of a silent timeout."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def main(target: str, seconds: float, pid: int | None = None, log: Path | None = None) -> int:
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
            if pid is not None and not alive(pid):
                print(f"the server exited before it was ready: {last_line(log)}", file=sys.stderr)
                return 1
            if time.monotonic() >= deadline:
                return 1
            time.sleep(0.5)


def alive(pid: int) -> bool:
    """Running, and not a zombie its parent has yet to reap."""
    try:
        os.kill(pid, 0)
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (ProcessLookupError, FileNotFoundError):
        return False
    except PermissionError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def last_line(log: Path | None) -> str:
    lines = [line for line in (log.read_text(errors="replace").splitlines() if log and log.exists() else []) if line.strip()]
    return lines[-1].strip() if lines else "(it logged nothing)"


if __name__ == "__main__":
    args = sys.argv[1:]
    raise SystemExit(main(args[0], float(args[1]), int(args[2]) if len(args) > 2 else None,
                          Path(args[3]) if len(args) > 3 else None))
