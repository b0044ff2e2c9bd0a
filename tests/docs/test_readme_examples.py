"""Every example in the README works verbatim against the server `make demo` leaves running
(issue #33 item 12): each bash, sh and python block is run with the README's addresses
(127.0.0.1:50051, 127.0.0.1:8080) pointed at a server serving what the demo serves. A block that
cannot run here says why in an HTML comment just above it (`<!-- not run: REASON -->`)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.rpc.harness import RunningServer
from tests.rpc.test_grpcurl import grpcurl_binary, json_objects

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
GRPC_ADDRESS, HTTP_ADDRESS = "127.0.0.1:50051", "127.0.0.1:8080"
BLOCK = re.compile(r"(?:<!-- not run: (?P<why>[^>]*) -->\n)?```(?P<lang>\w*)\n(?P<body>.*?)```", re.S)


@dataclass(frozen=True)
class Example:
    line: int
    lang: str
    body: str
    skipped: str | None
    shown: str | None
    """The text block that follows it (what it prints), if any."""

    def __str__(self) -> str:
        return f"README.md:{self.line}"


def examples() -> list[Example]:
    text = README.read_text(encoding="utf-8")
    blocks = list(BLOCK.finditer(text))
    found = []
    for i, block in enumerate(blocks):
        if block["lang"] not in ("bash", "sh", "python"):
            continue
        after = blocks[i + 1] if i + 1 < len(blocks) else None
        shown = after["body"] if after is not None and after["lang"] == "text" else None
        found.append(Example(text[: block.start("lang")].count("\n") + 1, block["lang"], block["body"], block["why"], shown))
    return found


def run(example: Example, demo: RunningServer) -> subprocess.CompletedProcess[str]:
    http = demo.http_url.removeprefix("http://").rstrip("/")
    body = example.body.replace(GRPC_ADDRESS, demo.target).replace(HTTP_ADDRESS, http)
    paths = [str(Path(grpcurl_binary()).parent), str(Path(sys.executable).parent), os.environ.get("PATH", "")]
    env = {**os.environ, "PATH": os.pathsep.join(paths)}
    command = [sys.executable, "-c", body] if example.lang == "python" else ["bash", "-c", "set -eo pipefail\n" + body]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO, timeout=180, check=False)


def test_every_example_is_run_or_says_why_not() -> None:
    assert len(examples()) >= 15
    assert all(example.skipped.strip() for example in examples() if example.skipped is not None)


@pytest.mark.parametrize("example", [e for e in examples() if e.skipped is None], ids=str)
def test_readme_example_runs_against_the_demo(demo: RunningServer, example: Example) -> None:
    result = run(example, demo)
    said = result.stdout + result.stderr
    expected = re.search(r"# expect: (\w+)", example.body)
    if expected:
        assert result.returncode != 0, said
        assert f"Code: {expected.group(1)}" in said
        for description in re.findall(r'"description": "([^"]+)"', example.shown or ""):
            assert description in said
        return
    assert result.returncode == 0, said
    assert "Traceback" not in said
    if re.search(r"embedroute\.v1\.\w+/(Embed|EmbedStream|Rerank|RerankStream|Tokenize)\b", example.body):
        responses = json_objects(result.stdout)
        assert responses and all(int(r["usage"]["prompt_tokens"]) > 0 for r in responses)
    if "curl -s" in example.body:
        assert result.stdout.strip().startswith(("{", "[")), said
        assert '"error"' not in result.stdout and '"message"' not in result.stdout, said
