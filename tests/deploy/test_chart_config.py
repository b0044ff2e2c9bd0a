"""The chart's ConfigMaps are read by the server's real settings loader and mean what the values say."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.core.config import Settings, env_name, load_settings, setting_names
from tests.deploy.chart import CHART, CI_VALUES, render

ALL_FEATURES = ("cpu-values.yaml", "secure-values.yaml")


def settings_from(values: tuple[str, ...], tmp_path: Path) -> Settings:
    """What `embedroute serve` would load inside the pod: the env ConfigMap, plus the config file."""
    rendered = render(*values)
    environ = dict(rendered.env)
    if "EMBEDROUTE_CONFIG" in environ:
        config = rendered.one("ConfigMap", "er-embedroute-config")["data"]["config.yaml"]
        path = tmp_path / "config.yaml"
        path.write_text(config)
        environ["EMBEDROUTE_CONFIG"] = str(path)
    return load_settings({}, environ)


@pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.name)
def test_every_variable_is_a_server_setting(values: Path) -> None:
    known = {env_name(name) for name in setting_names()}
    assert set(render(values).env) <= known


def test_settings_loaded_from_the_chart(tmp_path: Path) -> None:
    settings = settings_from(ALL_FEATURES, tmp_path)
    assert settings.host == "0.0.0.0"
    assert settings.port == 50051
    assert settings.metrics_port == 9090
    # The default model's writable folder first (the models mount is read-only), then the volume.
    assert settings.models == [Path("/var/lib/embedroute/default-model"), Path("/models")]
    assert settings.threads == 0
    assert settings.log_format == "text"
    assert settings.drain_grace_seconds == 20.0
    assert settings.grpc.max_connection_age_seconds == 300.0
    assert settings.pins == {"qwen3-embedding-0.6b": "Q8_0@cpu"}
    assert settings.ctx == 2048
    assert (settings.step_tokens, settings.max_queued_requests, settings.log_level) == (128, 256, "INFO")
    assert settings.api_keys_file == Path("/etc/embedroute/api-keys/api-keys")
    assert settings.tls_cert == Path("/etc/embedroute/tls/tls.crt")
    assert settings.tls_key == Path("/etc/embedroute/tls/tls.key")
    assert settings.tls_client_ca == Path("/etc/embedroute/client-ca/ca.crt")


def test_drain_values_reach_the_server(tmp_path: Path) -> None:
    settings = settings_from(("istio-values.yaml",), tmp_path)
    assert (settings.drain_grace_seconds, settings.grpc.max_connection_age_seconds) == (45.0, 300.0)
    assert settings.config is None


def test_config_file_mounted_where_the_variable_points() -> None:
    rendered = render("cpu-values.yaml")
    mount = next(m for m in rendered.server["volumeMounts"] if m["name"] == "config")
    assert rendered.env["EMBEDROUTE_CONFIG"] == mount["mountPath"] + "/config.yaml"
    volume = next(v for v in rendered.pod_spec["volumes"] if v["name"] == "config")
    assert volume["configMap"]["name"] == "er-embedroute-config"
    # A config change rolls the pods.
    checksum = rendered.deployment["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
    changed = render("cpu-values.yaml", sets={"server.config.step_tokens": "256"})
    assert changed.deployment["spec"]["template"]["metadata"]["annotations"]["checksum/config"] != checksum


NEVER_PLAIN = {"api_keys", "jobs_store"}
"""Settings the chart never passes as plain values: API keys come only from the mounted Secret
(api_keys_file), the jobs' PostgreSQL URL (its password) only from a Secret (batch.jobsStore), never
from a ConfigMap or values file."""


def test_schema_and_chart_cover_every_setting_once() -> None:
    """The settings the chart sets itself, plus those values.schema.json lets through server.config,
    are exactly the server's settings (less NEVER_PLAIN): a new setting must be added to one of the two."""
    schema = json.loads((CHART / "values.schema.json").read_text())
    server = schema["properties"]["server"]["properties"]
    open_settings = set(server["config"]["propertyNames"]["enum"])
    assert set(server["extraEnv"]["propertyNames"]["enum"]) == {env_name(n) for n in open_settings}
    # Every optional variable on (TLS, client CA, API keys, pins, vector space, config file), no extraEnv.
    every = {"server.pins.m": "Q8_0", "server.config.log_level": "INFO"}
    every |= {"vectorSpace.consistent.c": "Q8_0", "vectorSpace.pooling.p": "last"}
    managed = set(render("secure-values.yaml", sets=every).env)
    fields = set(setting_names())
    assert managed.isdisjoint({env_name(n) for n in open_settings})
    assert {n for n in fields if env_name(n) in managed} | open_settings == fields - NEVER_PLAIN
    assert NEVER_PLAIN.isdisjoint(open_settings) and not {env_name(n) for n in NEVER_PLAIN} & managed
