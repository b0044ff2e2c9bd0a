"""A request body read as a JSON object, and its values read with their JSON types checked.

Every dialect reads its body with these: a wrong JSON type is an InvalidArgumentError
naming the JSON parameter; a value of the right type is the application's to validate
(service.app.validation), so the rules and their messages are the gRPC API's.
"""

from __future__ import annotations

import asyncio
import json
import json.scanner
import re
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeGuard

from starlette.requests import Request

from service.core.errors import InvalidArgumentError, clip
from service.core.values import CHUNKING_MODES, Chunking
from service.http.errors import BodyTooLargeError

JsonObject = dict[str, Any]


OFF_LOOP_BYTES = 256 * 1024
"""Bodies larger than this are parsed on a parser thread, in steps that each hold the GIL briefly.
The C parser holds the GIL from start to end (2.9 s for 60 MB of `{}`s, 1.8 s for 30M numbers),
and the loop it would stall serves gRPC's health checks too; below this size its worst case is a
few milliseconds, so small bodies are parsed at once."""

_PARSERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="http-json")
"""Large bodies' parses, apart from the loop's default pool (Tokenize's): a flood of them waits
here instead of taking every thread, and never more than two share the GIL with the loop."""

_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
"""A JSON escape of a UTF-16 surrogate: only then can a parsed string hold a lone surrogate."""

RUN_CHARS = 65536
"""Characters of array elements handed to the C parser at once: about a millisecond of GIL."""
RETRIES = 3
"""Earlier commas tried when a cut fell inside an element, before the window is walked."""
_C = json.JSONDecoder()
_WHITESPACE = re.compile(r"[ \t\n\r]*")


def _array(s_and_end: tuple[str, int], scan_once: Callable[[str, int], tuple[Any, int]]) -> tuple[list[Any], int]:
    """json.decoder.JSONArray, but the elements up to the last comma of the next RUN_CHARS characters
    go to the C parser at once: near C's speed on long lists, and the GIL changes hands between runs.

    A cut inside a string or a nested container leaves it unclosed, so the C parser accepts a run only
    when the cut fell between this array's elements (or after the array's end, which it reports). When
    no cut parses, the window's elements are walked one at a time (a nested container recursing here),
    so no input costs much more than that walk, in steps the loop can interleave."""
    s, end = s_and_end
    end = _WHITESPACE.match(s, end).end()  # type: ignore[union-attr]
    values: list[Any] = []
    if s[end:end + 1] == "]":
        return values, end + 1
    walk_until = end
    while True:
        if end >= walk_until:
            taken = _run(s, end)
            if taken is None:
                walk_until = min(len(s), end + RUN_CHARS)
            else:
                run, end, closed = taken
                values.extend(run)
                if closed:
                    return values, end
                continue
        try:
            value, end = scan_once(s, end)
        except StopIteration as err:
            raise json.JSONDecodeError("Expecting value", s, err.value) from None
        values.append(value)
        end = _WHITESPACE.match(s, end).end()  # type: ignore[union-attr]
        delimiter = s[end:end + 1]
        end += 1
        if delimiter == "]":
            return values, end
        if delimiter != ",":
            raise json.JSONDecodeError("Expecting ',' delimiter", s, end - 1)
        end = _WHITESPACE.match(s, end).end()  # type: ignore[union-attr]


def _run(s: str, end: int) -> tuple[list[Any], int, bool] | None:
    """The elements from `end` up to one of the last RETRIES commas of the next RUN_CHARS characters,
    the index after them, and whether the array closed there; None when no cut parsed."""
    comma = min(len(s), end + RUN_CHARS)
    for _ in range(RETRIES):
        comma = s.rfind(",", end, comma)
        if comma <= end:
            return None
        piece = "[" + s[end:comma] + "]"
        try:
            run, used = _C.raw_decode(piece)
        except json.JSONDecodeError:
            continue
        if used < len(piece):  # the array's own "]" came first: it ends inside the run
            return run, end + used - 1, True
        return run, _WHITESPACE.match(s, comma + 1).end(), False  # type: ignore[union-attr]
    return None


def _stepwise_decoder() -> json.JSONDecoder:
    """A decoder whose containers are walked in Python (strings and runs of elements still in C)."""
    decoder = json.JSONDecoder()
    decoder.parse_array = _array  # type: ignore[attr-defined]
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]
    return decoder


async def json_object(request: Request, max_bytes: int) -> JsonObject:
    """The body as a JSON object; read in chunks and refused past `max_bytes`, unparsed.

    What only a careless or hostile client sends is its fault, a 400: invalid JSON, nesting deep
    enough to exhaust the parser's recursion, and lone surrogates (which no UTF-8 text can carry,
    and the tokenizer could not encode)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise BodyTooLargeError(f"the body is {clip(declared)} bytes; at most {max_bytes}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise BodyTooLargeError(f"the body is over {max_bytes} bytes")
    if len(body) > OFF_LOOP_BYTES:
        return await asyncio.get_running_loop().run_in_executor(_PARSERS, _parse, bytes(body), _stepwise_decoder())
    return _parse(bytes(body), _DECODER)


def _parse(body: bytes, decoder: json.JSONDecoder) -> JsonObject:
    try:
        parsed = decoder.decode(body.decode(json.detect_encoding(body)))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidArgumentError(f"the body is not JSON: {clip(str(exc))}", reason="INVALID_JSON") from None
    except RecursionError:
        raise InvalidArgumentError("the body is nested too deeply", reason="INVALID_JSON") from None
    if not isinstance(parsed, dict):
        raise InvalidArgumentError("the body must be a JSON object", reason="INVALID_JSON")
    if _SURROGATE_ESCAPE.search(body):
        _check_unicode(parsed)
    return parsed


_DECODER = json.JSONDecoder()


def _check_unicode(value: Any) -> None:
    """Every string and key of the parsed body encodes as UTF-8, else a 400 (walked without recursion)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise InvalidArgumentError(
                    "the body has a string with a lone surrogate (e.g. \\ud800 unpaired): not valid Unicode",
                    reason="INVALID_JSON",
                ) from None


def wrong(param: str, expected: str) -> InvalidArgumentError:
    return InvalidArgumentError.for_field(param, f"{param} must be {expected}")


def string(body: JsonObject, param: str, default: str = "") -> str:
    value = body.get(param)
    if value is None:
        return default
    if not isinstance(value, str):
        raise wrong(param, "a string")
    return value


def opt_string(body: JsonObject, param: str) -> str | None:
    return string(body, param) or None


def boolean(body: JsonObject, param: str, default: bool) -> bool:
    value = body.get(param)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise wrong(param, "true or false")
    return value


def integer(body: JsonObject, param: str) -> int | None:
    value = body.get(param)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise wrong(param, "an integer")
    return value


def page_limit(query: Mapping[str, str]) -> int | None:
    """A list route's `limit` query parameter; None when it is not given (the list's default)."""
    limit = query.get("limit")
    if limit is not None and not limit.isdigit():
        raise InvalidArgumentError.for_field("limit", "limit must be a whole number")
    return None if limit is None else int(limit)


def is_ids(value: Any) -> TypeGuard[list[int]]:
    return isinstance(value, list) and bool(value) and all(isinstance(t, int) and not isinstance(t, bool) for t in value)


def texts(body: JsonObject, param: str) -> tuple[list[str], bool]:
    """A string or a list of strings; True when it was one string."""
    value = body.get(param)
    if isinstance(value, str):
        return [value], True
    if isinstance(value, list) and all(isinstance(t, str) for t in value):
        return list(value), False
    raise wrong(param, "a string or a list of strings")


def end_truncation(body: JsonObject) -> bool:
    """NIM's `truncate` NONE / END, or true / false (START is refused: the template comes first, so
    only the end of the text is cut). OpenAI's (as NIM extends it) and Cohere's rerank read it."""
    value = body.get("truncate")
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str) and value.upper() in ("NONE", "END"):
        return value.upper() == "END"
    raise InvalidArgumentError.for_field("truncate", "truncate must be NONE or END (or true/false); START is not supported")


def hybrid_weights(body: JsonObject) -> tuple[float, float, float] | None:
    """Our `hybrid_weights: {dense, sparse, colbert}` extension (with `scoring: "hybrid"`); a weight
    left out is 0. Cohere's and TEI's rerank read it."""
    value = body.get("hybrid_weights")
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - {"dense", "sparse", "colbert"}:
        raise wrong("hybrid_weights", "an object of numbers: dense, sparse and colbert")
    weights = []
    for kind in ("dense", "sparse", "colbert"):
        weight = value.get(kind, 0.0)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)):
            raise wrong(f"hybrid_weights.{kind}", "a number")
        weights.append(float(weight))
    return weights[0], weights[1], weights[2]


def chunking(body: JsonObject) -> Chunking:
    """Our `chunking` extension field: a mode (`none`, `mean`, `chunks`), or an object with `mode`,
    `size` and `overlap` in tokens. OpenAI's and TEI's embedding routes read it."""
    value = body.get("chunking")
    if value is None:
        return Chunking()
    if isinstance(value, str):
        value = {"mode": value}
    if not isinstance(value, dict) or set(value) - {"mode", "size", "overlap"}:
        raise wrong("chunking", 'a mode ("none", "mean", "chunks") or an object with mode, size and overlap')
    mode = value.get("mode", "none")
    if mode not in CHUNKING_MODES:
        raise InvalidArgumentError.for_field("chunking.mode", f"unknown chunking mode {clip(repr(mode))}; use none, mean or chunks")
    numbers = []
    for name in ("size", "overlap"):
        number = value.get(name, 0)
        if isinstance(number, bool) or not isinstance(number, int) or number < 0:
            raise wrong(f"chunking.{name}", "an integer of at least 0 (tokens)")
        numbers.append(number)
    return Chunking(mode, *numbers)


__all__ = [
    "OFF_LOOP_BYTES",
    "JsonObject",
    "boolean",
    "chunking",
    "end_truncation",
    "integer",
    "is_ids",
    "json_object",
    "opt_string",
    "string",
    "texts",
    "wrong",
]
