"""GPU mode asks for GPUs, lands on GPU nodes and runs the CUDA image; CPU mode does none of that."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.deploy.chart import CI_VALUES, render

GPU_VALUES = {"gpu-values.yaml"}


@pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.name)
def test_gpu_limits_only_in_gpu_mode(values: Path) -> None:
    rendered = render(values)
    resources = rendered.server["resources"]
    all_resources = [resources] + [c.get("resources", {}) for c in rendered.pod_spec.get("initContainers", [])]
    mentions_gpu = any("nvidia.com/gpu" in r.get(part, {}) for r in all_resources for part in ("limits", "requests"))
    if values.name in GPU_VALUES:
        assert resources["limits"]["nvidia.com/gpu"] == 1
        assert rendered.server["image"].endswith("-cuda")
    else:
        assert not mentions_gpu
        assert rendered.server["image"].endswith("-cpu")
        assert "runtimeClassName" not in rendered.pod_spec
        assert not any(t.get("key") == "nvidia.com/gpu" for t in rendered.pod_spec.get("tolerations", []))


def test_gpu_mode_schedules_on_gpu_nodes() -> None:
    rendered = render("gpu-values.yaml")
    spec = rendered.pod_spec
    assert spec["runtimeClassName"] == "nvidia"
    assert spec["nodeSelector"] == {"kubernetes.io/arch": "amd64", "nvidia.com/gpu.present": "true"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in spec["tolerations"]
    terms = spec["affinity"]["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    assert terms[0]["preference"]["matchExpressions"][0]["key"] == "nvidia.com/gpu.product"
    # The pull init containers download files; they get no GPU.
    for init in spec["initContainers"]:
        assert "nvidia.com/gpu" not in init["resources"].get("limits", {})


def test_gpu_count_and_resource_name() -> None:
    rendered = render("gpu-values.yaml", sets={"gpu.count": "2", "gpu.resourceName": "nvidia.com/mig-1g.10gb"})
    limits = rendered.server["resources"]["limits"]
    assert limits["nvidia.com/mig-1g.10gb"] == 2
    assert "nvidia.com/gpu" not in limits


def test_image_digest_wins_over_tag() -> None:
    digest = "sha256:" + "a" * 64
    rendered = render("gpu-values.yaml", sets={"image.digest": digest, "image.tag": "ignored"})
    assert rendered.server["image"] == f"embedroute/embedroute@{digest}"
    assert {c["image"] for c in rendered.pod_spec["initContainers"]} == {rendered.server["image"]}
