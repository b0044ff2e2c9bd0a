"""The chart passes `helm lint --strict` with every CI values file, and its schema refuses bad values."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.deploy.chart import CHART, CI_VALUES, KUBE_VERSION, RenderError, render, require_helm


def lint(*args: str) -> subprocess.CompletedProcess[str]:
    command = [require_helm(), "lint", "--strict", "--kube-version", KUBE_VERSION, str(CHART), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def test_there_is_a_values_file_per_deployment_mode() -> None:
    assert {p.name for p in CI_VALUES} == {
        "cpu-values.yaml",
        "gpu-values.yaml",
        "scale-values.yaml",
        "secure-values.yaml",
        "istio-values.yaml",
        "linkerd-values.yaml",
    }


def test_lint_strict_with_defaults() -> None:
    result = lint()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout


@pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.name)
def test_lint_strict(values: Path) -> None:
    result = lint("--values", str(values))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[WARNING]" not in result.stdout and "[ERROR]" not in result.stdout


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        ({"probes.readiness.service": "embedroute.v1.Embed"}, "/probes/readiness/service"),
        ({"replicaCounts": "2"}, "replicaCounts"),
        # The chart sets these itself; a second value would be silently shadowed.
        ({"server.config.drain_grace_seconds": "5"}, "invalid propertyName 'drain_grace_seconds'"),
        ({"server.config.no_such_setting": "1"}, "invalid propertyName 'no_such_setting'"),
        ({"server.extraEnv.EMBEDROUTE_PORT": "1"}, "invalid propertyName 'EMBEDROUTE_PORT'"),
        ({"mesh.type": "consul"}, "/mesh/type"),
        ({"server.logFormat": "xml"}, "/server/logFormat"),
        ({"image.digest": "sha256:abc"}, "/image/digest"),
    ],
)
def test_schema_refuses(sets: dict[str, str], message: str) -> None:
    with pytest.raises(RenderError, match=message):
        render(sets=sets)
