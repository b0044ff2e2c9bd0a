"""The e2e container run (scripts/e2e-container.sh) takes its podman flags from the rendered chart
(scripts/e2e/chart_runtime.py); these checks keep that translation honest without a container engine."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path
from types import ModuleType

import yaml

from tests.deploy.chart import CHART, KUBE_VERSION, REPO, require_helm

E2E = REPO / "scripts" / "e2e"


def chart_runtime() -> ModuleType:
    spec = importlib.util.spec_from_file_location("chart_runtime", E2E / "chart_runtime.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rendered(tmp_path: Path) -> list[dict]:  # type: ignore[type-arg]
    cr = chart_runtime()
    synth = tmp_path / "cpu-values.yaml"
    cr.synth_values(str(CHART / "ci" / "cpu-values.yaml"), str(synth))
    out = subprocess.run(
        [require_helm(), "template", "er", str(CHART), "--kube-version", KUBE_VERSION,
         "-f", str(synth), "-f", str(E2E / "values-e2e.yaml")],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def test_podman_flags_carry_the_chart_security_settings(tmp_path: Path) -> None:
    cr = chart_runtime()
    args = cr.podman_args(rendered(tmp_path), "/host/models", str(tmp_path / "config"), 15051)
    for flag in ("--user=10001:10001", "--group-add=10001", "--read-only", "--read-only-tmpfs=false",
                 "--cap-drop=ALL", "--security-opt=no-new-privileges", "--stop-timeout=30"):
        assert flag in args, flag
    assert "--volume=/host/models:/models:Z,ro" in args
    assert any(a.startswith("--tmpfs=/tmp:") for a in args)
    assert any(a.startswith("--tmpfs=/var/lib/embedroute/default-model:") for a in args)
    assert "--env=EMBEDROUTE_PINS=qwen3-embedding-tiny=Q8_0@cpu" in args
    assert (tmp_path / "config" / "config.yaml").is_file()


def test_synth_values_only_rename_the_pins(tmp_path: Path) -> None:
    cr = chart_runtime()
    out = tmp_path / "v.yaml"
    cr.synth_values(str(CHART / "ci" / "cpu-values.yaml"), str(out))
    before = yaml.safe_load((CHART / "ci" / "cpu-values.yaml").read_text())
    after = yaml.safe_load(out.read_text())
    assert after["server"].pop("pins") == {"qwen3-embedding-tiny": "Q8_0@cpu"}
    before["server"].pop("pins")
    assert after == before
