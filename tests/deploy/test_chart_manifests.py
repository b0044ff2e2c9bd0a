"""Every manifest the chart renders, in every CI mode, is a valid Kubernetes object (strict schemas)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from tests.deploy.chart import CI_VALUES, render
from tests.deploy.manifest_validation import KUBERNETES_VERSIONS, validate_document, validate_documents


@pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.name)
def test_manifests_valid(values: Path) -> None:
    rendered = render(values)
    assert validate_documents(rendered.documents) == []


def test_validated_against_oldest_supported_and_newest_kubernetes() -> None:
    assert KUBERNETES_VERSIONS[0] == "1.27.0"
    assert KUBERNETES_VERSIONS[-1] >= "1.33.0"


def test_every_kind_is_checked() -> None:
    kinds = {d["kind"] for v in CI_VALUES for d in render(v).documents}
    assert kinds == {
        "ConfigMap",
        "Deployment",
        "HorizontalPodAutoscaler",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "Service",
        "ServiceAccount",
        "ServiceMonitor",
    }


def test_validator_rejects_an_unknown_pod_field() -> None:
    deployment = copy.deepcopy(render("cpu-values.yaml").deployment)
    deployment["spec"]["template"]["spec"]["terminationGracePeriod"] = 30
    problems = validate_document(deployment)
    assert len(problems) == len(KUBERNETES_VERSIONS)
    assert all("'terminationGracePeriod' was unexpected" in p for p in problems)


def test_validator_checks_the_service_monitor_with_its_own_schema() -> None:
    monitor = copy.deepcopy(render("scale-values.yaml").one("ServiceMonitor"))
    assert validate_document(monitor) == []
    monitor["spec"]["endpoints"][0]["targetPort"] = "metrics"
    monitor["spec"]["endpoints"][0]["interval"] = "fast"
    problems = validate_document(monitor)
    assert len(problems) == 2
    assert any("'targetPort' was unexpected" in p for p in problems)
    assert any("'fast' does not match" in p for p in problems)


def test_validator_refuses_unknown_custom_resources() -> None:
    problems = validate_document({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}})
    assert problems and all("no schema" in p for p in problems)
