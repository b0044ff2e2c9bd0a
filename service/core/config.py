"""The server's one settings object: flags > environment > YAML file > defaults.

Every limit and default of the service lives here, documented next to its field,
so that operators read one table (README "Configuration") and nothing deep in the
code reads `os.environ`. Each field is at once a flag (`--drain-grace-seconds`), an
environment variable (`EMBEDROUTE_DRAIN_GRACE_SECONDS`) and a YAML key
(`drain_grace_seconds`).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

import yaml

from router.errors import ConfigError

LogFormat = Literal["json", "text"]
CacheMode = Literal["off", "memory", "shared"]
FlashAttention = Literal["auto", "on", "off"]

ENV_PREFIX = "EMBEDROUTE_"


def _paths(value: str) -> list[Path]:
    return [Path(p) for p in value.split(os.pathsep) if p]


def _optional_path(value: str) -> Path | None:
    return Path(value) if value else None


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"not a boolean: {value!r}")


def _log_format(value: str) -> LogFormat:
    if value == "json":
        return "json"
    if value == "text":
        return "text"
    raise ValueError(f"log format must be json or text, not {value!r}")


def _flash_attention(value: str) -> FlashAttention:
    lowered = value.strip().lower()
    if lowered in ("auto", "on", "off"):
        return cast(FlashAttention, lowered)
    raise ValueError(f"flash attention must be auto, on or off, not {value!r}")


def _cache_mode(value: str) -> CacheMode:
    lowered = value.strip().lower()
    if lowered in ("off", "memory", "shared"):
        return cast(CacheMode, lowered)
    raise ValueError(f"cache must be off, memory or shared, not {value!r}")


def _pins(value: str, what: str = "pin must be MODEL=QUANT[@DEVICE]") -> dict[str, str]:
    pins: dict[str, str] = {}
    for item in value.split(","):
        if not item.strip():
            continue
        model, sep, choice = item.partition("=")
        if not sep or not model.strip() or not choice.strip():
            raise ValueError(f"{what}, not {item!r}")
        pins[model.strip()] = choice.strip()
    return pins


_POOLINGS = ("last", "mean", "cls")


def _poolings(value: str) -> dict[str, str]:
    pooling = _pins(value, "pooling must be MODEL=last|mean|cls")
    for model, choice in pooling.items():
        if choice not in _POOLINGS:
            raise ValueError(f"pooling for {model} must be one of {', '.join(_POOLINGS)}, not {choice!r}")
    return pooling


def _consistent(value: str) -> dict[str, str]:
    return _pins(value, "consistent must be MODEL=QUANT")


def _keys(value: str) -> list[str]:
    return [key.strip() for key in value.split(",") if key.strip()]


_ORIGIN = re.compile(r"https?://[^/?#\s]+")


def _origins(value: str) -> list[str]:
    """`*`, or origins as a browser sends them: scheme://host[:port], no path."""
    origins = _keys(value)
    for origin in origins:
        if origin != "*" and not _ORIGIN.fullmatch(origin):
            raise ValueError(f"{origin!r} is not an origin (https://host[:port], or *)")
    return origins


def _setting(
    default: Any,
    doc: str,
    parse: Callable[[str], Any],
    *,
    repeat: bool = False,
    secret: bool = False,
    minimum: float | None = None,
    maximum: float | None = None,
) -> Any:
    """A field that is also a flag and an environment variable; `doc` says the trade-off.

    A `secret` field is left out of the settings' repr, so that logging the settings
    never logs it. `minimum` and `maximum` bound a number; they are checked when the
    settings are made, so a value that cannot work stops the server at start-up.
    """
    metadata = {"help": doc, "parse": parse, "repeat": repeat, "minimum": minimum, "maximum": maximum}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=metadata, repr=not secret)
    return field(default=default, metadata=metadata, repr=not secret)


@dataclass(frozen=True)
class GrpcTransport:
    """The gRPC front's connection settings: nothing below the fronts reads them. Part of the one
    settings object (`Settings.grpc`), set by the same flags, variables and YAML keys as any other."""

    max_connection_age_seconds: float = _setting(
        300.0,
        "Connections are closed (GOAWAY) after this age, so clients behind an L4 balancer reconnect and "
        "load spreads over new pods; 0 = never.",
        float,
        minimum=0,
    )
    max_connection_age_grace_seconds: float = _setting(
        30.0, "Time a connection past its max age gets to finish its calls.", float,
        minimum=0,
    )
    keepalive_time_seconds: float = _setting(
        60.0, "Server pings an idle connection this often to detect dead peers (and keep NAT entries).", float,
        minimum=1,
    )
    keepalive_timeout_seconds: float = _setting(20.0, "A ping unanswered this long closes the connection.", float, minimum=1)
    max_open_streams: int = _setting(
        64,
        "Health/Watch and reflection streams open at once. They need no API key and can stay open for "
        "hours, so they get their own small allowance: more are refused with RESOURCE_EXHAUSTED, and "
        "neither Health/Check (the kubelet's probe) nor authenticated calls are ever kept waiting by them.",
        int,
        minimum=1,
    )

    def __post_init__(self) -> None:
        _check_fields(self, _TRANSPORT_FIELDS)


@dataclass(frozen=True)
class Settings:
    """Every limit and default; transport-neutral but for `grpc`, the gRPC front's connection section."""

    host: str = _setting("0.0.0.0", "Address to listen on; 127.0.0.1 keeps the server local.", str)
    port: int = _setting(50051, "gRPC port; 0 picks a free one (logged at start-up).", int, minimum=0, maximum=65535)
    models: list[Path] = _setting(
        [Path("./models")],
        "Folders scanned for GGUF files (repeat the flag; os.pathsep-separated in the environment). "
        "Every file is identified by its own metadata; the router picks one file per model.",
        _paths,
        repeat=True,
    )
    config: Path | None = _setting(None, "YAML file with any of these settings (snake_case keys).", _optional_path)
    pins: dict[str, str] = _setting(
        {},
        "Operator overrides of the router, MODEL=QUANT[@DEVICE] (e.g. qwen3-embedding-0.6b=Q8_0@cpu); "
        "comma-separated in the environment, a mapping in YAML.",
        _pins,
        repeat=True,
    )
    ctx: int = _setting(
        0, "Tokens per sequence to load each model with; 0 = the file's trained context where memory allows "
        "(files are chosen at min(trained, 8192), then the context grows into the memory left).", int,
        minimum=0, maximum=1 << 20,
    )
    threads: int = _setting(
        0, "llama.cpp CPU threads per model; 0 = the CPU quota the process really has.", int, minimum=0, maximum=1024
    )
    metrics_port: int = _setting(
        9090,
        "Prometheus metrics port (HTTP, path /metrics), on its own port so that it can stay inside the "
        "cluster while gRPC is exposed; 0 = off.",
        int,
        minimum=0, maximum=65535,
    )
    metrics_host: str = _setting(
        "",
        "Address of the metrics port; empty = the same as host, so a server kept on 127.0.0.1 does not "
        "publish its metrics on every interface.",
        str,
    )
    drain_grace_seconds: float = _setting(
        20.0,
        "On SIGTERM: health turns NOT_SERVING, new calls get UNAVAILABLE and calls in flight get this long "
        "to finish. Keep it below the pod's terminationGracePeriodSeconds minus any preStop sleep.",
        float,
        minimum=0,
    )
    max_message_bytes: int = _setting(
        64 * 1024 * 1024,
        "Largest request or response message. 1,000 float32 vectors of 4,096 dims are about 16 MiB.",
        int,
        minimum=4096, maximum=2**31 - 1,
    )
    max_concurrent_rpcs: int = _setting(
        1024,
        "Embed, Rerank, Tokenize and Model calls served at once; more are refused at once with "
        "RESOURCE_EXHAUSTED before any work. Health checks and the open streams (max_open_streams) are counted "
        "apart, so neither can take these slots. 0 = unbounded.",
        int,
        minimum=0,
    )
    max_inputs_per_request: int = _setting(
        2048, "Inputs (Embed, Tokenize) or documents (Rerank, per stream chunk) in one message.", int,
        minimum=1,
    )
    max_input_chars: int = _setting(
        200_000,
        "Characters in one input (or query, or document). Longer texts are refused before they are "
        "tokenised: tokenising megabytes to keep a few thousand tokens would stall the model's worker.",
        int,
        minimum=1,
    )
    max_request_chars: int = _setting(
        2_000_000,
        "Characters in all the texts of one message together (instruction included). A model's worker "
        "tokenises a request in one go, so this bounds how long one request can hold it before others.",
        int,
        minimum=1,
    )
    max_queued_requests: int = _setting(
        512,
        "Requests waiting per model; beyond it calls fail fast with RESOURCE_EXHAUSTED and a RetryInfo "
        "instead of waiting in an ever longer queue.",
        int,
        minimum=1,
    )
    step_tokens: int = _setting(
        0,
        "Tokens per engine step (one llama_decode, a multiple of 32): sequences of all calls share it and "
        "longer documents are split over steps, so a query waits at most one step. 0 = 128 on CPU (fastest "
        "measured there); with layers on a GPU 512 to 4096 by the card's memory (4096 on an H200). On a CPU, "
        "steps are at most 64 tokens for 5 s after a "
        "short request, so that queries do not wait for long steps.",
        int,
        minimum=0, maximum=1 << 16,
    )
    max_sequences: int = _setting(
        0,
        "Sequences one engine step may hold (llama.cpp's n_seq_max, at most 256). 0 = by placement: 16 on a "
        "CPU, where a 128-token step rarely has room for more, 256 with layers on a GPU, whose long steps "
        "hold many short documents.",
        int,
        minimum=0, maximum=256,
    )
    flash_attention: FlashAttention = _setting(
        "auto",
        "llama.cpp's flash attention: auto = on with layers on a GPU (measured faster there), off on a CPU "
        "(faster there too, but ggml's CPU kernel sums short decodes in half precision: long documents stay "
        "exact, token vectors of long inputs drift; docs/engine-tuning.md section 11); on or off to force it.",
        _flash_attention,
    )
    short_request_chars: int = _setting(
        256,
        "Requests whose texts, instruction and rerank query add up to at most this many characters "
        "(about 50 English words) go to the short lane: admitted at once, their tokens go first in the next step (with one long request let "
        "in every few short ones).",
        int,
        minimum=0,
    )
    stream_window: int = _setting(
        64,
        "Inputs (or rerank chunks) one stream may have in flight; the server stops reading the stream "
        "beyond it, so a fast client is slowed by HTTP/2 flow control instead of filling server memory.",
        int,
        minimum=1, maximum=4096,
    )
    retry_after_seconds: float = _setting(0.5, "RetryInfo delay suggested with RESOURCE_EXHAUSTED.", float, minimum=0)
    api_keys_file: Path | None = _setting(
        None, "File with one API key per line; when set, calls need `authorization: Bearer KEY`.", _optional_path
    )
    api_keys: list[str] = _setting(
        [],
        "API keys given directly, comma-separated; meant for the environment (a flag would show the keys "
        "in `ps`). Used together with api_keys_file when both are set.",
        _keys,
        repeat=True,
        secret=True,
    )
    tls_cert: Path | None = _setting(None, "PEM server certificate; with tls_key it turns TLS on.", _optional_path)
    tls_key: Path | None = _setting(None, "PEM private key of tls_cert.", _optional_path)
    tls_client_ca: Path | None = _setting(
        None, "PEM CA bundle; when set, clients must present a certificate it signed (mTLS).", _optional_path
    )
    log_format: LogFormat = _setting("json", "json (one object per line, for log shippers) or text.", _log_format)
    log_level: str = _setting("INFO", "Python logging level name.", str)
    otel_tracing: bool = _setting(
        False,
        "One OpenTelemetry span per call, joined to the caller's trace (W3C traceparent). Needs the "
        "opentelemetry-api package; spans go to the OTLP exporter when opentelemetry-exporter-otlp is "
        "installed (configured by the standard OTEL_* variables), else to the process's global provider.",
        _bool,
    )
    pooling: dict[str, str] = _setting(
        {},
        "Per-model pooling override, MODEL=last|mean|cls, for a file whose pooling type is missing or wrong. "
        "Without one, a file that names no pooling is pooled by its architecture: decoders (Qwen3, Qwen2, "
        "Llama, Mistral, Gemma) by the last token, encoders by the mean; ModelService and the start-up log "
        "say when it was inferred.",
        _poolings,
        repeat=True,
    )
    consistent: dict[str, str] = _setting(
        {},
        "One vector space across a fleet: MODEL=QUANT makes every replica serve that quant whatever its node "
        "(a strict pin). A node where it does not fit reports the model FAILED and health NOT_SERVING with "
        "the reason, instead of loading another file whose vectors differ.",
        _consistent,
        repeat=True,
    )
    vector_space_ids: bool = _setting(
        True,
        "Report each model's vector-space id (file sha256, quant, pooling, template, normalisation) in every "
        "embedding response, ModelService and the metrics. The sha256 is read from a `<file>.sha256` sidecar, "
        "else computed beside loading the model (about 1 s per GB) and recorded there.",
        _bool,
    )
    share_prefixes: bool = _setting(
        True,
        "Decode the prefix that prompts share once: a rerank's system prompt, instruction and query for "
        "all its documents (and a stream's chunks), an instruction for the queries in flight. Scores and "
        "vectors are the same either way; off is for comparing.",
        _bool,
    )
    prefix_cache_cells: int = _setting(
        256,
        "KV cells (tokens) per model of shared prefixes kept after their last request, least recently "
        "used first out, so that the next query with the default instruction skips decoding it. Kept "
        "prefixes give way to any request that needs their cells. 0 = none kept.",
        int,
        minimum=0, maximum=1 << 20,
    )
    http_port: int = _setting(
        8080,
        "HTTP port of the compatibility fronts (OpenAI /v1/embeddings, Cohere/Jina /v1/rerank, TEI /embed, Ollama /api/embed), "
        "on the same host, models, limits, API keys and TLS as gRPC; 0 = off.",
        int,
        minimum=0, maximum=65535,
    )
    cache: CacheMode = _setting(
        "memory",
        "Vector (and rerank score) cache in front of the engine: memory = an LRU in this process (cache_bytes), shared = a "
        "Redis/Valkey store for the whole fleet (cache_url), off = every input computed, repeats included. "
        "With memory or shared, identical inputs of one request and of requests in flight are computed once. "
        "Keys are the vector space (file sha256, quant, pooling, template) and the options that change the "
        "vector, plus a hash of the text (never the text); entries are full-precision vectors, cut and "
        "normalised per request.",
        _cache_mode,
    )
    cache_bytes: int = _setting(
        64 * 1024 * 1024,
        "Byte budget of the in-process cache (vectors and keys); least recently used entries go first. A "
        "1,024-dim vector takes about 4 KiB.",
        int,
        minimum=0, maximum=1 << 40,
    )
    cache_url: str = _setting(
        "",
        "The shared cache's Redis/Valkey URL (redis://host:6379/0, rediss:// for TLS, unix:///path.sock); "
        "needed with cache=shared. Size and evict it on the store's side (maxmemory, allkeys-lru).",
        str,
        secret=True,
    )
    cache_timeout_seconds: float = _setting(
        0.25,
        "Longest wait for the shared cache per request; a store that does not answer in time, or not at all, "
        "is skipped (the inputs are computed, one log line) and tried again a second later.",
        float,
        minimum=0.001, maximum=60,
    )
    cache_across_keys: bool = _setting(
        False,
        "With API keys, let one key's requests hit what another key's computed. Off, each key has its own "
        "entries: a shared hit would tell one tenant, by timing or usage, what another embedded.",
        _bool,
    )
    default_model: str = _setting(
        "",
        "The model a call that names none means when several of its kind are served: any API's call with an "
        "empty model, and TEI's routes (/embed, /rerank, /tokenize, /decode, /info), which never name one. "
        "Empty: the only model of the call's kind, else the call is refused with MODEL_REQUIRED.",
        str,
    )
    optional_models: list[str] = _setting(
        [],
        "Models (comma-separated ids) whose failure to load leaves the server ready. Ready - gRPC health \"\" "
        "SERVING, /readyz 200 - means every other planned model serves; /readyz/MODEL tells one model's state.",
        _keys,
        repeat=True,
    )
    http_header_timeout_seconds: float = _setting(
        10.0,
        "An HTTP connection must send a request's whole header within this long of opening (or of its last "
        "answer), else it is closed: idle and slow connections hold no slot and cannot starve the front.",
        float,
        minimum=0.1, maximum=3600,
    )
    http_max_header_bytes: int = _setting(
        65536,
        "Largest HTTP request line and headers together; a larger one is answered 431 and the connection closed.",
        int,
        minimum=1024, maximum=1 << 24,
    )
    cors_allow_origins: list[str] = _setting(
        [],
        "Browser origins (https://app.example.com, comma-separated; * for any) allowed to call the HTTP front "
        "across origins: preflights are answered and answers carry CORS headers. Empty: no CORS, as TEI "
        "without --cors-allow-origin.",
        _origins,
        repeat=True,
    )
    data_dir: Path | None = _setting(
        None,
        "Folder of the batch jobs' store (an SQLite file and the uploaded and result files); keep it on a "
        "volume that outlives the process, since a restarted server resumes its jobs from it. Empty: no batch "
        "API (/v1/files and /v1/batches answer 404), unless jobs_store is set.",
        _optional_path,
    )
    jobs_store: str = _setting(
        "",
        "Where batch jobs live. Empty: the embedded store under data_dir (SQLite and files, one server). A "
        "PostgreSQL URL (postgresql://user:password@host:5432/db): jobs, uploaded files and results live in "
        "that database, every replica on it shares them (any answers any call, all run chunks of every job) "
        "and data_dir is not used. The server must be reachable at start-up.",
        str,
        secret=True,
    )
    batch_max_file_bytes: int = _setting(
        200 * 1024 * 1024,
        "Largest batch input file (POST /v1/files); a larger upload is refused with 413 as soon as it passes "
        "this size, and what it sent is deleted.",
        int,
        minimum=1, maximum=1 << 40,
    )
    batch_max_lines: int = _setting(
        50_000,
        "Most requests (lines) in one batch's input file, as OpenAI's limit; a longer file fails the batch at "
        "validation.",
        int,
        minimum=1, maximum=10_000_000,
    )
    batch_max_jobs_per_key: int = _setting(
        100,
        "Batches one API key (the one tenant, without keys) may have unfinished at once; one more is refused "
        "with 429 until one ends.",
        int,
        minimum=1, maximum=1_000_000,
    )
    batch_max_storage_bytes: int = _setting(
        10 * 1024**3,
        "Bytes all stored batch files (inputs and results, every key's) may take under data_dir; an upload "
        "that would pass it is refused with 429, and what it sent deleted. Delete files to make room.",
        int,
        minimum=1, maximum=1 << 50,
    )
    batch_retention_seconds: float = _setting(
        30 * 24 * 3600.0,
        "Stored batch files (inputs and results) are deleted this long after they were made, unless an "
        "unfinished job still reads them; the jobs' records stay, their file ids then answer 404.",
        float,
        minimum=1, maximum=100 * 365 * 24 * 3600,
    )
    batch_chunk_lines: int = _setting(
        64,
        "Lines a batch job commits at once: after a crash it resumes after the last committed chunk, so at most "
        "this many lines are computed twice (written once). Larger chunks commit (fsync) less often.",
        int,
        minimum=1, maximum=100_000,
    )
    batch_chunk_lease_seconds: float = _setting(
        30.0,
        "How long a chunk a server claimed stays its own without word from it (it renews the claim three "
        "times a lease while it works): with jobs_store, a chunk of a replica that died is claimed by another "
        "after at most this long, and replicas look for new jobs twice a lease.",
        float,
        minimum=1, maximum=3600,
    )
    batch_lines_in_flight: int = _setting(
        8,
        "Batch lines computed at once per server. They wait in the models' background lane, below every live "
        "request, so this bounds how much a batch can hold of the engine when live traffic returns.",
        int,
        minimum=1, maximum=1024,
    )

    grpc: GrpcTransport = field(default_factory=GrpcTransport)

    def __post_init__(self) -> None:
        _check_fields(self, _OWN_FIELDS)
        if self.step_tokens % STEP_ALIGN:
            raise ConfigError(_where("step_tokens"), f"must be a multiple of {STEP_ALIGN} (or 0), got {self.step_tokens}")
        if self.jobs_store and not self.jobs_store.startswith(("postgresql://", "postgres://")):
            raise ConfigError(_where("jobs_store"), "must be empty or a PostgreSQL URL (postgresql://user:password@host/db)")
        if self.cache == "shared" and not self.cache_url:
            raise ConfigError(_where("cache_url"), "cache=shared needs the store's URL (redis://host:6379/0)")
        if self.log_level.upper() not in _LOG_LEVELS:
            raise ConfigError(_where("log_level"), f"{self.log_level!r} is not one of {', '.join(_LOG_LEVELS)}")
        ports = [(name, getattr(self, name)) for name in ("port", "metrics_port", "http_port") if getattr(self, name)]
        for i, (name, port) in enumerate(ports):
            for other, other_port in ports[:i]:
                if port == other_port:
                    raise ConfigError(_where(name), f"{port} is also {other}; each front needs its own port")


def flash_attn_choice(value: FlashAttention) -> bool | None:
    """The engine's flash-attention setting: None leaves it to the placement."""
    return None if value == "auto" else value == "on"


STEP_ALIGN = 32
"""llama.cpp aborts on a micro-batch that is not a multiple of 32 tokens."""
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _check_fields(settings: object, fields: Mapping[str, dataclasses.Field[Any]]) -> None:
    for name, f in fields.items():
        _check_range(name, getattr(settings, name), f.metadata["minimum"], f.metadata["maximum"])


def _check_range(name: str, value: Any, minimum: float | None, maximum: float | None) -> None:
    if isinstance(value, float) and not math.isfinite(value):  # NaN passes every comparison; inf has no use
        raise ConfigError(_where(name), f"must be a finite number, got {value}")
    if minimum is not None and value < minimum:
        raise ConfigError(_where(name), f"must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ConfigError(_where(name), f"must be at most {maximum}, got {value}")


def _where(name: str) -> str:
    """How an operator may have set it: the flag, the variable or the YAML key."""
    return f"{name} ({flag_name(name)}, {env_name(name)})"


_TRANSPORT_FIELDS = {f.name: f for f in dataclasses.fields(GrpcTransport)}
_OWN_FIELDS = {f.name: f for f in dataclasses.fields(Settings) if f.name != "grpc"}
_FIELDS = {**_OWN_FIELDS, **_TRANSPORT_FIELDS}
"""Every setting by its flat name: the flags, variables and YAML keys name a section's fields as
they name the others (`--keepalive-time-seconds`, `EMBEDROUTE_MAX_OPEN_STREAMS`)."""


def setting_names() -> list[str]:
    """Every setting by its flat name (YAML key; flag and variable are made from it), sections included."""
    return list(_FIELDS)


def make_settings(values: Mapping[str, Any]) -> Settings:
    """Settings from flat names, each section's fields put in its section; validated as made."""
    transport = {k: v for k, v in values.items() if k in _TRANSPORT_FIELDS}
    own = {k: v for k, v in values.items() if k not in _TRANSPORT_FIELDS}
    return Settings(**own, grpc=GrpcTransport(**transport))


_MAPPINGS = {"pins": "QUANT[@DEVICE]", "pooling": "last|mean|cls", "consistent": "QUANT"}
"""Settings that map a model id to a choice: repeated flags merge, YAML gives a mapping."""

_FLAG_NAMES = {"pins": "--pin"}
"""Flags named in the singular because each use adds one item."""


def flag_name(name: str) -> str:
    return _FLAG_NAMES.get(name, "--" + name.replace("_", "-"))


def env_name(name: str) -> str:
    return ENV_PREFIX + name.upper()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds one flag per field; unset flags stay absent so that env and file can apply."""
    for name, f in _FIELDS.items():
        parse = f.metadata["parse"]
        kwargs: dict[str, Any] = {"dest": name, "default": argparse.SUPPRESS, "help": f.metadata["help"]}
        if f.metadata["repeat"]:
            kwargs.update(action="append", type=str)
        else:
            kwargs.update(type=parse, metavar=name.upper())
        parser.add_argument(flag_name(name), **kwargs)


def load_settings(flags: Mapping[str, Any], environ: Mapping[str, str]) -> Settings:
    """Flags (as parsed by `add_arguments`) > environment > YAML file > defaults."""
    config_path = flags.get("config") or _optional_path(environ.get(env_name("config"), ""))
    values: dict[str, Any] = {}
    if config_path is not None:
        values.update(_from_file(config_path))
    values.update(_from_env(environ))
    values.update(_from_flags(flags))
    values["config"] = config_path
    return make_settings(values)


def _from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, f in _FIELDS.items():
        raw = environ.get(env_name(name))
        if raw is not None:
            values[name] = _parse(name, f.metadata["parse"], raw, env_name(name))
    return values


def _from_flags(flags: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, f in _FIELDS.items():
        if name not in flags:
            continue
        if f.metadata["repeat"]:
            values[name] = _merge_repeated(name, [_parse(name, f.metadata["parse"], v, flag_name(name)) for v in flags[name]])
        else:
            values[name] = flags[name]
    return values


def _merge_repeated(name: str, parts: Sequence[Any]) -> Any:
    if name in _MAPPINGS:
        merged: dict[str, str] = {}
        for part in parts:
            merged.update(part)
        return merged
    return [item for part in parts for item in part]


def _from_file(path: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"config file {path}", " ".join(str(exc).split())) from exc
    if not isinstance(loaded, dict):
        raise ConfigError(f"config file {path}", "expected a mapping of settings")
    values: dict[str, Any] = {}
    for key, raw in loaded.items():
        name = str(key).replace("-", "_")
        if name not in _FIELDS or name == "config":
            raise ConfigError(f"config file {path}", f"unknown setting {key!r}; known: {', '.join(sorted(_FIELDS))}")
        values[name] = _from_yaml_value(name, raw, path)
    return values


def _from_yaml_value(name: str, raw: Any, path: Path) -> Any:
    if name == "models":
        items = raw if isinstance(raw, list) else [raw]
        return [Path(str(item)) for item in items]
    if name == "api_keys":
        return [str(item) for item in raw] if isinstance(raw, list) else _keys(str(raw))
    if name in _MAPPINGS:
        if not isinstance(raw, dict):
            raise ConfigError(f"config file {path}", f"{name} must be a mapping MODEL: {_MAPPINGS[name]}")
        text = ",".join(f"{k}={v}" for k, v in raw.items())
        return _parse(name, _FIELDS[name].metadata["parse"], text, f"{path}: {name}")
    text = "" if raw is None else str(raw).lower() if isinstance(raw, bool) else str(raw)
    return _parse(name, _FIELDS[name].metadata["parse"], text, f"{path}: {name}")


def _parse(name: str, parse: Callable[[str], Any], raw: str, where: str) -> Any:
    try:
        return parse(raw)
    except ValueError as exc:
        raise ConfigError(where, str(exc)) from exc


def markdown_table() -> str:
    """The README's configuration table, generated so that it cannot drift from the code."""
    rows = ["| flag | environment | YAML key | default | meaning |", "|---|---|---|---|---|"]
    for name, f in _FIELDS.items():
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        rows.append(
            f"| `{flag_name(name)}` | `{env_name(name)}` | `{name}` | {_show(default)} | {f.metadata['help']} |"
        )
    return "\n".join(rows) + "\n"


def _show(default: Any) -> str:
    if default is None or default == {} or default == []:
        return "-"
    if isinstance(default, list):
        return ", ".join(f"`{item}`" for item in default)
    return f"`{default}`"


if __name__ == "__main__":
    print(markdown_table(), end="")
