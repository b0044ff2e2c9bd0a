"""TEI's own gRPC clients work against embedroute unchanged: a client generated in the test from the
tei.v1 contract calls Info, Embed, EmbedStream, Rerank, RerankStream and Tokenize over the gRPC port, and
grpcurl finds tei.v1.Embed by reflection.

The client runs in its own process, as a TEI user's would: generated code of the same package in the
server's process would clash with the server's descriptors.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest

from service.rpc.generated.embedroute.v1 import common_pb2, embed_pb2, embed_pb2_grpc, rerank_pb2, rerank_pb2_grpc
from tests.rpc.conftest import EMBED_MODEL, RERANK_MODEL
from tests.rpc.harness import RunningServer
from tests.rpc.test_grpcurl import grpcurl_binary

CONTRACT = Path(__file__).resolve().parents[2] / "protos" / "tei" / "v1" / "tei.proto"
TEXTS = ["What is the capital of China?", "Beijing is the capital of China.", "Bananas are yellow.", "hi"]

CLIENT = '''
import json, sys
import grpc
from google.protobuf.json_format import MessageToDict
import tei_pb2 as pb, tei_pb2_grpc as rpc

texts = json.loads(sys.argv[2])
out = {}
with grpc.insecure_channel(sys.argv[1]) as ch:
    out["info"] = MessageToDict(rpc.InfoStub(ch).Info(pb.InfoRequest()), preserving_proto_field_name=True)
    embed = rpc.EmbedStub(ch)
    one = embed.Embed(pb.EmbedRequest(inputs=texts[0], normalize=True))
    out["embed"] = list(one.embeddings)
    out["embed_metadata"] = MessageToDict(one.metadata, preserving_proto_field_name=True)
    out["embed_query_64"] = list(embed.Embed(pb.EmbedRequest(inputs=texts[0], normalize=True, prompt_name="query", dimensions=64)).embeddings)
    out["stream"] = [list(r.embeddings) for r in embed.EmbedStream(iter([pb.EmbedRequest(inputs=t, normalize=True) for t in texts]))]
    rerank = rpc.RerankStub(ch)
    ranked = rerank.Rerank(pb.RerankRequest(query=texts[0], texts=texts[1:], return_text=True))
    out["rerank"] = [MessageToDict(r, preserving_proto_field_name=True) for r in ranked.ranks]
    streamed = rerank.RerankStream(iter([pb.RerankStreamRequest(query=texts[0], text=t) for t in texts[1:]]))
    out["rerank_stream"] = [MessageToDict(r, preserving_proto_field_name=True) for r in streamed.ranks]
    tokenize = rpc.TokenizeStub(ch).Tokenize
    out["tokens"] = [MessageToDict(t, preserving_proto_field_name=True) for t in tokenize(pb.EncodeRequest(inputs="hello world")).tokens]
    out["tokens_special"] = [MessageToDict(t, preserving_proto_field_name=True)
                             for t in tokenize(pb.EncodeRequest(inputs="hello world", add_special_tokens=True)).tokens]
    ids = [t.id for t in tokenize(pb.EncodeRequest(inputs="hello world", add_special_tokens=True)).tokens]
    decode = rpc.TokenizeStub(ch).Decode
    out["decoded"] = [decode(pb.DecodeRequest(ids=ids)).text, decode(pb.DecodeRequest(ids=ids, skip_special_tokens=True)).text]
    errors = {}
    later = lambda **kw: rerank.RerankStream(iter([pb.RerankStreamRequest(query=texts[0], text=texts[1]),
                                                   pb.RerankStreamRequest(text=texts[2], **kw)]))
    delivered = []
    try:
        for r in embed.EmbedStream(iter([pb.EmbedRequest(inputs=t) for t in [texts[0], texts[1], " "]])):
            delivered.append(len(r.embeddings))
    except grpc.RpcError as exc:
        out["stream_then_error"] = [delivered, exc.code().name]
    out["later_empty_query"] = [r.index for r in later().ranks]
    out["later_same_query"] = [r.index for r in later(query=texts[0]).ranks]
    for name, call in [
        ("later_query", lambda: later(query="another question")),
        ("later_raw", lambda: later(query=texts[0], raw_scores=True, return_text=True)),
        ("sparse", lambda: embed.EmbedSparse(pb.EmbedSparseRequest(inputs="x"))),
        ("predict", lambda: rpc.PredictStub(ch).Predict(pb.PredictRequest(inputs="x"))),
        ("empty", lambda: embed.Embed(pb.EmbedRequest(inputs=" "))),
        ("left", lambda: embed.Embed(pb.EmbedRequest(inputs="x", truncation_direction=pb.TRUNCATION_DIRECTION_LEFT))),
    ]:
        try:
            call()
        except grpc.RpcError as exc:
            errors[name] = [exc.code().name, exc.details()]
    out["errors"] = errors
print(json.dumps(out))
'''


@pytest.fixture(scope="module")
def tei_client(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tei_pb2 and tei_pb2_grpc generated from the contract, as a TEI user generates them."""
    folder = tmp_path_factory.mktemp("tei-client")
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{CONTRACT.parent}", f"--python_out={folder}",
         f"--grpc_python_out={folder}", str(CONTRACT)],
        check=True,
    )
    (folder / "client.py").write_text(CLIENT)
    return folder


@pytest.fixture(scope="module")
def answers(served: RunningServer, tei_client: Path) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "client.py", served.target, json.dumps(TEXTS)],
        cwd=tei_client, capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stderr
    loaded: dict[str, Any] = json.loads(result.stdout)
    return loaded


def grpc_vectors(channel: grpc.Channel, texts: list[str], **options: Any) -> list[np.ndarray]:
    request = embed_pb2.EmbedRequest(model=EMBED_MODEL, inputs=texts, options=embed_pb2.EmbedOptions(**options))
    return [np.array(e.float_values, dtype=np.float32) for e in embed_pb2_grpc.EmbedServiceStub(channel).Embed(request).embeddings]


def test_embed_and_stream_equal_embedroute(answers: dict[str, Any], channel: grpc.Channel) -> None:
    want = grpc_vectors(channel, TEXTS)
    np.testing.assert_array_equal(np.array(answers["embed"], dtype=np.float32), want[0])
    assert len(answers["stream"]) == len(TEXTS)
    for got, expected in zip(answers["stream"], want, strict=True):  # in request order, as TEI answers
        np.testing.assert_array_equal(np.array(got, dtype=np.float32), expected)
    query = grpc_vectors(channel, TEXTS[:1], input_type=common_pb2.INPUT_TYPE_QUERY, dimensions=64)[0]
    np.testing.assert_array_equal(np.array(answers["embed_query_64"], dtype=np.float32), query)
    metadata = answers["embed_metadata"]
    assert metadata["compute_chars"] == len(TEXTS[0])
    assert int(metadata["compute_tokens"]) > 0 and int(metadata["total_time_ns"]) > 0


def test_rerank_and_stream_equal_embedroute(answers: dict[str, Any], channel: grpc.Channel) -> None:
    response = rerank_pb2_grpc.RerankServiceStub(channel).Rerank(
        rerank_pb2.RerankRequest(model=RERANK_MODEL, query=TEXTS[0], documents=TEXTS[1:])
    )
    want = [(r.index, np.float32(r.score)) for r in response.results]  # both float32 on the wire
    assert [(r.get("index", 0), np.float32(r["score"])) for r in answers["rerank"]] == want
    assert [r["text"] for r in answers["rerank"]] == [TEXTS[1 + i] for i, _ in want]
    streamed = answers["rerank_stream"]  # its documents arrive over time, so they decode in other batches:
    assert [r.get("index", 0) for r in streamed] == [i for i, _ in want]  # the layout of the KV cells moves
    assert max(abs(r["score"] - float(score)) for r, (_, score) in zip(streamed, want)) <= 1e-4  # the last digits


def test_info_tokenize_and_unimplemented(answers: dict[str, Any]) -> None:
    info = answers["info"]
    assert info["model_id"] == EMBED_MODEL and info["model_dtype"] == "Q8_0" and info["max_input_length"] == 512
    assert info["max_batch_tokens"] == 128
    assert [t["text"] for t in answers["tokens"]] == ["hello", " world"]
    assert [(t["text"], t.get("special", False)) for t in answers["tokens_special"]] == [
        ("hello", False), (" world", False), ("<|endoftext|>", True)]
    errors = answers["errors"]
    assert errors["predict"][0] == "UNIMPLEMENTED"
    assert errors["sparse"][0] == "INVALID_ARGUMENT" and "has no sparse head" in errors["sparse"][1]
    assert errors["empty"] == ["INVALID_ARGUMENT", "empty text"]
    assert errors["left"] == ["INVALID_ARGUMENT", "only TRUNCATION_DIRECTION_RIGHT is supported"]


def test_a_stream_delivers_the_results_before_a_bad_input_in_order(answers: dict[str, Any]) -> None:
    assert answers["stream_then_error"] == [[256, 256], "INVALID_ARGUMENT"]


def test_decode_keeps_special_tokens_unless_told(answers: dict[str, Any]) -> None:
    assert answers["decoded"] == ["hello world<|endoftext|>", "hello world"]  # tei.v1's bool defaults to false


def test_a_later_rerank_stream_message_cannot_change_the_query_or_options(answers: dict[str, Any]) -> None:
    assert sorted(answers["later_empty_query"]) == sorted(answers["later_same_query"]) == [0, 1]
    assert answers["errors"]["later_query"] == ["INVALID_ARGUMENT", "message 1 sets query unlike the first message; a "
                                                "stream ranks every text against the first message's query and options"]
    assert answers["errors"]["later_raw"][1].startswith("message 1 sets raw_scores, return_text unlike the first")


def test_grpcurl_lists_tei_by_reflection(served: RunningServer) -> None:
    grpcurl = grpcurl_binary()
    listed = subprocess.run([grpcurl, "-plaintext", served.target, "list"], capture_output=True, text=True, check=True)
    assert {"tei.v1.Embed", "tei.v1.Rerank", "tei.v1.Info", "tei.v1.Tokenize"} <= set(listed.stdout.split())
    methods = subprocess.run(
        [grpcurl, "-plaintext", served.target, "list", "tei.v1.Embed"], capture_output=True, text=True, check=True
    )
    assert "tei.v1.Embed.Embed" in methods.stdout.split() and "tei.v1.Embed.EmbedStream" in methods.stdout.split()
    described = subprocess.run(
        [grpcurl, "-plaintext", served.target, "describe", "tei.v1.EmbedRequest"], capture_output=True, text=True,
        check=True,
    )
    assert "optional uint32 dimensions = 6;" in described.stdout
    called = subprocess.run(
        [grpcurl, "-plaintext", "-d", '{"inputs": "hello", "normalize": true}', served.target, "tei.v1.Embed/Embed"],
        capture_output=True, text=True, check=True,
    )
    assert len(json.loads(called.stdout)["embeddings"]) == 256
