"""A real embedroute server on 127.0.0.1, run in-process on its own event-loop thread.

Tests talk to it through real channels and the generated stubs, like any client;
the harness only exposes the server object so that tests can read counters (queue
high-water marks) that a client cannot see.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import grpc
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from router import ModelPlan
from service.core.config import Settings
from service.serve import EmbedrouteServer, plan

T = TypeVar("T")


def server_settings(models_dir: Path, **overrides: Any) -> Settings:
    """Loopback, a free port, one thread per model (the CI machine has two cores), a short context;
    the HTTP front off unless a test asks for it (tests/http)."""
    base = Settings(
        host="127.0.0.1", port=0, models=[models_dir], threads=1, ctx=512, metrics_port=0, log_format="text",
        http_port=0,
    )
    return replace(base, **overrides)


class RunningServer:
    def __init__(self, settings: Settings, plans: list[ModelPlan] | None = None) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="test-server-loop", daemon=True)
        self._thread.start()
        chosen = plan(settings) if plans is None else plans
        self.server: EmbedrouteServer = self.run(self._build(settings, chosen))
        self.port = self.run(self.server.start())
        self.stopped = False

    @staticmethod
    async def _build(settings: Settings, plans: list[ModelPlan]) -> EmbedrouteServer:
        return EmbedrouteServer(settings, plans)  # grpc.aio servers belong to the loop that creates them

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def http_url(self) -> str:
        """The HTTP front's base URL (the server must have been started with an http_port)."""
        assert self.server.http_port, "this server has no HTTP front"
        return f"http://127.0.0.1:{self.server.http_port}"

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 120.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def load(self) -> RunningServer:
        self.run(self.server.load_models())
        return self

    def stop(self, grace_s: float = 5.0) -> None:
        if self.stopped:
            return
        self.stopped = True
        self.run(self.server.shutdown(grace_s))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()

    def worker(self, model_id: str) -> Any:
        return self.server.registry.get(model_id).worker


def rich_status(error: grpc.RpcError) -> tuple[grpc.StatusCode, status_pb2.Status]:
    status = rpc_status.from_call(error)
    assert status is not None, f"no grpc-status-details-bin on {error}"
    return error.code(), status


def details_of(status: status_pb2.Status) -> dict[str, Any]:
    """The unpacked details by kind; fails when a kind appears twice (AIP-193: exactly one ErrorInfo)."""
    kinds = {
        "ErrorInfo": error_details_pb2.ErrorInfo,
        "BadRequest": error_details_pb2.BadRequest,
        "RetryInfo": error_details_pb2.RetryInfo,
    }
    found: dict[str, Any] = {}
    for detail in status.details:
        for name, cls in kinds.items():
            if detail.Is(cls.DESCRIPTOR):
                assert name not in found, f"two {name} details"
                message = cls()
                detail.Unpack(message)
                found[name] = message
    return found
