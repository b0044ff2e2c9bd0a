"""Optional OpenTelemetry tracing: one server span per call, child of the caller's trace.

OpenTelemetry is not a dependency of the server: the import is guarded, and only
`otel_tracing: true` makes its absence an error. Spans go to the process's global
tracer provider; when none was installed (e.g. by `opentelemetry-instrument`) and
the SDK with the OTLP exporter is present, one is set up here, configured by the
standard OTEL_* environment variables.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

log = logging.getLogger(__name__)


class CallSpan(Protocol):
    def finish(self, code: str) -> None:
        """Records the call's status code on the span."""
        ...


class _NoSpan:
    def finish(self, code: str) -> None:
        pass


class Tracer:
    """Starts call spans when tracing is on; a no-op otherwise."""

    def __init__(self, enabled: bool) -> None:
        self._tracer: Any = None
        if not enabled:
            return
        try:
            from opentelemetry import trace
        except ImportError as exc:
            raise ValueError("otel_tracing is on but the opentelemetry-api package is not installed") from exc
        _install_otlp_provider(trace)
        self._tracer = trace.get_tracer("embedroute")

    @contextlib.contextmanager
    def span(self, service: str, method: str, metadata: Sequence[tuple[str, Any]]) -> Iterator[CallSpan]:
        if self._tracer is None:
            yield _NoSpan()
            return
        from opentelemetry import propagate, trace

        carrier = {str(k): str(v) for k, v in metadata if isinstance(v, str)}
        attributes = {"rpc.system": "grpc", "rpc.service": service, "rpc.method": method}
        with self._tracer.start_as_current_span(
            f"{service}/{method}",
            context=propagate.extract(carrier),
            kind=trace.SpanKind.SERVER,
            attributes=attributes,
        ) as span:
            yield _Span(span)


class _Span:
    def __init__(self, span: Any) -> None:
        self._span = span

    def finish(self, code: str) -> None:
        from opentelemetry.trace import Status, StatusCode

        self._span.set_attribute("rpc.grpc.status_code", code)
        if code not in ("OK", "CANCELLED", "INVALID_ARGUMENT", "NOT_FOUND", "UNAUTHENTICATED"):
            self._span.set_status(Status(StatusCode.ERROR, code))


def _install_otlp_provider(trace: Any) -> None:
    if type(trace.get_tracer_provider()).__name__ != "ProxyTracerProvider":
        return  # someone already installed a provider: use theirs
    try:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        log.warning("otel_tracing: no tracer provider and no OTLP exporter installed; spans are dropped")
        return
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)


__all__ = ["CallSpan", "Tracer"]
