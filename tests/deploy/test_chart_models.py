"""Models come from an existing PVC or from pull init containers; the server mounts them read-only, and
writes its default model (empty volume) to a writable emptyDir listed first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.deploy.chart import CI_VALUES, RenderError, render


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
    assert rendered.env["EMBEDROUTE_MODELS"] == "/var/lib/embedroute/default-model:/models"
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


@pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.name)
def test_first_models_folder_is_writable(values: Path) -> None:
    """The server writes its default model into the first EMBEDROUTE_MODELS folder when no folder
    holds a GGUF. The first real run (an empty PVC) failed there: the only folder was the read-only
    models mount ("[Errno 30] Read-only file system: '/models/all-MiniLM-L6-v2-F32.gguf.part'"), and
    the server came up with no model. The first folder must be a writable emptyDir."""
    rendered = render(values)
    first = rendered.env["EMBEDROUTE_MODELS"].split(":")[0]
    mount = next(m for m in rendered.server["volumeMounts"] if m["mountPath"] == first)
    assert not mount.get("readOnly", False)
    assert "emptyDir" in volume(rendered.pod_spec, mount["name"])
    assert rendered.env["EMBEDROUTE_MODELS"].split(":")[-1] == "/models"


def test_default_model_folder_can_be_turned_off() -> None:
    rendered = render("cpu-values.yaml", sets={"models.defaultModel.enabled": "false"})
    assert rendered.env["EMBEDROUTE_MODELS"] == "/models"
    assert not [v for v in rendered.pod_spec["volumes"] if v["name"] == "default-model"]
