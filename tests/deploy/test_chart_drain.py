"""Shutdown timings agree: preStop sleep + the server's drain grace + margin fit the grace period,
and a mesh proxy outlives the drain."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.deploy.chart import CI_VALUES, RenderError, render


def timings(values: Path | str, sets: dict[str, str] | None = None) -> tuple[int, int, int]:
    """(preStop sleep, server drain grace, terminationGracePeriodSeconds) as rendered."""
    rendered = render(values, sets=sets)
    command = rendered.server["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep"
    drain = int(rendered.env["EMBEDROUTE_DRAIN_GRACE_SECONDS"])
    return int(command[1]), drain, rendered.pod_spec["terminationGracePeriodSeconds"]


@pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.name)
def test_grace_period_covers_prestop_and_drain(values: Path) -> None:
    pre_stop, drain, grace = timings(values)
    assert grace >= pre_stop + drain + 5


def test_computed_grace_period() -> None:
    assert timings("cpu-values.yaml") == (5, 20, 30)
    assert timings("linkerd-values.yaml") == (5, 30, 40)


def test_explicit_grace_period_is_kept_when_long_enough() -> None:
    assert timings("istio-values.yaml") == (10, 45, 90)
    assert timings("istio-values.yaml", {"termination.gracePeriodSeconds": "60"}) == (10, 45, 60)


def test_too_short_grace_period_fails_the_render() -> None:
    with pytest.raises(RenderError, match=r"gracePeriodSeconds=59 is shorter than .* = 60"):
        render("istio-values.yaml", sets={"termination.gracePeriodSeconds": "59"})


def test_liveness_outlasts_the_drain() -> None:
    # Health turns NOT_SERVING at SIGTERM; liveness must not kill the pod before the drain ends.
    with pytest.raises(RenderError, match="probes.liveness"):
        render(sets={"server.drainGraceSeconds": "120"})
    liveness = render("istio-values.yaml").server["livenessProbe"]
    assert liveness["periodSeconds"] * liveness["failureThreshold"] >= 10 + 45


def test_max_connection_age_reaches_the_server() -> None:
    assert render("cpu-values.yaml").env["EMBEDROUTE_MAX_CONNECTION_AGE_SECONDS"] == "300"
    assert render("scale-values.yaml").env["EMBEDROUTE_MAX_CONNECTION_AGE_SECONDS"] == "120"


def test_istio_proxy_drains_with_the_server() -> None:
    rendered = render("istio-values.yaml")
    template = rendered.deployment["spec"]["template"]
    assert template["metadata"]["labels"]["sidecar.istio.io/inject"] == "true"
    proxy = json.loads(template["metadata"]["annotations"]["proxy.istio.io/config"])
    assert proxy == {"holdApplicationUntilProxyStarts": True, "terminationDrainDuration": "55s"}
    assert template["metadata"]["annotations"]["prometheus.istio.io/merge-metrics"] == "false"
    grace = template["spec"]["terminationGracePeriodSeconds"]
    assert int(proxy["terminationDrainDuration"].rstrip("s")) < grace


def test_linkerd_proxy_waits_for_the_drain() -> None:
    annotations = render("linkerd-values.yaml").deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["linkerd.io/inject"] == "enabled"
    assert annotations["config.linkerd.io/proxy-await"] == "enabled"
    assert annotations["config.alpha.linkerd.io/proxy-wait-before-exit-seconds"] == "35"


def test_no_mesh_annotations_without_a_mesh() -> None:
    template = render("cpu-values.yaml").deployment["spec"]["template"]["metadata"]
    assert not [k for k in template["annotations"] if "istio" in k or "linkerd" in k]
    assert "sidecar.istio.io/inject" not in template["labels"]
