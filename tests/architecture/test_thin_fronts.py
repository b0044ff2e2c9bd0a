"""The fronts only translate: no front reaches the engine or repeats a decision the application makes.

Each rule reads the fronts' syntax trees (service/rpc, service/http; generated code aside)
for the shape a moved decision had, and is itself checked on a planted snippet, so that a
rule that can no longer match fails here too.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FRONTS = [REPO / "service" / "rpc", REPO / "service" / "http"]

Rule = Callable[[ast.AST], Iterator[str]]


def _front_files() -> list[Path]:
    return sorted(p for front in FRONTS for p in front.rglob("*.py") if "generated" not in p.parts)


def _imported(tree: ast.AST) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def engine_import(tree: ast.AST) -> Iterator[str]:
    """The engine, the scheduler and llama.cpp are the application's to call."""
    for name in _imported(tree):
        if name.split(".")[0] == "llama_cpp" or name.startswith(("service.engine", "service.scheduler")):
            yield f"imports {name}"


def unnamed_model_default(tree: ast.AST) -> Iterator[str]:
    """Which model a call naming none means: the call says `unnamed=...`, the application picks."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "primary_model":
            yield "calls primary_model()"


def shown_model(tree: ast.AST) -> Iterator[str]:
    """The model a front describes is `ServedModel.shown` / `.description` / `.context_length`."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) and node.value.attr == "candidates":
            if isinstance(node.slice, ast.Constant) and node.slice.value == 0:
                yield "picks candidates[0]"
        if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):
            if any(isinstance(v, ast.Attribute) and v.attr == "chosen" for v in node.values):
                yield "writes `chosen or ...`"
        if isinstance(node, ast.Attribute) and node.attr == "worker":
            yield "reads a served model's worker"


def server_info(tree: ast.AST) -> Iterator[str]:
    """The server's version and Info come from Application.info() / .version, built once."""
    for name in _imported(tree):
        if name.startswith("importlib.metadata") or name == "importlib":
            yield f"imports {name}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("embedroute-0"):
            yield f"hard-codes the version {node.value!r}"


def stream_results(tree: ast.AST) -> Iterator[str]:
    """Ordering a stream's results and merging rerank chunks are the application's (ordered=, rerank_merged)."""
    for name in _imported(tree):
        if name.startswith(("service.app.ranking", "service.app.streams")):
            yield f"imports {name}"


def token_id_inputs(tree: ast.AST) -> Iterator[str]:
    """Token-id inputs travel in the EmbedCall; the application decodes them before embedding."""
    for function in ast.walk(tree):
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            called = {
                node.func.attr
                for node in ast.walk(function)
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            }
            if {"decode", "embed"} <= called:
                yield f"{function.name} decodes and embeds"


def request_ids(tree: ast.AST) -> Iterator[str]:
    """The request-id header and its validation are written once, in service.core.logs."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.lower() == "x-request-id":
            yield "names the request-id header"
        if isinstance(node, ast.Attribute) and node.attr == "uuid4":
            yield "makes up request ids"


RULES: dict[str, Rule] = {
    "engine import": engine_import,
    "unnamed-model default": unnamed_model_default,
    "shown model": shown_model,
    "server info": server_info,
    "stream results": stream_results,
    "token-id inputs": token_id_inputs,
    "request ids": request_ids,
}

PLANTED = {
    "engine import": "from service.engine import load_model",
    "unnamed-model default": "model = app.primary_model().model_id",
    "shown model": "d = (served.chosen or served.plan.candidates[0]).description",
    "server info": 'VERSION = "embedroute-0.1.0"',
    "stream results": "from service.app.ranking import best_first",
    "token-id inputs": "async def f(app, c, d):\n    await app.decode(d)\n    await app.embed(c)",
    "request ids": 'rid = headers.get("x-request-id") or uuid.uuid4().hex',
}


@pytest.mark.parametrize("rule", list(RULES))
def test_no_front_repeats_an_application_decision(rule: str) -> None:
    found = [
        f"{path.relative_to(REPO)}: {what}"
        for path in _front_files()
        for what in RULES[rule](ast.parse(path.read_text(), str(path)))
    ]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("rule", list(RULES))
def test_each_rule_catches_its_planted_decision(rule: str) -> None:
    assert list(RULES[rule](ast.parse(PLANTED[rule])))


def test_the_rules_read_every_front() -> None:
    files = {p.relative_to(REPO).as_posix() for p in _front_files()}
    assert {"service/http/ollama/routes.py", "service/http/openai/routes.py", "service/rpc/tei/servicers.py"} <= files
