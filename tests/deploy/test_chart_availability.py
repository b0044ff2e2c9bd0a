"""Services, the disruption budget and the autoscaler all select exactly the server's pods."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.deploy.chart import CI_VALUES, RenderError, render


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


@pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.name)
def test_selectors_match_pod_labels(values: Path) -> None:
    rendered = render(values)
    pod_labels = rendered.deployment["spec"]["template"]["metadata"]["labels"]
    assert rendered.deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    for service in rendered.all("Service"):
        assert selects(service["spec"]["selector"], pod_labels), service["metadata"]["name"]
    for pdb in rendered.all("PodDisruptionBudget"):
        assert selects(pdb["spec"]["selector"]["matchLabels"], pod_labels)
    for policy in rendered.all("NetworkPolicy"):
        assert selects(policy["spec"]["podSelector"]["matchLabels"], pod_labels)


def test_selector_excludes_other_releases() -> None:
    pdb = render().one("PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"] == {
        "app.kubernetes.io/name": "embedroute",
        "app.kubernetes.io/instance": "er",
        "app.kubernetes.io/component": "server",
    }


@pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.name)
def test_grpc_service_port(values: Path) -> None:
    rendered = render(values)
    for service in rendered.all("Service"):
        grpc = [p for p in service["spec"]["ports"] if p["name"] == "grpc"]
        assert len(grpc) == 1
        assert grpc[0]["appProtocol"] == "grpc"
        assert grpc[0]["targetPort"] == "grpc"


def test_headless_service_for_client_side_balancing() -> None:
    rendered = render("cpu-values.yaml")
    headless = rendered.one("Service", "er-embedroute-headless")
    assert headless["spec"]["clusterIP"] == "None"
    assert headless["spec"]["publishNotReadyAddresses"] is False
    assert [p["name"] for p in headless["spec"]["ports"]] == ["grpc"]
    assert len(render("linkerd-values.yaml").all("Service")) == 1


def test_metrics_port_and_service_monitor() -> None:
    rendered = render("scale-values.yaml")
    service = rendered.one("Service", "er-embedroute")
    metrics_port = {"name": "metrics", "port": 9090, "targetPort": "metrics", "protocol": "TCP", "appProtocol": "http"}
    assert metrics_port in service["spec"]["ports"]
    assert {"name": "metrics", "containerPort": 9090, "protocol": "TCP"} in rendered.server["ports"]
    monitor = rendered.one("ServiceMonitor")
    # A ServiceMonitor selects Services by their labels, then scrapes the named Service port.
    assert selects(monitor["spec"]["selector"]["matchLabels"], service["metadata"]["labels"])
    assert monitor["spec"]["endpoints"] == [
        {"port": "metrics", "path": "/metrics", "scheme": "http", "interval": "15s", "scrapeTimeout": "10s"}
    ]
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["embedroute-ci"]}
    assert monitor["metadata"]["labels"]["release"] == "prometheus"


def test_metrics_off_removes_port_and_refuses_service_monitor() -> None:
    rendered = render(sets={"server.metricsPort": "0"})
    assert [p["name"] for p in rendered.server["ports"]] == ["grpc", "http"]
    assert rendered.env["EMBEDROUTE_METRICS_PORT"] == "0"
    with pytest.raises(RenderError, match="serviceMonitor.enabled needs server.metricsPort > 0"):
        render("scale-values.yaml", sets={"server.metricsPort": "0"})


def test_autoscaling_owns_the_replica_count() -> None:
    rendered = render("scale-values.yaml")
    assert "replicas" not in rendered.deployment["spec"]
    hpa = rendered.one("HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "er-embedroute"}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 12)
    targets = {m["resource"]["name"]: m["resource"]["target"]["averageUtilization"] for m in hpa["spec"]["metrics"]}
    assert targets == {"cpu": 60, "memory": 80}
    assert render("cpu-values.yaml").deployment["spec"]["replicas"] == 3
    assert render("cpu-values.yaml").all("HorizontalPodAutoscaler") == []


def test_pdb_budget() -> None:
    assert render("scale-values.yaml").one("PodDisruptionBudget")["spec"]["minAvailable"] == 2
    default = render().one("PodDisruptionBudget")["spec"]
    assert default["maxUnavailable"] == 1 and "minAvailable" not in default
    with pytest.raises(RenderError, match="exactly one of maxUnavailable and minAvailable"):
        render(sets={"podDisruptionBudget.minAvailable": "1"})


def test_network_policy_opens_only_the_three_ports() -> None:
    policy = render("cpu-values.yaml").one("NetworkPolicy")["spec"]
    assert policy["policyTypes"] == ["Ingress"]
    grpc, metrics, http = policy["ingress"]
    assert http["ports"] == [{"port": "http", "protocol": "TCP"}]
    assert http["from"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "search"}
    assert grpc["ports"] == [{"port": "grpc", "protocol": "TCP"}]
    assert grpc["from"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "search"}
    assert metrics["ports"] == [{"port": "metrics", "protocol": "TCP"}]
    assert metrics["from"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "monitoring"}
