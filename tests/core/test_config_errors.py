"""A setting that cannot work is one line on stderr naming it, exit code 2, no traceback: serve, route, pull.

Each case runs the real `embedroute` command in its own process, as an operator would.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SynthModels
from tests.hardening.test_security import issue

EMBEDROUTE = Path(sys.executable).parent / "embedroute"
OWN_PORTS = {"--port": "0", "--metrics-port": "0", "--http-port": "0"}
"""serve binds (or first probes) every port it is given: each one a case does not set itself is 0
(the OS's choice, or off), so a busy default port - the demo's server, left running - changes no answer."""


def run(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    own = [x for flag, value in OWN_PORTS.items() if argv[:1] == ("serve",) and flag not in argv for x in (flag, value)]
    return subprocess.run(
        [str(EMBEDROUTE), *argv, *own],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": "/tmp", **(env or {})},
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture(scope="module")
def folder(synth_models: SynthModels, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two quants of the embedding model: Q8_0 and F16."""
    target = tmp_path_factory.mktemp("config-errors")
    for quant in ("Q8_0", "F16"):
        source = synth_models.embedding[quant]
        (target / source.name).symlink_to(source)
    return target


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


SERVE_CASES = {
    "a grace that is not a number": (
        ["--drain-grace-seconds", "nan"],
        "embedroute serve: drain_grace_seconds (--drain-grace-seconds, EMBEDROUTE_DRAIN_GRACE_SECONDS): must be a "
        "finite number, got nan",
    ),
    "two fronts on one port": (
        ["--metrics-port", "7070", "--http-port", "7070"],
        "embedroute serve: http_port (--http-port, EMBEDROUTE_HTTP_PORT): 7070 is also metrics_port; each front "
        "needs its own port",
    ),
    "unknown model in a pin": (
        ["--pin", "nonexistent=Q8_0"],
        "embedroute serve: pins: pins name unknown models: nonexistent (models found: qwen3-embedding-tiny)",
    ),
    "absent quant": (
        ["--pin", "qwen3-embedding-tiny=IQ3_M"],
        "embedroute serve: pins.qwen3-embedding-tiny: pin IQ3_M: qwen3-embedding-tiny has no IQ3_M file "
        "(it has F16, Q8_0)",
    ),
    "a GPU pin without a GPU": (
        ["--pin", "qwen3-embedding-tiny=@gpu"],
        "embedroute serve: pins.qwen3-embedding-tiny: pin @gpu: no GPU that this llama.cpp build can use",
    ),
    "a pin with a bad device": (
        ["--pin", "qwen3-embedding-tiny=Q8_0@tpu"],
        "embedroute serve: pins: pin 'Q8_0@tpu': device must be cpu or gpu, not 'tpu'",
    ),
    "a context no model has": (
        ["--ctx", "10000000"], "embedroute serve: ctx (--ctx, EMBEDROUTE_CTX): must be at most 1048576, got 10000000"
    ),
    "negative context": (["--ctx", "-5"], "embedroute serve: ctx (--ctx, EMBEDROUTE_CTX): must be at least 0, got -5"),
    "port out of range": (
        ["--port", "70000"],
        "embedroute serve: port (--port, EMBEDROUTE_PORT): must be at most 65535, got 70000",
    ),
    "step not a multiple of 32": (
        ["--step-tokens", "33"],
        "embedroute serve: step_tokens (--step-tokens, EMBEDROUTE_STEP_TOKENS): must be a multiple of 32 (or 0), "
        "got 33",
    ),
    "stream window 0": (
        ["--stream-window", "0"],
        "embedroute serve: stream_window (--stream-window, EMBEDROUTE_STREAM_WINDOW): must be at least 1, got 0",
    ),
    "no queue": (
        ["--max-queued-requests", "0"],
        "embedroute serve: max_queued_requests (--max-queued-requests, EMBEDROUTE_MAX_QUEUED_REQUESTS): "
        "must be at least 1, got 0",
    ),
    "negative drain grace": (
        ["--drain-grace-seconds", "-1"],
        "embedroute serve: drain_grace_seconds (--drain-grace-seconds, EMBEDROUTE_DRAIN_GRACE_SECONDS): "
        "must be at least 0, got -1.0",
    ),
    "bad log level": (
        ["--log-level", "LOUD"],
        "embedroute serve: log_level (--log-level, EMBEDROUTE_LOG_LEVEL): 'LOUD' is not one of DEBUG, INFO, "
        "WARNING, ERROR, CRITICAL",
    ),
}


@pytest.mark.parametrize(("argv", "message"), SERVE_CASES.values(), ids=SERVE_CASES.keys())
def test_serve_refuses_a_setting_that_cannot_work(folder: Path, argv: list[str], message: str) -> None:
    result = run("serve", "--models", str(folder), "--port", "0", "--metrics-port", "0", *argv)
    assert one_line(result) == message


def test_serve_refuses_an_unreadable_config_file(tmp_path: Path) -> None:
    missing = tmp_path / "absent.yaml"
    line = one_line(run("serve", "--config", str(missing)))
    assert line.startswith(f"embedroute serve: config file {missing}: [Errno 2] No such file or directory")


def test_serve_refuses_a_models_folder_that_does_not_exist(tmp_path: Path) -> None:
    mistyped = tmp_path / "modles"
    line = one_line(run("serve", "--models", str(mistyped)))
    assert line == (
        f"embedroute serve: models: folder {mistyped} does not exist; fix the path, or create it empty to get the "
        "default model"
    )
    assert not mistyped.exists()  # nothing was created, let alone filled with the default model


def test_serve_refuses_a_bad_value_from_the_environment(folder: Path) -> None:
    result = run("serve", "--models", str(folder), env={"EMBEDROUTE_THREADS": "-2"})
    assert one_line(result) == "embedroute serve: threads (--threads, EMBEDROUTE_THREADS): must be at least 0, got -2"


def test_route_refuses_an_unknown_pin_and_a_negative_context(folder: Path) -> None:
    assert one_line(run("route", "--models", str(folder), "--pin", "nonexistent=Q8_0")) == (
        "embedroute route: pins: pins name unknown models: nonexistent (models found: qwen3-embedding-tiny)"
    )
    assert one_line(run("route", "--models", str(folder), "--ctx", "-5")) == "embedroute route: ctx: must be at least 0, got -5"


def test_pull_refuses_a_negative_context(tmp_path: Path) -> None:
    line = one_line(run("pull", "Qwen/Qwen3-Embedding-0.6B-GGUF", "--models", str(tmp_path), "--ctx", "-5"))
    assert line == "embedroute pull: ctx: must be at least 0, got -5"


def test_serve_refuses_a_port_in_use(folder: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for flag in ("--port", "--metrics-port"):
            other = "--metrics-port" if flag == "--port" else "--port"
            line = one_line(run("serve", "--models", str(folder), "--host", "127.0.0.1", flag, str(port), other, "0"))
            setting = flag.removeprefix("--").replace("-", "_")
            assert line == f"embedroute serve: {setting}: cannot listen on 127.0.0.1:{port}: Address already in use"


def test_serve_refuses_tls_files_that_cannot_work(folder: Path, tmp_path: Path) -> None:
    cert, key = issue("server")
    _, other_key = issue("another")
    (tmp_path / "cert.pem").write_bytes(cert)
    (tmp_path / "other.key").write_bytes(other_key)
    base = ["serve", "--models", str(folder), "--port", "0", "--metrics-port", "0"]
    missing = tmp_path / "absent.key"
    assert one_line(run(*base, "--tls-cert", str(tmp_path / "cert.pem"), "--tls-key", str(missing))) == (
        f"embedroute serve: tls_key: {missing} does not exist or cannot be read"
    )
    assert one_line(run(*base, "--tls-cert", str(tmp_path / "cert.pem"))) == (
        "embedroute serve: tls_key: TLS needs both tls_cert and tls_key"
    )
    line = one_line(run(*base, "--tls-cert", str(tmp_path / "cert.pem"), "--tls-key", str(tmp_path / "other.key")))
    assert line.startswith(f"embedroute serve: tls_key: {tmp_path / 'other.key'} is not the key of {tmp_path / 'cert.pem'} (")
