"""One `vectorSpace` value shared by the GPU and the CPU pool reaches both servers the same way."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from service.core.config import load_settings
from tests.deploy.chart import CHART, KUBE_VERSION, RenderError, render, require_helm

FLEET = "vectorSpace:\n  consistent:\n    qwen3-embedding-0.6b: Q8_0\n  pooling:\n    my-bare-qwen3: last\n"


@pytest.fixture()
def fleet(tmp_path: Path) -> Path:
    path = tmp_path / "fleet.yaml"
    path.write_text(FLEET)
    return path


@pytest.mark.parametrize("pool", ["cpu-values.yaml", "gpu-values.yaml"])
def test_both_pools_get_the_same_consistency(fleet: Path, pool: str) -> None:
    env = render(fleet, pool).env
    assert (env["EMBEDROUTE_CONSISTENT"], env["EMBEDROUTE_POOLING"], env["EMBEDROUTE_VECTOR_SPACE_IDS"]) == (
        "qwen3-embedding-0.6b=Q8_0", "my-bare-qwen3=last", "true",
    )
    settings = load_settings({}, {k: v for k, v in env.items() if k != "EMBEDROUTE_CONFIG"})
    assert (settings.consistent, settings.pooling, settings.vector_space_ids) == (
        {"qwen3-embedding-0.6b": "Q8_0"}, {"my-bare-qwen3": "last"}, True,
    )


def test_default_is_best_per_node_with_ids() -> None:
    env = render("cpu-values.yaml").env
    assert "EMBEDROUTE_CONSISTENT" not in env and "EMBEDROUTE_POOLING" not in env
    assert env["EMBEDROUTE_VECTOR_SPACE_IDS"] == "true"


def test_a_device_in_a_consistency_value_is_refused() -> None:
    with pytest.raises(RenderError, match="vectorSpace.consistent"):
        render("cpu-values.yaml", sets={"vectorSpace.consistent.m": "Q8_0@gpu"})


def notes(tmp_path: Path, *sets: str) -> str:
    """NOTES.txt as `helm install` prints it: `helm template` renders but never prints the notes, so a
    copy of the chart includes them in a ConfigMap."""
    chart = tmp_path / "embedroute"
    shutil.copytree(CHART, chart)
    template = (chart / "templates" / "NOTES.txt").read_text()
    (chart / "templates" / "_notes.tpl").write_text('{{- define "notes" }}' + template + "{{- end }}")
    (chart / "templates" / "notes.yaml").write_text(
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: {{ include "notes" . | quote }}\n'
    )
    command = [require_helm(), "template", "er", str(chart), "--namespace", "ns", "--kube-version", KUBE_VERSION,
               "--show-only", "templates/notes.yaml"]
    for item in sets:
        command += ["--set", item]
    out = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True).stdout
    text: str = yaml.safe_load(out)["data"]["notes"]
    return text


def test_notes_show_the_space_and_the_drift_command(tmp_path: Path) -> None:
    default = notes(tmp_path / "a").splitlines()
    pinned = notes(tmp_path / "b", r"vectorSpace.consistent.qwen3-embedding-0\.6b=Q8_0").splitlines()
    assert "Vector space: the best file per node (pools on other hardware may serve other quants)" in default
    assert "Vector space: qwen3-embedding-0.6b=Q8_0 on every replica (a pod where it does not fit stays NOT_SERVING)" in pinned
    assert default[-1] == (
        "  kubectl -n ns exec deploy/er-embedroute -- embedroute drift er-embedroute.ns.svc:50051 OTHER-POOL.ns.svc:50051"
    )
