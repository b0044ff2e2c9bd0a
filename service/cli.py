"""`embedroute`: run the server, or talk to a running one from the shell.

`serve` takes every setting as a flag, an EMBEDROUTE_* variable or a YAML key
(see service.core.config). `embed`, `rerank`, `tokenize` and `models` are one-shot
clients that print the response as JSON; `synth` and `route` belong to the test
model generator and the router, `drift` (service/drift.py) compares two servers, `batch`
(service/batch_client.py) runs batch jobs on one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

# gRPC core writes its own plain-text lines to stderr (a failed TLS handshake, a bad peer), which
# would break the one-JSON-object-per-line log; it reads this once, when grpc is first imported.
# What it would report reaches the server as statuses and errors anyway. An operator's value wins.
os.environ.setdefault("GRPC_VERBOSITY", "NONE")

# libllama before anything imports numpy (the settings reach the router, which reads GGUF headers
# with it): with numpy loaded first, a CUDA build of llama.cpp crashed in llama_model_load_from_file
# (SIGSEGV on an H200, every model, every load mode); loaded first, every load worked
# (docs/engine-tuning.md section 10).
import llama_cpp  # noqa: E402, F401
import grpc  # noqa: E402
from google.protobuf import json_format
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from service.rpc.generated.embedroute.v1 import (
    common_pb2,
    embed_pb2,
    embed_pb2_grpc,
    model_pb2,
    model_pb2_grpc,
    rerank_pb2,
    rerank_pb2_grpc,
    tokenize_pb2,
    tokenize_pb2_grpc,
)
from service.core.config import add_arguments, load_settings
from router.errors import ConfigError

DEFAULT_TARGET = "127.0.0.1:50051"
_ENCODINGS = {
    "float32": embed_pb2.ENCODING_FLOAT32,
    "int8": embed_pb2.ENCODING_INT8,
    "ubinary": embed_pb2.ENCODING_UBINARY,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "synth":
        from service.prepare.synth.cli import main as synth_main

        return int(synth_main(args[1:]) or 0)
    if args and args[0] == "ladder":
        from service.prepare.ladder import main as ladder_main

        return int(ladder_main(args[1:]) or 0)
    if args and args[0] == "pull":
        from service.prepare.pull.cli import main as pull_main

        return int(pull_main(args[1:]) or 0)
    if args and args[0] == "drift":
        from service.drift import main as drift_main

        return drift_main(args[1:])
    if args and args[0] == "batch":
        from service.batch_client import main as batch_main

        return batch_main(args[1:])
    if args and args[0] == "route":
        from router.explain import main as route_main

        return int(route_main(args[1:]) or 0)
    parsed = _parser().parse_args(args)
    command: Callable[[argparse.Namespace], int] = parsed.run
    return command(parsed)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="embedroute", description=__doc__.splitlines()[0] if __doc__ else None)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="run the gRPC server")
    add_arguments(serve)
    serve.set_defaults(run=_serve)

    embed = _client(commands, "embed", "embed texts", _embed)
    embed.add_argument("texts", nargs="+", metavar="TEXT")
    embed.add_argument("--query", action="store_true", help="embed as queries (instruction prefix)")
    embed.add_argument("--instruction", default="")
    embed.add_argument("--dimensions", type=int, default=0)
    embed.add_argument("--encoding", choices=sorted(_ENCODINGS), default="float32")
    embed.add_argument("--no-normalize", action="store_true")
    embed.add_argument("--truncate", action="store_true")

    rerank = _client(commands, "rerank", "score documents against a query", _rerank)
    rerank.add_argument("query")
    rerank.add_argument("documents", nargs="+", metavar="DOC")
    rerank.add_argument("--top-n", type=int, default=0)
    rerank.add_argument("--instruction", default="")
    rerank.add_argument("--return-documents", action="store_true")
    rerank.add_argument("--truncate", action="store_true")

    tokenize = _client(commands, "tokenize", "count tokens and show what truncation would cut", _tokenize)
    tokenize.add_argument("texts", nargs="+", metavar="TEXT")
    tokenize.add_argument("--query", default="", help="rerankers: the query each text is paired with")
    tokenize.add_argument("--as-query", action="store_true", help="embedding models: count with the query template")
    tokenize.add_argument("--tokens", action="store_true", help="also print token ids and pieces")

    models = _client(commands, "models", "list served models, or show one", _models)
    models.add_argument("name", nargs="?", default="")

    commands.add_parser("synth", help="write tiny test GGUF models (see `embedroute synth --help`)")
    commands.add_parser("ladder", help="quantise a GGUF into a ladder of variants (see `embedroute ladder --help`)")
    commands.add_parser("pull", help="download the GGUF variant this machine should run from a hub repository")
    commands.add_parser("route", help="show which GGUF file the router picks and why (see `embedroute route --help`)")
    commands.add_parser("drift", help="compare two servers' vectors and vector-space ids (see `embedroute drift --help`)")
    commands.add_parser("batch", help="submit, follow, cancel batch jobs and read their results (see `embedroute batch --help`)")
    return parser


def _client(commands: Any, name: str, help: str, run: Callable[[argparse.Namespace], int]) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(name, help=help)
    parser.add_argument("--target", default=DEFAULT_TARGET, help=f"server address (default {DEFAULT_TARGET})")
    parser.add_argument("--model", default="", help="model id; empty picks the only one of its kind")
    parser.add_argument("--api-key", default="", help="sent as `authorization: Bearer KEY`")
    parser.add_argument("--timeout", type=float, default=60.0, help="deadline in seconds")
    parser.set_defaults(run=run)
    return parser


def _serve(args: argparse.Namespace) -> int:
    """A setting that cannot work is one line on stderr and exit 2, before the server starts: the
    settings are checked when they are read, and the router's choices (pins) against the model
    files before the server starts. Logging is set up as soon as the settings are read, so that a
    warning while planning (a file the router cannot read) comes in the configured format; until
    the plan stands, only warnings and worse, so a refusal is not preceded by progress lines."""
    from service import serve
    from service.core import logs
    from service.prepare.pull.startup import has_models

    try:
        settings = load_settings(vars(args), os.environ)
        logs.configure(settings.log_format, logs.at_least(settings.log_level, "warning"))
        serve.preflight(settings)
        plans = serve.plan(settings) if has_models(settings.models) else None
    except ConfigError as exc:
        print(f"embedroute serve: {exc}", file=sys.stderr)
        return 2
    logs.configure(settings.log_format, settings.log_level)
    try:
        asyncio.run(serve.serve(settings, plans))
    except ConfigError as exc:  # found only after the default model was prepared
        print(f"embedroute serve: {exc}", file=sys.stderr)
        return 2
    return 0


def _call(args: argparse.Namespace, rpc: Callable[[grpc.Channel], Callable[..., Message]], request: Message) -> int:
    metadata = [("authorization", f"Bearer {args.api_key}")] if args.api_key else []
    with grpc.insecure_channel(args.target) as channel:
        try:
            response = rpc(channel)(request, timeout=args.timeout, metadata=metadata)
        except grpc.RpcError as exc:
            print(_describe_error(exc), file=sys.stderr)
            return 1
    print(json.dumps(_shown(json_format.MessageToDict(
        response, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )), indent=2))
    return 0


def _shown(value: Any) -> Any:
    """The answer with every number and flag, zeros included (the first document's `index` is 0),
    and without the empty lists and strings of what the call did not ask for (other encodings)."""
    if isinstance(value, dict):
        return {k: _shown(v) for k, v in value.items() if v not in ("", [], {})}
    if isinstance(value, list):
        return [_shown(v) for v in value]
    return value


def _describe_error(exc: grpc.RpcError) -> str:
    call: Any = exc
    lines = [f"{call.code().name}: {call.details()}"]
    status = rpc_status.from_call(call)
    for detail in status.details if status else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            lines.append(f"  reason: {info.reason}")
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            lines += [f"  {v.field}: {v.description}" for v in bad.field_violations]
        elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            retry = error_details_pb2.RetryInfo()
            detail.Unpack(retry)
            lines.append(f"  retry after {retry.retry_delay.ToMilliseconds()} ms")
    return "\n".join(lines)


def _embed(args: argparse.Namespace) -> int:
    options = embed_pb2.EmbedOptions(
        input_type=common_pb2.INPUT_TYPE_QUERY if args.query else common_pb2.INPUT_TYPE_DOCUMENT,
        instruction=args.instruction,
        dimensions=args.dimensions,
        normalize=not args.no_normalize,
        truncate=args.truncate,
        encoding=_ENCODINGS[args.encoding],
    )
    request = embed_pb2.EmbedRequest(model=args.model, inputs=args.texts, options=options)
    return _call(args, lambda ch: embed_pb2_grpc.EmbedServiceStub(ch).Embed, request)


def _rerank(args: argparse.Namespace) -> int:
    request = rerank_pb2.RerankRequest(
        model=args.model,
        query=args.query,
        documents=args.documents,
        top_n=args.top_n,
        instruction=args.instruction,
        return_documents=args.return_documents,
        truncate=args.truncate,
    )
    return _call(args, lambda ch: rerank_pb2_grpc.RerankServiceStub(ch).Rerank, request)


def _tokenize(args: argparse.Namespace) -> int:
    request = tokenize_pb2.TokenizeRequest(
        model=args.model,
        inputs=args.texts,
        input_type=common_pb2.INPUT_TYPE_QUERY if args.as_query else common_pb2.INPUT_TYPE_DOCUMENT,
        query=args.query,
        return_tokens=args.tokens,
    )
    return _call(args, lambda ch: tokenize_pb2_grpc.TokenizeServiceStub(ch).Tokenize, request)


def _models(args: argparse.Namespace) -> int:
    name = args.name or args.model
    if name:
        return _call(
            args, lambda ch: model_pb2_grpc.ModelServiceStub(ch).GetModel, model_pb2.GetModelRequest(model=name)
        )
    return _call(args, lambda ch: model_pb2_grpc.ModelServiceStub(ch).ListModels, model_pb2.ListModelsRequest())


if __name__ == "__main__":
    sys.exit(main())
