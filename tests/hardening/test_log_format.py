"""With log_format json, every line the server writes to stderr is one JSON object, gRPC core's included.

gRPC core logs on its own (plain text, straight to stderr) when a peer misbehaves, e.g.
a plaintext client at a TLS port; the server starts with GRPC_VERBOSITY=NONE unless the
operator sets it, so log shippers get one format.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from service.rpc.generated.embedroute.v1 import embed_pb2, embed_pb2_grpc
from tests.hardening.test_load import port_of, wait_serving
from tests.hardening.test_security import issue

EMBEDROUTE = Path(sys.executable).with_name("embedroute")
REPO = Path(__file__).resolve().parents[2]


def test_every_line_is_json(models_dir: Path, tmp_path: Path) -> None:
    log_path = tmp_path / "server.log"
    env = {k: v for k, v in os.environ.items() if k != "GRPC_VERBOSITY"}
    cert, key = issue("server")
    (tmp_path / "cert.pem").write_bytes(cert)
    (tmp_path / "key.pem").write_bytes(key)
    with open(log_path, "wb") as log_file:
        server = subprocess.Popen(
            [str(EMBEDROUTE), "serve", "--models", str(models_dir), "--host", "127.0.0.1", "--port", "0",
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
