"""A Hugging Face hub on 127.0.0.1 with the two routes `embedroute pull` uses, serving local files.

    GET /api/models/{repo}[/revision/{rev}]?blobs=true   repository info with LFS sizes and sha256
    GET /{repo}/resolve/{commit}/{file}                    the bytes, honouring `Range: bytes=A-[B]`

It records every file request (path, range, bytes sent), can cut a file's transfer
after N bytes (the connection drops, as on a flaky link), and can advertise a wrong
sha256 for a file.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

COMMIT = "0123456789abcdef0123456789abcdef01234567"
_RANGE = re.compile(r"bytes=(\d+)-(\d*)$")


@dataclass(frozen=True)
class Sent:
    file: str
    range: str | None
    n_bytes: int


@dataclass
class FakeHub:
    repos: dict[str, list[Path]]
    cut_after: dict[str, int] = field(default_factory=dict)
    """File name -> bytes sent before the connection is dropped (once)."""
    wrong_sha: set[str] = field(default_factory=set)
    sent: list[Sent] = field(default_factory=list)
    api_calls: list[str] = field(default_factory=list)
    _sha: dict[Path, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hub._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def bytes_sent(self, name: str) -> int:
        return sum(s.n_bytes for s in self.sent if s.file == name)

    def sha256(self, path: Path) -> str:
        if path not in self._sha:
            digest = hashlib.sha256()
            with open(path, "rb") as handle:
                while chunk := handle.read(1 << 20):
                    digest.update(chunk)
            self._sha[path] = digest.hexdigest()
        return self._sha[path]

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        path = unquote(urlsplit(request.path).path)
        info = re.fullmatch(r"/api/models/([^/]+/[^/]+)(?:/revision/[^/]+)?", path)
        if info:
            self.api_calls.append(info.group(1))
            self._info(request, info.group(1))
            return
        resolve = re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path)
        if resolve and resolve.group(2) == COMMIT:
            file = next((f for f in self.repos.get(resolve.group(1), []) if f.name == resolve.group(3)), None)
            if file is not None:
                self._file(request, file)
                return
        self._json(request, 404, {"error": "Repository not found"})

    def _info(self, request: BaseHTTPRequestHandler, repo: str) -> None:
        if repo not in self.repos:
            self._json(request, 404, {"error": "Repository not found"})
            return
        siblings = [{"rfilename": "README.md", "size": 10, "blobId": "0" * 40}]
        for f in self.repos[repo]:
            sha = "0" * 64 if f.name in self.wrong_sha else self.sha256(f)
            size = f.stat().st_size
            siblings.append(
                {"rfilename": f.name, "size": size, "blobId": "1" * 40, "lfs": {"size": size, "sha256": sha, "pointerSize": 135}}
            )
        self._json(request, 200, {"id": repo, "modelId": repo, "sha": COMMIT, "private": False, "siblings": siblings})

    def _file(self, request: BaseHTTPRequestHandler, file: Path) -> None:
        size = file.stat().st_size
        header = request.headers.get("Range")
        start, end = 0, size - 1
        match = _RANGE.match(header or "")
        if match:
            start = int(match.group(1))
            end = min(int(match.group(2)), size - 1) if match.group(2) else size - 1
            if start >= size:
                request.send_response(416)
                request.send_header("Content-Range", f"bytes */{size}")
                request.end_headers()
                return
        length = end - start + 1
        request.send_response(206 if match else 200)
        request.send_header("Content-Length", str(length))
        request.send_header("Accept-Ranges", "bytes")
        if match:
            request.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        request.end_headers()
        limit = self.cut_after.get(file.name, length)
        if limit < length:
            del self.cut_after[file.name]  # cut once; the retry gets the rest
        else:
            limit = length
        # Recorded before each write, so a client that has read everything finds it recorded.
        index = len(self.sent)
        self.sent.append(Sent(file.name, header, 0))
        sent = 0
        with open(file, "rb") as handle:
            handle.seek(start)
            while sent < limit:
                chunk = handle.read(min(1 << 20, limit - sent))
                self.sent[index] = Sent(file.name, header, sent + len(chunk))
                try:
                    request.wfile.write(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    self.sent[index] = Sent(file.name, header, sent)
                    break  # the client had what it wanted (a header prefix)
                sent += len(chunk)
        if limit < length:
            request.close_connection = True

    def _json(self, request: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)
