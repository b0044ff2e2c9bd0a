"""Which calls may start: slots per class of call, refused at once when full.

gRPC's own `maximum_concurrent_rpcs` counts every call alike, so idle Health/Watch
streams, which anyone may open without a key, could take every slot and leave the
kubelet's Health/Check and authenticated work refused. Here each class has its own
allowance: probes are never refused (a Check is answered from memory), open-ended
streams that need no key (Watch, reflection) share `max_open_streams`, and the work
calls share `max_concurrent_rpcs`. A refusal happens before the handler runs, so it
costs no work and comes back in microseconds.
"""

from __future__ import annotations

from typing import Literal

from service.core.config import Settings

CallClass = Literal["probe", "open", "work"]

_PROBES = ("/grpc.health.v1.Health/Check",)
_OPEN = ("/grpc.health.v1.Health/Watch", "/grpc.reflection.")


def call_class(method: str) -> CallClass:
    if method.startswith(_PROBES):
        return "probe"
    if method.startswith(_OPEN):
        return "open"
    return "work"


class Admission:
    """Counts calls in flight per class; touched only on the event loop."""

    def __init__(self, settings: Settings) -> None:
        self._limits: dict[CallClass, int] = {
            "probe": 0,
            "open": settings.grpc.max_open_streams,
            "work": settings.max_concurrent_rpcs,
        }
        self.in_flight: dict[CallClass, int] = {"probe": 0, "open": 0, "work": 0}

    def enter(self, kind: CallClass) -> bool:
        """Takes a slot of `kind`; False when that class is full (0 = unbounded)."""
        limit = self._limits[kind]
        if limit and self.in_flight[kind] >= limit:
            return False
        self.in_flight[kind] += 1
        return True

    def leave(self, kind: CallClass) -> None:
        self.in_flight[kind] -= 1

    def limit(self, kind: CallClass) -> int:
        return self._limits[kind]
