"""The pooling override, consistency pins and the id switch: flag, environment, YAML, and their errors."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from service.core.config import add_arguments, load_settings
from router.errors import ConfigError
from tests.conftest import SynthModels
from tests.core.test_config_errors import one_line, run


def flags(*argv: str) -> dict[str, object]:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return vars(parser.parse_args(list(argv)))


def test_flags_env_and_yaml(tmp_path: Path) -> None:
    from_flags = load_settings(
        flags("--pooling", "a=last", "--pooling", "b=cls", "--consistent", "a=Q8_0", "--vector-space-ids", "false"), {}
    )
    assert (from_flags.pooling, from_flags.consistent, from_flags.vector_space_ids) == (
        {"a": "last", "b": "cls"}, {"a": "Q8_0"}, False,
    )
    env = {"EMBEDROUTE_POOLING": "a=mean", "EMBEDROUTE_CONSISTENT": "a=F16,b=Q4_K_M"}
    from_env = load_settings({}, env)
    assert (from_env.pooling, from_env.consistent, from_env.vector_space_ids) == (
        {"a": "mean"}, {"a": "F16", "b": "Q4_K_M"}, True,
    )
    config = tmp_path / "embedroute.yaml"
    config.write_text("pooling: {a: last}\nconsistent: {a: Q8_0}\nvector_space_ids: false\n")
    from_file = load_settings(flags("--config", str(config)), {})
    assert (from_file.pooling, from_file.consistent, from_file.vector_space_ids) == ({"a": "last"}, {"a": "Q8_0"}, False)


def test_bad_values_are_one_line_exit_2(synth_models: SynthModels, tmp_path: Path) -> None:
    (tmp_path / synth_models.embedding["Q8_0"].name).symlink_to(synth_models.embedding["Q8_0"])
    cases = {
        ("--pooling", "qwen3-embedding-tiny=max"): "embedroute serve: --pooling: pooling for qwen3-embedding-tiny must be "
        "one of last, mean, cls, not 'max'",
        ("--pooling", "nonexistent=last"): "embedroute serve: pooling: pooling names unknown models: nonexistent "
        "(models found: qwen3-embedding-tiny)",
        ("--consistent", "qwen3-embedding-tiny=Q8_0@cpu"): "embedroute serve: consistent: consistent 'Q8_0@cpu': "
        "expected a quant (e.g. Q8_0), no device",
        ("--consistent", "qwen3-embedding-tiny=IQ3_M"): "embedroute serve: pins.qwen3-embedding-tiny: pin IQ3_M: "
        "qwen3-embedding-tiny has no IQ3_M file (it has Q8_0)",
    }
    for argv, expected in cases.items():
        assert one_line(run("serve", "--models", str(tmp_path), "--port", "0", *argv)) == expected


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--pooling", "m"), "--pooling: pooling must be MODEL=last|mean|cls, not 'm'"),
        (("--consistent", "=Q8_0"), "--consistent: consistent must be MODEL=QUANT, not '=Q8_0'"),
    ],
)
def test_malformed_pairs(argv: tuple[str, ...], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(flags(*argv), {})
    assert str(caught.value) == message
