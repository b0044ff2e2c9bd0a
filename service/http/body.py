"""A request body read as a JSON object, and its values read with their JSON types checked.

Every dialect reads its body with these: a wrong JSON type is an InvalidArgumentError
naming the JSON parameter; a value of the right type is the application's to validate
(service.app.validation), so the rules and their messages are the gRPC API's.
"""

from __future__ import annotations

import json
from typing import Any, TypeGuard

from starlette.requests import Request

from service.core.errors import InvalidArgumentError
from service.http.errors import BodyTooLargeError

JsonObject = dict[str, Any]


async def json_object(request: Request, max_bytes: int) -> JsonObject:
    """The body as a JSON object; read in chunks and refused past `max_bytes`, unparsed."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise BodyTooLargeError(f"the body is {declared} bytes; at most {max_bytes}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise BodyTooLargeError(f"the body is over {max_bytes} bytes")
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidArgumentError(f"the body is not JSON: {exc}", reason="INVALID_JSON") from None
    if not isinstance(parsed, dict):
        raise InvalidArgumentError("the body must be a JSON object", reason="INVALID_JSON")
    return parsed


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


__all__ = [
    "JsonObject",
    "boolean",
    "end_truncation",
    "integer",
    "is_ids",
    "json_object",
    "opt_string",
    "string",
    "texts",
    "wrong",
]
