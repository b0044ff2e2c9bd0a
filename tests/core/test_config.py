"""Settings: flag > environment > YAML file > default, and the README table is generated from them."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from service.core.config import Settings, add_arguments, load_settings, markdown_table

README = Path(__file__).resolve().parents[2] / "README.md"


def flags(*argv: str) -> dict[str, object]:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return vars(parser.parse_args(list(argv)))


def test_precedence(tmp_path: Path) -> None:
    config = tmp_path / "embedroute.yaml"
    config.write_text("port: 1111\nthreads: 3\ndrain_grace_seconds: 7\nmodels: [/a, /b]\npins: {m: Q8_0@cpu}\n")
    env = {"EMBEDROUTE_CONFIG": str(config), "EMBEDROUTE_PORT": "2222", "EMBEDROUTE_THREADS": "4"}
    settings = load_settings(flags("--port", "3333"), env)
    assert settings.port == 3333  # flag beats env and file
    assert settings.threads == 4  # env beats file
    assert settings.drain_grace_seconds == 7.0  # file beats default
    assert settings.models == [Path("/a"), Path("/b")]
    assert settings.pins == {"m": "Q8_0@cpu"}
    assert settings.host == "0.0.0.0" and settings.grpc.max_connection_age_seconds == 300.0  # defaults
    assert settings.config == config


def test_repeated_flags_and_env_lists() -> None:
    settings = load_settings(flags("--models", "/x", "--models", "/y", "--pin", "a=Q8_0", "--pin", "b=@gpu"), {})
    assert settings.models == [Path("/x"), Path("/y")]
    assert settings.pins == {"a": "Q8_0", "b": "@gpu"}
    from_env = load_settings({}, {"EMBEDROUTE_MODELS": "/p:/q", "EMBEDROUTE_PINS": "a=Q4_K_M, b=F16@cpu"})
    assert from_env.models == [Path("/p"), Path("/q")]
    assert from_env.pins == {"a": "Q4_K_M", "b": "F16@cpu"}


def test_defaults_are_the_documented_ones() -> None:
    settings = load_settings({}, {})
    assert settings == Settings()
    assert (settings.host, settings.port, settings.models, settings.metrics_port) == (
        "0.0.0.0",
        50051,
        [Path("models")],
        9090,
    )
    assert (settings.drain_grace_seconds, settings.threads, settings.log_format) == (20.0, 0, "json")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"EMBEDROUTE_PORT": "fifty"}, "EMBEDROUTE_PORT"),
        ({"EMBEDROUTE_LOG_FORMAT": "xml"}, "json or text"),
        ({"EMBEDROUTE_PINS": "nonsense"}, "MODEL=QUANT"),
    ],
)
def test_bad_values_name_their_source(env: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_settings({}, env)


def test_unknown_yaml_key_is_an_error(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("prot: 1\n")
    with pytest.raises(ValueError, match="unknown setting 'prot'"):
        load_settings(flags("--config", str(config)), {})


def test_readme_table_is_current() -> None:
    assert markdown_table() in README.read_text(encoding="utf-8"), "run `python -m service.core.config` into README.md"
