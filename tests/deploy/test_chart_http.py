"""The chart exposes the HTTP fronts: container port and Service port named `http` (optional), the
setting reaches the server, the NetworkPolicy opens it; probes stay gRPC."""

from __future__ import annotations

from tests.deploy.chart import render


def ports(document: dict, key: str = "ports") -> dict[str, dict]:
    return {p["name"]: p for p in document[key]}


def test_http_port_on_container_service_and_config() -> None:
    rendered = render()
    container = rendered.deployment["spec"]["template"]["spec"]["containers"][0]
    assert ports(container)["http"] == {"name": "http", "containerPort": 8080, "protocol": "TCP"}
    service = rendered.one("Service", "er-embedroute")["spec"]
    assert ports(service)["http"] == {
        "name": "http", "port": 8080, "targetPort": "http", "protocol": "TCP", "appProtocol": "http"
    }
    assert dict(rendered.env)["EMBEDROUTE_HTTP_PORT"] == "8080"
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert "grpc" in container[probe] or "exec" in container[probe], probe
        assert "httpGet" not in container[probe]


def test_http_left_off_the_service_or_turned_off() -> None:
    hidden = render(sets={"service.http.enabled": "false"})
    assert "http" not in ports(hidden.one("Service", "er-embedroute")["spec"])
    container = hidden.deployment["spec"]["template"]["spec"]["containers"][0]
    assert "http" in ports(container)  # still served in the cluster, e.g. behind a sidecar
    off = render("cpu-values.yaml", sets={"server.httpPort": "0"})
    assert "http" not in ports(off.one("Service", "er-embedroute")["spec"])
    assert "http" not in ports(off.deployment["spec"]["template"]["spec"]["containers"][0])
    assert dict(off.env)["EMBEDROUTE_HTTP_PORT"] == "0"
    rules = off.one("NetworkPolicy")["spec"]["ingress"]
    assert [r["ports"][0]["port"] for r in rules] == ["grpc", "metrics"]
