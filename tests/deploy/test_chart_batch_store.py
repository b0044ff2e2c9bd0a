"""The chart's batch store: a volume for the embedded store, or a fleet's PostgreSQL whose URL (and
password) the server reads from a Secret - then no volume and no data_dir."""

from __future__ import annotations

from tests.deploy.chart import render


def test_the_embedded_store_is_a_volume_at_data_dir() -> None:
    rendered = render("secure-values.yaml")
    mount = next(m for m in rendered.server["volumeMounts"] if m["name"] == "batch")
    assert rendered.env["EMBEDROUTE_DATA_DIR"] == mount["mountPath"]
    assert "env" not in rendered.server or all(e["name"] != "EMBEDROUTE_JOBS_STORE" for e in rendered.server["env"])


def test_a_fleet_store_comes_from_a_secret_and_mounts_no_volume() -> None:
    rendered = render("secure-values.yaml", sets={"batch.jobsStore.existingSecret": "embedroute-jobs-db"})
    assert rendered.server["env"] == [{"name": "EMBEDROUTE_JOBS_STORE", "valueFrom": {
        "secretKeyRef": {"name": "embedroute-jobs-db", "key": "url"}}}]
    assert "EMBEDROUTE_DATA_DIR" not in rendered.env and "EMBEDROUTE_JOBS_STORE" not in rendered.env
    assert all(m["name"] != "batch" for m in rendered.server["volumeMounts"])
    assert all(v["name"] != "batch" for v in rendered.pod_spec["volumes"])
