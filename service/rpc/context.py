"""What the servicers read from a gRPC call's context."""

from __future__ import annotations

import time
from typing import Any, TypeAlias

import grpc.aio

Context: TypeAlias = grpc.aio.ServicerContext[Any, Any]


def deadline(context: Context) -> float | None:
    """The caller's deadline as a `time.monotonic()` instant, as the application takes it."""
    remaining: float | None = context.time_remaining()
    return None if remaining is None else time.monotonic() + remaining
