"""Ollama's embedding JSON <-> core translation, and nothing else (no decisions, no I/O).

Ollama names a model `name:tag`, and a name without a tag means `:latest`: served models
are listed as `MODEL_ID:latest`, and `:latest` is dropped from a name a client sends.
`/api/embed` truncates by default and answers unit vectors, as Ollama does; the legacy
`/api/embeddings` answers the raw pooled vector. `keep_alive` and `options` are accepted
and have nothing to set: models stay loaded, and the server's settings size them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from service.core.requests import EmbedCall
from service.core.results import EmbedResult
from service.core.values import EmbedOptions
from service.http.body import JsonObject, boolean, integer, string, texts, wrong
from service.http.fields import JsonParams

if TYPE_CHECKING:
    from service.app import ServedModel

EMBED: JsonParams = {"inputs": "input"}
EMBED_ONE: JsonParams = {"inputs[0]": "input", **EMBED}
EMBEDDINGS: JsonParams = {"inputs": "prompt", "inputs[0]": "prompt"}

_TAG = ":latest"


def model_name(body: JsonObject) -> str:
    """The model a body names (`model`, or the older `name`), without Ollama's default tag."""
    name = string(body, "model") or string(body, "name")
    return name.removesuffix(_TAG)


def _accepted(body: JsonObject) -> None:
    """`options` and `keep_alive` change nothing here, but a wrong type is still the client's error."""
    options, keep_alive = body.get("options"), body.get("keep_alive")
    if options is not None and not isinstance(options, dict):
        raise wrong("options", "an object")
    if keep_alive is not None and (isinstance(keep_alive, bool) or not isinstance(keep_alive, (str, int, float))):
        raise wrong("keep_alive", "a duration (a string such as 5m, or seconds)")


def embed_call(body: JsonObject) -> tuple[EmbedCall, bool]:
    """`/api/embed`: the call, and whether `input` was one string."""
    inputs, single = texts(body, "input")
    _accepted(body)
    options = EmbedOptions(dimensions=integer(body, "dimensions"), truncate=boolean(body, "truncate", True))
    return EmbedCall(model_name(body), inputs, options), single


def embeddings_call(body: JsonObject) -> EmbedCall:
    """`/api/embeddings` (legacy): one `prompt`, its vector not normalised."""
    _accepted(body)
    return EmbedCall(model_name(body), [string(body, "prompt")], EmbedOptions(normalize=False, truncate=True))


def embed(result: EmbedResult) -> dict[str, Any]:
    return {
        "model": result.model_id + _TAG,
        "embeddings": [e.vector.tolist() for e in result.embeddings],
        "total_duration": result.usage.total_ns,
        "load_duration": 0,
        "prompt_eval_count": result.usage.prompt_tokens,
    }


def embedding(result: EmbedResult) -> dict[str, Any]:
    return {"embedding": result.embeddings[0].vector.tolist()}


def _details(served: ServedModel) -> dict[str, Any]:
    d = served.description
    return {
        "parent_model": "",
        "format": "gguf",
        "family": d.architecture,
        "families": [d.architecture],
        "parameter_size": _human(d.n_params),
        "quantization_level": d.quant,
    }


def _human(n: int) -> str:
    """A parameter count as Ollama shows it: 22.57M, 8.03B."""
    return f"{n / 1e9:.2f}B" if n >= 1e9 else f"{n / 1e6:.2f}M"


def tags(models: list[ServedModel]) -> dict[str, Any]:
    return {
        "models": [
            {"name": m.model_id + _TAG, "model": m.model_id + _TAG, "size": m.description.file_size, "details": _details(m)}
            for m in models
        ]
    }


def show(served: ServedModel) -> dict[str, Any]:
    d = served.description
    return {
        "details": _details(served),
        "model_info": {
            "general.architecture": d.architecture,
            "general.parameter_count": d.n_params,
            f"{d.architecture}.context_length": d.context_length,
            f"{d.architecture}.embedding_length": d.hidden_size,
            f"{d.architecture}.pooling_type": d.pooling,
        },
        "capabilities": ["embedding"] if served.kind == "embedding" else [],
        "parameters": f"num_ctx {served.context_length}" if served.context_length else "",
        "template": "",
        "modelfile": "",
        "license": "",
    }


__all__ = ["EMBED", "EMBEDDINGS", "EMBED_ONE", "embed", "embed_call", "embedding", "embeddings_call", "model_name",
           "show", "tags"]
