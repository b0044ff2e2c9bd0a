"""Probes ask the server's own gRPC health services, on the port the server listens on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.deploy.chart import CI_VALUES, HEALTH_SERVICES, render

PROBES = ("startupProbe", "readinessProbe", "livenessProbe")


def grpc_port(container: dict[str, Any]) -> int:
    ports = [p["containerPort"] for p in container["ports"] if p["name"] == "grpc"]
    assert len(ports) == 1
    port: int = ports[0]
    return port


@pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.name)
def test_probes_target_server_health_services(values: Path) -> None:
    rendered = render(values)
    server = rendered.server
    port = grpc_port(server)
    assert rendered.env["EMBEDROUTE_PORT"] == str(port)
    tls = "EMBEDROUTE_TLS_CERT" in rendered.env
    for name in PROBES:
        probe = server[name]
        if tls:
            command = probe["exec"]["command"]
            assert command[0] == "embedroute-healthcheck" and len(command) == 2
            service = command[1]
            assert "grpc" not in probe
        else:
            assert probe["grpc"]["port"] == port
            service = probe["grpc"]["service"]
            assert "exec" not in probe
        assert service in HEALTH_SERVICES, f"{name} asks about {service!r}"


def test_default_probes_ask_the_overall_status() -> None:
    server = render("cpu-values.yaml").server
    assert [server[p]["grpc"]["service"] for p in PROBES] == ["", "", ""]


def test_readiness_can_follow_one_service() -> None:
    server = render("gpu-values.yaml").server
    assert server["readinessProbe"]["grpc"]["service"] == "embedroute.v1.EmbedService"
    assert server["livenessProbe"]["grpc"]["service"] == ""


def test_tls_probes_use_the_in_image_checker() -> None:
    server = render("secure-values.yaml").server
    assert server["readinessProbe"]["exec"]["command"] == ["embedroute-healthcheck", "embedroute.v1.RerankService"]
    assert server["livenessProbe"]["exec"]["command"] == ["embedroute-healthcheck", ""]


def test_probes_follow_a_changed_port() -> None:
    rendered = render(sets={"server.port": "6000"})
    assert rendered.env["EMBEDROUTE_PORT"] == "6000"
    assert {rendered.server[p]["grpc"]["port"] for p in PROBES} == {6000}
    assert rendered.one("Service")["spec"]["ports"][0]["targetPort"] == "grpc"


@pytest.mark.parametrize(
    ("max_startup", "period", "threshold"), [(600, 10, 60), (900, 10, 90), (601, 10, 61), (95, 20, 5)]
)
def test_startup_probe_covers_model_loading(max_startup: int, period: int, threshold: int) -> None:
    probe = render(
        sets={"probes.startup.maxStartupSeconds": str(max_startup), "probes.startup.periodSeconds": str(period)}
    ).server["startupProbe"]
    assert probe["periodSeconds"] == period
    assert probe["failureThreshold"] == threshold
    assert probe["failureThreshold"] * probe["periodSeconds"] >= max_startup
