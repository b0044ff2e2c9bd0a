"""With otel_tracing on, each call is one server span in the caller's trace, carrying its status code."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from router import ModelPlan
from service.rpc.generated.embedroute.v1 import embed_pb2, embed_pb2_grpc
from tests.rpc.harness import RunningServer, server_settings

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


def test_spans_join_the_callers_trace(models_dir: Path, embed_plans_only: list[ModelPlan]) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)  # the process's provider, as opentelemetry-instrument would set it
    server = RunningServer(server_settings(models_dir, otel_tracing=True), embed_plans_only).load()
    try:
        with grpc.insecure_channel(server.target) as ch:
            stub = embed_pb2_grpc.EmbedServiceStub(ch)
            stub.Embed(embed_pb2.EmbedRequest(inputs=["traced"]), metadata=(("traceparent", TRACEPARENT),))
            with pytest.raises(grpc.RpcError):
                stub.Embed(embed_pb2.EmbedRequest())
    finally:
        server.stop()
    spans = [s for s in exporter.get_finished_spans() if s.name == "embedroute.v1.EmbedService/Embed"]
    assert [(s.attributes or {})["rpc.grpc.status_code"] for s in spans] == ["OK", "INVALID_ARGUMENT"]
    assert format(spans[0].context.trace_id, "032x") == TRACE_ID
    assert spans[0].parent is not None and format(spans[0].parent.span_id, "016x") == "00f067aa0ba902b7"
    assert spans[0].kind == trace.SpanKind.SERVER
    assert format(spans[1].context.trace_id, "032x") != TRACE_ID
