"""With log_format json, every line the server writes to stderr is one JSON object, gRPC core's included.

gRPC core logs on its own (plain text, straight to stderr) when a peer misbehaves, e.g.
a plaintext client at a TLS port; the server starts with GRPC_VERBOSITY=NONE unless the
operator sets it, so log shippers get one format.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from service.core import logs
from service.rpc.generated.embedroute.v1 import embed_pb2, embed_pb2_grpc
from tests.hardening.test_load import port_of, wait_serving
from tests.hardening.test_security import issue

EMBEDROUTE = Path(sys.executable).with_name("embedroute")
REPO = Path(__file__).resolve().parents[2]


def test_every_line_is_json(models_dir: Path, tmp_path: Path) -> None:
    """Lines of gRPC core and of the router reading a broken file before the server starts alike."""
    folder = tmp_path / "models"
    folder.mkdir()
    for source in models_dir.iterdir():
        (folder / source.name).symlink_to(source)
    (folder / "broken.gguf").write_bytes(b"not a GGUF file")
    log_path = tmp_path / "server.log"
    env = {k: v for k, v in os.environ.items() if k != "GRPC_VERBOSITY"}
    cert, key = issue("server")
    (tmp_path / "cert.pem").write_bytes(cert)
    (tmp_path / "key.pem").write_bytes(key)
    with open(log_path, "wb") as log_file:
        server = subprocess.Popen(
            [str(EMBEDROUTE), "serve", "--models", str(folder), "--host", "127.0.0.1", "--port", "0",
             "--http-port", "0", "--ctx", "512", "--threads", "1", "--metrics-port", "0", "--log-format", "json",
             "--tls-cert", str(tmp_path / "cert.pem"), "--tls-key", str(tmp_path / "key.pem")],
            stderr=log_file, env=env,
        )
    try:
        target = f"127.0.0.1:{port_of(log_path)}"
        with grpc.insecure_channel(target) as plaintext:  # a TLS handshake that fails: gRPC core logs it
            try:
                health_pb2_grpc.HealthStub(plaintext).Check(health_pb2.HealthCheckRequest(), timeout=2)
            except grpc.RpcError:
                pass
        credentials = grpc.ssl_channel_credentials(root_certificates=cert)
        with grpc.secure_channel(target, credentials) as channel:
            wait_serving(channel)
            embed_pb2_grpc.EmbedServiceStub(channel).Embed(embed_pb2.EmbedRequest(inputs=["hello"]), timeout=30)
            raw = channel.unary_unary("/embedroute.v1.EmbedService/Embed", request_serializer=lambda b: b,
                                      response_deserializer=lambda b: b)
            try:
                raw(b"\xff\xff\xff", timeout=10)
            except grpc.RpcError:
                pass
        time.sleep(1)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)
    lines = log_path.read_text().splitlines()
    assert len(lines) > 5
    for line in lines:
        entry = json.loads(line)  # fails on any plain-text line
        assert {"time", "level", "logger", "message"} <= entry.keys()
    messages = [json.loads(line)["message"] for line in lines]
    assert any(m.startswith(f"router: skipping unreadable GGUF {folder / 'broken.gguf'}") for m in messages)


def test_uvicorns_coloured_copy_stays_out_of_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    """uvicorn logs some messages with `extra={"color_message": ...}`, the same text with ANSI colours."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        logs.configure("json", "info")
        logging.getLogger("uvicorn.error").info(
            "Started server process [%d]", 42, extra={"color_message": "Started server process [\x1b[36m%d\x1b[0m]"}
        )
    finally:
        root.handlers[:], root.level = handlers, level
    (line,) = capsys.readouterr().err.splitlines()
    assert json.loads(line)["message"] == "Started server process [42]"
    assert "color_message" not in line and "\\u001b" not in line
