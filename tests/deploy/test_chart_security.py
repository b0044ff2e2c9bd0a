"""Pods run non-root on a read-only root filesystem; TLS and API keys reach the server as files."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.deploy.chart import CI_VALUES, RenderError, render


@pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.name)
def test_locked_down_containers(values: Path) -> None:
    rendered = render(values)
    pod = rendered.pod_spec
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    for container in pod["containers"] + pod.get("initContainers", []):
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"] == {"drop": ["ALL"]}
        tmp = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
        assert tmp == [{"name": "tmp", "mountPath": "/tmp"}]
    tmp_volume = next(v for v in pod["volumes"] if v["name"] == "tmp")
    assert tmp_volume == {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}}


def test_tls_and_api_key_files() -> None:
    rendered = render("secure-values.yaml")
    env = rendered.env
    mounts = {m["name"]: m for m in rendered.server["volumeMounts"]}
    volumes = {v["name"]: v for v in rendered.pod_spec["volumes"]}

    assert env["EMBEDROUTE_API_KEYS_FILE"] == "/etc/embedroute/api-keys/api-keys"
    assert mounts["api-keys"] == {"name": "api-keys", "mountPath": "/etc/embedroute/api-keys", "readOnly": True}
    assert volumes["api-keys"]["secret"] == {
        "secretName": "embedroute-api-keys",
        "defaultMode": 0o440,
        "items": [{"key": "api-keys", "path": "api-keys"}],
    }

    assert (env["EMBEDROUTE_TLS_CERT"], env["EMBEDROUTE_TLS_KEY"]) == (
        "/etc/embedroute/tls/tls.crt",
        "/etc/embedroute/tls/tls.key",
    )
    assert mounts["tls"]["mountPath"] == "/etc/embedroute/tls" and mounts["tls"]["readOnly"] is True
    assert volumes["tls"]["secret"]["secretName"] == "embedroute-tls"
    assert [i["path"] for i in volumes["tls"]["secret"]["items"]] == ["tls.crt", "tls.key"]

    assert env["EMBEDROUTE_TLS_CLIENT_CA"] == "/etc/embedroute/client-ca/ca.crt"
    assert mounts["client-ca"]["mountPath"] == "/etc/embedroute/client-ca"
    assert volumes["client-ca"]["secret"]["secretName"] == "embedroute-client-ca"
    assert volumes["client-ca"]["secret"]["items"] == [{"key": "ca.crt", "path": "ca.crt"}]


def test_no_secrets_mounted_by_default() -> None:
    rendered = render("cpu-values.yaml")
    assert not [k for k in rendered.env if k.startswith(("EMBEDROUTE_TLS", "EMBEDROUTE_API_KEYS"))]
    assert {m["name"] for m in rendered.server["volumeMounts"]} == {"models", "tmp", "default-model", "config"}


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        ({"tls.enabled": "true"}, "tls.existingSecret"),
        ({"apiKeys.enabled": "true"}, "apiKeys.existingSecret"),
        ({"tls.clientCA.enabled": "true"}, "tls.clientCA.enabled needs tls.enabled"),
    ],
)
def test_incomplete_secret_settings_fail(sets: dict[str, str], message: str) -> None:
    with pytest.raises(RenderError, match=message):
        render(sets=sets)
