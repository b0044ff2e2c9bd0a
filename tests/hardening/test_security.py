"""TLS and mutual TLS with certificates made here, API keys from the environment, and clean logs."""

from __future__ import annotations

import datetime
import ipaddress
import json
import logging
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from router import ModelPlan
from service.rpc.generated.embedroute.v1 import embed_pb2, embed_pb2_grpc, model_pb2, model_pb2_grpc
from service.core.config import load_settings
from service.core.logs import JsonFormatter, RequestIdFilter
from tests.rpc.harness import RunningServer, server_settings

Pem = tuple[bytes, bytes]


def issue(name: str, issuer: Pem | None = None, *, ca: bool = False) -> Pem:
    """A certificate and key in PEM, self-signed or signed by `issuer`, valid for 127.0.0.1."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    if issuer is None:
        issuer_name, signing_key = subject, key
    else:
        issuer_name = x509.load_pem_x509_certificate(issuer[0]).subject
        signing_key = serialization.load_pem_private_key(issuer[1], None)  # type: ignore[assignment]
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
    cert = builder.sign(signing_key, hashes.SHA256())
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def list_models(channel: grpc.Channel) -> list[str]:
    return [m.id for m in model_pb2_grpc.ModelServiceStub(channel).ListModels(model_pb2.ListModelsRequest(), timeout=10).models]


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    (tmp_path / name).write_bytes(data)
    return tmp_path / name


def test_tls_and_mutual_tls(models_dir: Path, embed_plans_only: list[ModelPlan], tmp_path: Path) -> None:
    ca = issue("test CA", ca=True)
    server_cert = issue("embedroute", ca)
    client_cert = issue("client", ca)
    stranger = issue("stranger", issue("other CA", ca=True))
    settings = server_settings(
        models_dir,
        tls_cert=write(tmp_path, "server.pem", server_cert[0]),
        tls_key=write(tmp_path, "server.key", server_cert[1]),
        tls_client_ca=write(tmp_path, "ca.pem", ca[0]),
    )
    server = RunningServer(settings, embed_plans_only)
    try:
        def connect(client: Pem | None) -> list[str]:
            credentials = grpc.ssl_channel_credentials(ca[0], *(reversed(client) if client else ()))
            with grpc.secure_channel(server.target, credentials) as channel:
                return list_models(channel)

        assert connect(client_cert) == ["qwen3-embedding-tiny"]
        for refused in (None, stranger):
            with pytest.raises(grpc.RpcError) as caught:
                connect(refused)
            assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        with grpc.insecure_channel(server.target) as plain, pytest.raises(grpc.RpcError) as caught:
            list_models(plain)
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        server.stop()

    tls_only = server_settings(models_dir, tls_cert=tmp_path / "server.pem", tls_key=tmp_path / "server.key")
    server = RunningServer(tls_only, embed_plans_only)
    try:
        with grpc.secure_channel(server.target, grpc.ssl_channel_credentials(ca[0])) as channel:
            assert list_models(channel) == ["qwen3-embedding-tiny"]
    finally:
        server.stop()


def test_api_keys_from_environment_and_file(models_dir: Path, embed_plans_only: list[ModelPlan], tmp_path: Path) -> None:
    keys_file = tmp_path / "keys"
    keys_file.write_text("from-file\n")
    settings = load_settings({}, {"EMBEDROUTE_API_KEYS": "env-key-1, env-key-2", "EMBEDROUTE_API_KEYS_FILE": str(keys_file)})
    assert "env-key-1" not in repr(settings)
    server = RunningServer(server_settings(models_dir, api_keys=settings.api_keys, api_keys_file=keys_file), embed_plans_only)
    try:
        with grpc.insecure_channel(server.target) as ch:
            stub = model_pb2_grpc.ModelServiceStub(ch)
            for key in ("env-key-1", "env-key-2", "from-file"):
                stub.ListModels(model_pb2.ListModelsRequest(), metadata=(("authorization", f"Bearer {key}"),))
            for key in ("env-key-", "env-key-1 ", "FROM-FILE", ""):
                with pytest.raises(grpc.RpcError) as caught:
                    stub.ListModels(model_pb2.ListModelsRequest(), metadata=(("authorization", f"Bearer {key}"),))
                assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    finally:
        server.stop()


def test_logs_carry_request_ids_never_texts_or_keys(
    models_dir: Path, embed_plans_only: list[ModelPlan], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    secret_text, secret_key = "SECRET-INPUT-7f3a", "SECRET-KEY-91bc"
    server = RunningServer(server_settings(models_dir, api_keys=[secret_key], log_level="DEBUG"), embed_plans_only)
    caplog.handler.addFilter(RequestIdFilter())
    caplog.set_level(logging.DEBUG)
    try:
        server.load()
        with grpc.insecure_channel(server.target) as ch:
            stub = embed_pb2_grpc.EmbedServiceStub(ch)
            auth = (("authorization", f"Bearer {secret_key}"),)
            stub.Embed(embed_pb2.EmbedRequest(inputs=[secret_text]), metadata=(*auth, ("x-request-id", "req-42")))
            for request, metadata in [
                (embed_pb2.EmbedRequest(inputs=[secret_text * 200]), auth),  # too long
                (embed_pb2.EmbedRequest(inputs=[secret_text, ""]), auth),  # invalid
                (embed_pb2.EmbedRequest(inputs=[secret_text]), (("authorization", f"Bearer {secret_key}x"),)),
            ]:
                with pytest.raises(grpc.RpcError):
                    stub.Embed(request, metadata=metadata)
    finally:
        server.stop()
    formatter = JsonFormatter()
    lines = [formatter.format(record) for record in caplog.records]
    assert not [line for line in lines if secret_text in line or secret_key in line]
    access = [json.loads(line) for line in lines if json.loads(line)["logger"] == "embedroute.access"]
    assert [(e["grpc_method"], e["grpc_code"]) for e in access] == [
        ("Embed", "OK"),
        ("Embed", "INVALID_ARGUMENT"),
        ("Embed", "INVALID_ARGUMENT"),
        ("Embed", "UNAUTHENTICATED"),
    ]
    assert access[0]["request_id"] == "req-42"
    assert len({e["request_id"] for e in access}) == 4
