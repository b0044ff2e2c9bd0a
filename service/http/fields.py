"""The core's field names, as each HTTP API's JSON spells them: the one field table of the front.

Validation names fields as the core does (`inputs[3]`, `documents[0]`, `dimensions`);
an HTTP error must name the JSON parameter the client sent (OpenAI's `input[3]`, TEI
rerank's `texts[0]`). A table maps a name, or the part of it before an index; a name
the table lacks is the same in both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeAlias

JsonParams: TypeAlias = Mapping[str, str]

OPENAI_EMBED: JsonParams = {"inputs": "input", "encoding": "encoding_format"}
OPENAI_EMBED_ONE: JsonParams = {**OPENAI_EMBED, "inputs[0]": "input"}
"""`input` sent as one string (or one token list): its only entry is `input` itself."""
COHERE_RERANK: JsonParams = {}
TEI_EMBED: JsonParams = {}
TEI_EMBED_ONE: JsonParams = {"inputs[0]": "inputs"}
TEI_RERANK: JsonParams = {"documents": "texts"}
TEI_DECODE: JsonParams = {"inputs": "ids"}
NONE: JsonParams = {}


def json_param(params: JsonParams, field: str) -> str:
    if field in params:
        return params[field]
    base, bracket, index = field.partition("[")
    return params[base] + bracket + index if bracket and base in params else field


__all__ = [
    "COHERE_RERANK",
    "NONE",
    "OPENAI_EMBED",
    "OPENAI_EMBED_ONE",
    "TEI_DECODE",
    "TEI_EMBED",
    "TEI_EMBED_ONE",
    "TEI_RERANK",
    "JsonParams",
    "json_param",
]
