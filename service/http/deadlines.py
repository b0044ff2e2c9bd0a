"""An HTTP request's deadline, from the timeout its caller announces, as the application takes it.

HTTP has no deadline of its own, as gRPC has, but two callers we serve announce theirs:
Envoy (Istio's and most meshes' sidecar) sends a route's timeout upstream as
`x-envoy-expected-rq-timeout-ms`, and the `openai` SDK sends its request timeout as
`x-stainless-timeout` (seconds). With either, work still queued when the caller has given
up is dropped before the engine and answered 504, as a gRPC deadline is; the tighter one
wins. A caller that announces nothing has no deadline; if it goes away, service.http.calls
cancels its request.
"""

from __future__ import annotations

import math
import time

from starlette.requests import Request

from service.core.errors import InvalidArgumentError

HEADERS_SECONDS: dict[str, float] = {"x-envoy-expected-rq-timeout-ms": 0.001, "x-stainless-timeout": 1.0}
"""Header -> seconds per unit of its value."""


def deadline(request: Request) -> float | None:
    """The request's deadline as a `time.monotonic()` instant, or None."""
    timeouts = [_seconds(request, header, unit) for header, unit in HEADERS_SECONDS.items() if header in request.headers]
    return time.monotonic() + min(timeouts) if timeouts else None


def _seconds(request: Request, header: str, unit: float) -> float:
    raw = request.headers[header]
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise InvalidArgumentError.for_field(header, f"header {header} is {raw!r}; it must be a positive number")
    return value * unit


__all__ = ["HEADERS_SECONDS", "deadline"]
