"""`embedroute batch`: submit a JSONL file as a batch job to a running server, follow it, cancel it,
fetch its results; an HTTP client of the server's OpenAI Batch API (README "OpenAI Batch API").

    embedroute batch submit corpus.jsonl --wait      # upload, create, progress bar, results to stdout
    embedroute batch status batch_...                # the job object as JSON
    embedroute batch cancel batch_...
    embedroute batch results batch_... [--errors]    # the output (or error) file's lines
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from httpx2 import Client, HTTPError, Response
from tqdm import tqdm

DEFAULT_URL = "http://127.0.0.1:8080"
FINAL = ("completed", "failed", "cancelled", "expired")
POLL_S = 0.5


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    headers = {"authorization": f"Bearer {args.api_key}"} if args.api_key else {}
    try:
        with Client(base_url=args.url, headers=headers, timeout=args.timeout) as http:
            code: int = args.run(http, args)
            return code
    except HTTPError as exc:
        print(f"embedroute batch: {exc}", file=sys.stderr)
        return 1
    except _Refused as exc:
        print(f"embedroute batch: {exc}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="embedroute batch", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--url", default=DEFAULT_URL, help=f"the server's HTTP address (default {DEFAULT_URL})")
    parser.add_argument("--api-key", default="", help="sent as `authorization: Bearer KEY`")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per HTTP call")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    submit = commands.add_parser("submit", help="upload a JSONL file and start a job on it")
    submit.add_argument("file", type=Path)
    submit.add_argument("--endpoint", default="/v1/embeddings", help="/v1/embeddings (default) or /v1/rerank")
    submit.add_argument("--wait", action="store_true", help="follow the job with a progress bar, then print its results")
    submit.set_defaults(run=_submit)
    for name, run, what in (("status", _status, "print the job"), ("cancel", _cancel, "cancel the job"),
                            ("results", _results, "print the job's output lines")):
        command = commands.add_parser(name, help=what)
        command.add_argument("batch_id")
        command.set_defaults(run=run)
        if name == "results":
            command.add_argument("--errors", action="store_true", help="print the error file's lines instead")
    return parser


class _Refused(Exception):
    """The server answered with an error body: its message is what the user needs."""


def _json(answer: Response) -> Any:
    if answer.status_code >= 400:
        try:
            message = answer.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = answer.text[:300]
        raise _Refused(f"{answer.status_code}: {message}")
    return answer.json()


def _submit(http: Client, args: argparse.Namespace) -> int:
    with args.file.open("rb") as stream:  # httpx streams a file object's multipart part from disk
        uploaded = _json(http.post("/v1/files", data={"purpose": "batch"}, files={"file": (args.file.name, stream)}))
    batch = _json(http.post("/v1/batches", json={"input_file_id": uploaded["id"], "endpoint": args.endpoint,
                                                 "completion_window": "24h"}))
    if not args.wait:
        print(json.dumps(batch))
        return 0
    batch = _follow(http, batch)
    print(f"{batch['id']} {batch['status']}: {batch['request_counts']['completed']} completed, "
          f"{batch['request_counts']['failed']} failed", file=sys.stderr)
    if batch["output_file_id"]:
        _print_file(http, batch["output_file_id"])
    return 0 if batch["status"] == "completed" else 1


def _follow(http: Client, batch: dict[str, Any]) -> dict[str, Any]:
    """Polls the job until it ends, a progress bar on stderr: lines answered of the total, the rate
    and the time left (tqdm's)."""
    with tqdm(total=None, unit="line", file=sys.stderr, desc=batch["id"]) as bar:
        while batch["status"] not in FINAL:
            time.sleep(POLL_S)
            batch = _json(http.get(f"/v1/batches/{batch['id']}"))
            counts = batch["request_counts"]
            bar.total = counts["total"] or None
            bar.update(counts["completed"] + counts["failed"] - bar.n)
            bar.set_postfix(status=batch["status"], refresh=False)
    return batch


def _status(http: Client, args: argparse.Namespace) -> int:
    print(json.dumps(_json(http.get(f"/v1/batches/{args.batch_id}"))))
    return 0


def _cancel(http: Client, args: argparse.Namespace) -> int:
    print(json.dumps(_json(http.post(f"/v1/batches/{args.batch_id}/cancel"))))
    return 0


def _results(http: Client, args: argparse.Namespace) -> int:
    batch = _json(http.get(f"/v1/batches/{args.batch_id}"))
    file_id = batch["error_file_id" if args.errors else "output_file_id"]
    if batch["status"] not in FINAL:
        raise _Refused(f"{args.batch_id} is {batch['status']}; its results come when it ends")
    if file_id:
        _print_file(http, file_id)
    return 0


def _print_file(http: Client, file_id: str) -> None:
    with http.stream("GET", f"/v1/files/{file_id}/content") as answer:
        if answer.status_code >= 400:
            answer.read()
            _json(answer)
        for piece in answer.iter_bytes():
            sys.stdout.buffer.write(piece)
    sys.stdout.flush()


__all__ = ["main"]
