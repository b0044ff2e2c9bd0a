"""One `vectorSpace` value shared by the GPU and the CPU pool reaches both servers the same way."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.core.config import load_settings
from tests.deploy.chart import RenderError, render

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
