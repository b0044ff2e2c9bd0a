"""The core's field names as an HTTP API's JSON spells them: how a dialect's table is read.

Validation names fields as the core does (`inputs[3]`, `documents[0]`, `dimensions`);
an HTTP error must name the JSON parameter the client sent (OpenAI's `input[3]`, TEI
rerank's `texts[0]`). Each dialect package holds its tables; a table maps a name, or the
part of it before an index; a name the table lacks is the same in both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeAlias

JsonParams: TypeAlias = Mapping[str, str]

NONE: JsonParams = {}


def json_param(params: JsonParams, field: str) -> str:
    if field in params:
        return params[field]
    base, bracket, index = field.partition("[")
    return params[base] + bracket + index if bracket and base in params else field


__all__ = ["NONE", "JsonParams", "json_param"]
