"""grpcurl, a real client no one here wrote, drives every RPC by reflection alone.

The README's grpcurl examples call every RPC; tests/docs runs them (and the README's other
examples) against the server the demo runs, so the documentation cannot drift from the API.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any


from service.rpc.generated.embedroute.v1 import embed_pb2, model_pb2, rerank_pb2, tokenize_pb2
from tests.rpc.harness import RunningServer

README = Path(__file__).resolve().parents[2] / "README.md"
INSTALL = "go install github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.9.3"


def grpcurl_binary() -> str:
    found = shutil.which("grpcurl")
    if found:
        return found
    gopath = subprocess.run(["go", "env", "GOPATH"], capture_output=True, text=True, check=False).stdout.strip()
    candidate = Path(gopath or Path.home() / "go") / "bin" / "grpcurl"
    assert candidate.exists(), f"grpcurl is not installed: {INSTALL}"
    return str(candidate)


def all_methods() -> set[str]:
    return {
        f"{service.full_name}/{method.name}"
        for module in (embed_pb2, rerank_pb2, tokenize_pb2, model_pb2)
        for service in module.DESCRIPTOR.services_by_name.values()
        for method in service.methods
    }


def readme_blocks() -> list[str]:
    return [b for b in re.findall(r"```bash\n(.*?)```", README.read_text(encoding="utf-8"), re.S) if "grpcurl" in b]


def json_objects(text: str) -> list[dict[str, Any]]:
    decoder, objects, at = json.JSONDecoder(), [], 0
    while (at := _skip_space(text, at)) < len(text):
        obj, at = decoder.raw_decode(text, at)
        objects.append(obj)
    return objects


def _skip_space(text: str, at: int) -> int:
    while at < len(text) and text[at].isspace():
        at += 1
    return at


def test_list_and_describe_by_reflection(served: RunningServer) -> None:
    grpcurl = grpcurl_binary()
    listed = subprocess.run([grpcurl, "-plaintext", served.target, "list"], capture_output=True, text=True, check=True)
    services = set(listed.stdout.split())
    assert {m.split("/")[0] for m in all_methods()} <= services
    assert "grpc.health.v1.Health" in services
    for method in sorted(all_methods()):
        symbol = method.replace("/", ".")
        described = subprocess.run(
            [grpcurl, "-plaintext", served.target, "describe", symbol], capture_output=True, text=True, check=True
        )
        assert f"rpc {method.split('/')[1]} (" in described.stdout


def test_readme_examples_cover_every_rpc() -> None:
    called = {m for block in readme_blocks() for m in re.findall(r"(embedroute\.v1\.\w+/\w+)", block)}
    assert called == all_methods()
