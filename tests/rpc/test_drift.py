"""`embedroute drift`: two servers, one serving F16 and one Q8_0 of the same model."""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable, Iterator
from concurrent import futures
from contextlib import contextmanager
from pathlib import Path

import grpc
import pytest

from service.cli import main as cli_main
from service.drift import PROBES, main
from service.rpc.generated.embedroute.v1 import embed_pb2, embed_pb2_grpc, model_pb2, model_pb2_grpc
from tests.conftest import SynthModels
from tests.rpc.harness import RunningServer, server_settings


def _server(source: Path, folder: Path) -> RunningServer:
    folder.mkdir()
    (folder / source.name).symlink_to(source)
    return RunningServer(server_settings(folder)).load()


@pytest.fixture(scope="module")
def pair(synth_models: SynthModels, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str]]:
    root = tmp_path_factory.mktemp("drift")
    f16 = _server(synth_models.embedding["F16"], root / "f16")
    q8 = _server(synth_models.embedding["Q8_0"], root / "q8")
    same = _server(synth_models.embedding["F16"], root / "f16-again")
    yield f16.target, q8.target, same.target
    for server in (f16, q8, same):
        server.stop()


def drift(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(args), out), out.getvalue()


def cosines(text: str) -> list[float]:
    return [float(m) for m in re.findall(r"^([01]\.\d{6})  (?:document|query): ", text, re.M)]


def test_prints_ids_and_a_cosine_per_text(pair: tuple[str, str, str]) -> None:
    f16, q8, _ = pair
    code, text = drift(f16, q8, "--threshold", "0.9")
    lines = text.splitlines()
    assert re.match(rf"^A  {re.escape(f16)}  qwen3-embedding-tiny F16  256 dims  vector space vs1-[0-9a-f]{{16}}$", lines[0])
    assert re.match(rf"^B  {re.escape(q8)}  qwen3-embedding-tiny Q8_0  256 dims  vector space vs1-[0-9a-f]{{16}}$", lines[1])
    assert lines[0].rsplit(" ", 1)[1] != lines[1].rsplit(" ", 1)[1]
    values = cosines(text)
    assert len(values) == 2 * len(PROBES)
    assert 0.99 < min(values) < 0.99999
    assert f"min {min(values):.6f}  mean " in text
    assert code == 0 and lines[-1] == "verdict: different ids, but every cosine is at least 0.9: close enough to mix"


def test_exits_1_only_when_the_threshold_is_crossed(pair: tuple[str, str, str]) -> None:
    f16, q8, _ = pair
    _, text = drift(f16, q8, "--threshold", "0.9")
    low = min(cosines(text))
    below, above = round(low + 0.000002, 6), round(low - 0.000002, 6)
    code, text = drift(f16, q8, "--threshold", str(below))
    assert code == 1 and text.splitlines()[-1].startswith("verdict: DIFFERENT spaces: ")
    assert drift(f16, q8, "--threshold", str(above))[0] == 0


def test_the_same_file_is_the_same_space(pair: tuple[str, str, str]) -> None:
    f16, _, same = pair
    code, text = drift(f16, same, "--threshold", "0.999999")
    assert min(cosines(text)) == 1.0
    assert (code, text.splitlines()[-1]) == (0, "verdict: same vector space (equal ids)")


def test_user_texts_and_the_cli_entry_point(pair: tuple[str, str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f16, q8, _ = pair
    texts = tmp_path / "texts.txt"
    texts.write_text("first line of mine\n\nsecond line of mine\n", encoding="utf-8")
    code = cli_main(["drift", f16, q8, "--texts", str(texts), "--no-probes", "--threshold", "0.5"])
    out = capsys.readouterr().out
    assert code == 0
    assert len(cosines(out)) == 4 and "document: second line of mine" in out and "query: first line of mine" in out


def test_an_unreachable_server_is_exit_2(pair: tuple[str, str, str], capsys: pytest.CaptureFixture[str]) -> None:
    f16, _, _ = pair
    assert main([f16, "127.0.0.1:1", "--timeout", "2"]) == 2
    assert capsys.readouterr().err.startswith("embedroute drift: 127.0.0.1:1: UNAVAILABLE: ")


class _Peer(embed_pb2_grpc.EmbedServiceServicer, model_pb2_grpc.ModelServiceServicer):
    """A server that answers drift with the vectors a test chooses: what drift must check, since it
    compares servers it did not build (a faulty build, another vendor's server behind our contract)."""

    def __init__(self, vectors: Callable[[int], list[list[float]]], dimensions: int) -> None:
        self._vectors = vectors
        self._dimensions = dimensions

    def Embed(self, request: embed_pb2.EmbedRequest, context: grpc.ServicerContext) -> embed_pb2.EmbedResponse:
        rows = self._vectors(len(request.inputs))
        return embed_pb2.EmbedResponse(
            model="peer", dimensions=self._dimensions, vector_space_id="vs1-0000000000000000",
            embeddings=[embed_pb2.Embedding(index=i, float_values=row) for i, row in enumerate(rows)],
        )

    def GetModel(self, request: model_pb2.GetModelRequest, context: grpc.ServicerContext) -> model_pb2.GetModelResponse:
        return model_pb2.GetModelResponse(model=model_pb2.Model(id="peer"))


@contextmanager
def _peer(vectors: Callable[[int], list[list[float]]], dimensions: int = 2) -> Iterator[str]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    peer = _Peer(vectors, dimensions)
    embed_pb2_grpc.add_EmbedServiceServicer_to_server(peer, server)
    model_pb2_grpc.add_ModelServiceServicer_to_server(peer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop(None)


def _unit(n: int) -> list[list[float]]:
    return [[0.6, 0.8]] * n


@pytest.mark.parametrize(("vectors", "dimensions", "why"), [
    (lambda n: [[math.nan, 0.0]] * n, 2, f"{2 * len(PROBES)} vectors hold NaN or infinite values (the first is vector 0)"),
    (lambda n: [[0.6, 0.8]] * (n - 1) + [[math.inf, 0.0]], 2, "2 vectors hold NaN or infinite values (the first is "
                                                               f"vector {len(PROBES) - 1})"),
    (lambda n: [[1.2, 1.6]] * n, 2, f"{2 * len(PROBES)} vectors are not normalised (vector 0 has length 2); asked "
                                    "with normalize=true"),
    (lambda n: [[0.0, 0.0]] * n, 2, f"{2 * len(PROBES)} vectors are not normalised (vector 0 has length 0); asked "
                                    "with normalize=true"),
    (lambda n: _unit(n - 1), 2, f"{len(PROBES) - 1} vectors for {len(PROBES)} texts"),
    (lambda n: _unit(n) + [[1.0, 0.0]], 2, f"{len(PROBES) + 1} vectors for {len(PROBES)} texts"),
    (_unit, 3, "the answer says 3 dimensions but its vectors have 2"),
    (lambda n: [[1.0]] + _unit(n - 1), 2, "the answer says 2 dimensions but its vectors have 1, 2"),
])
def test_vectors_that_cannot_be_compared_are_exit_2(
    pair: tuple[str, str, str], capsys: pytest.CaptureFixture[str],
    vectors: Callable[[int], list[list[float]]], dimensions: int, why: str,
) -> None:
    f16, _, _ = pair
    with _peer(vectors, dimensions) as peer:
        assert main([f16, peer]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"embedroute drift: {peer}: unusable answer: {why}\n"
    assert "verdict" not in captured.out and "Traceback" not in captured.err


def test_a_peer_with_good_vectors_is_compared(capsys: pytest.CaptureFixture[str]) -> None:
    with _peer(_unit) as a, _peer(lambda n: [[0.8, 0.6]] * n) as b:
        code, text = drift(a, b)
    assert code == 1
    assert set(cosines(text)) == {0.96}
