"""Models come from an existing PVC or from pull init containers; the server mounts them read-only."""

from __future__ import annotations

from typing import Any

import pytest

from tests.deploy.chart import RenderError, render


def volume(pod_spec: dict[str, Any], name: str) -> dict[str, Any]:
    volumes = [v for v in pod_spec["volumes"] if v["name"] == name]
    assert len(volumes) == 1
    found: dict[str, Any] = volumes[0]
    return found


def test_existing_claim_mounted_read_only() -> None:
    rendered = render("cpu-values.yaml")
    assert volume(rendered.pod_spec, "models")["persistentVolumeClaim"] == {"claimName": "embedroute-models"}
    mount = next(m for m in rendered.server["volumeMounts"] if m["name"] == "models")
    assert mount == {"name": "models", "mountPath": "/models", "readOnly": True, "subPath": "gguf"}
    assert rendered.env["EMBEDROUTE_MODELS"] == "/models"
    assert "initContainers" not in rendered.pod_spec


def test_pull_init_containers_fill_an_empty_dir() -> None:
    rendered = render("gpu-values.yaml")
    assert volume(rendered.pod_spec, "models")["emptyDir"] == {"sizeLimit": "40Gi"}
    inits = rendered.pod_spec["initContainers"]
    assert [i["command"] for i in inits] == [
        ["embedroute", "pull", "Qwen/Qwen3-Embedding-0.6B-GGUF", "--models", "/models"],
        ["embedroute", "pull", "Qwen/Qwen3-Reranker-0.6B-GGUF", "--models", "/models"],
    ]
    for init in inits:
        assert init["env"] == [
            {"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "hub-token", "key": "token"}}}
        ]
        mount = next(m for m in init["volumeMounts"] if m["name"] == "models")
        assert "readOnly" not in mount
        assert init["securityContext"]["readOnlyRootFilesystem"] is True
        assert init["image"] == rendered.server["image"]
    server_mount = next(m for m in rendered.server["volumeMounts"] if m["name"] == "models")
    assert server_mount["readOnly"] is True


def test_no_model_source_fails_the_render() -> None:
    with pytest.raises(RenderError, match="models.existingClaim"):
        render(sets={"models.existingClaim": ""})
    with pytest.raises(RenderError, match="at least one entry in models.pull.repos"):
        render(sets={"models.existingClaim": "", "models.pull.enabled": "true"})
