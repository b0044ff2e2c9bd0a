"""No test and no check script binds a fixed port (issue 33, item 10): the demo's server, left running
as the README says, holds 8080 and 50051, and a suite started beside it failed on the default HTTP
port. Every `embedroute serve` a test or scripts/check-clients.sh starts on a host names each of its
ports (0: the OS's choice, or off); in-process servers get theirs from tests.rpc.harness.server_settings."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from service.core.config import Settings

REPO = Path(__file__).resolve().parents[2]
PORT_FLAGS = ("--port", "--http-port", "--metrics-port")


def _serve_commands(tree: ast.AST) -> list[ast.List]:
    """Argument lists that start a server: `serve` with a `--host` to listen on."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.List):
            words = {e.value for e in node.elts if isinstance(e, ast.Constant)}
            if {"serve", "--host"} <= words:
                found.append(node)
    return found


def test_servers_started_by_tests_name_every_port() -> None:
    missing = []
    commands = 0
    for path in sorted((REPO / "tests").rglob("*.py")):
        for node in _serve_commands(ast.parse(path.read_text(encoding="utf-8"))):
            commands += 1
            words = {e.value for e in node.elts if isinstance(e, ast.Constant)}
            missing += [f"{path.relative_to(REPO)}:{node.lineno} {flag}" for flag in PORT_FLAGS if flag not in words]
    assert commands >= 4  # the subprocess tests are found at all
    assert not missing, missing


def test_check_clients_names_every_port() -> None:
    script = (REPO / "scripts" / "check-clients.sh").read_text(encoding="utf-8").replace("\\\n", " ")
    commands = [line for line in script.splitlines() if re.search(r'"\$embedroute" serve ', line)]
    assert len(commands) == 2  # the synth models' server and the tiny BGE-M3's
    for command in commands:
        assert all(f"{flag} " in command for flag in PORT_FLAGS), command


def test_in_process_servers_default_to_no_fixed_port() -> None:
    from tests.rpc.harness import server_settings

    settings = server_settings(REPO / "models")
    assert (settings.port, settings.metrics_port, settings.http_port) == (0, 0, 0)
    assert Settings().http_port != 0  # the defaults themselves are the demo's: tests must not inherit them
