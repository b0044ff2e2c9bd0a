"""The GPU's engine layout (256 sequences a step, flash attention, long steps) answers what the CPU's
answers, through the server: streams, split documents, shared prefixes and truncation, on the F32
test models (issue #27). On this CPU-only build the layout is forced by the settings a GPU
placement would get from the router."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import numpy as np
import pytest

from service.rpc.generated.embedroute.v1 import common_pb2, embed_pb2, embed_pb2_grpc, rerank_pb2, rerank_pb2_grpc
from tests.conftest import SynthModels
from tests.rpc.harness import RunningServer, server_settings

LINES = " ".join(f"line {i}: the river bends past the mill and the old stone bridge." for i in range(14))
TEXTS = ["What is the capital of China?", LINES, "Explain gravity", LINES[:300], "a cat on a mat"] * 6
QUERY = "Which bridge crosses the river by the mill?"
DOCUMENTS = ["The stone bridge by the mill.", LINES, "A cat sleeps on the warm mat.", "x " * 600] * 5
GPU_LAYOUT = {"max_sequences": 256, "flash_attention": "on", "step_tokens": 512}
CPU_LAYOUT = {"step_tokens": 32}
"""32-token steps: documents split over many steps on the CPU side of the comparison."""


@pytest.fixture(scope="module")
def f32_models(synth_models: SynthModels, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("f32-models")
    for source in (synth_models.embedding["F32"], synth_models.reranker_cls["F32"]):
        (folder / source.name).symlink_to(source)
    return folder


@pytest.fixture(scope="module")
def servers(f32_models: Path) -> Iterator[tuple[RunningServer, RunningServer]]:
    gpu = RunningServer(server_settings(f32_models, cache="off", **GPU_LAYOUT)).load()
    cpu = RunningServer(server_settings(f32_models, cache="off", **CPU_LAYOUT)).load()
    yield gpu, cpu
    gpu.stop()
    cpu.stop()


def streamed_vectors(target: str) -> dict[str, np.ndarray]:
    query = embed_pb2.EmbedOptions(input_type=common_pb2.INPUT_TYPE_QUERY)
    truncated = embed_pb2.EmbedOptions(truncate=True, dimensions=64)
    requests = [
        embed_pb2.EmbedStreamRequest(id=f"{i}", input=text, options=[None, query, truncated][i % 3])
        for i, text in enumerate(TEXTS)
    ]
    with grpc.insecure_channel(target) as channel:
        responses = list(embed_pb2_grpc.EmbedServiceStub(channel).EmbedStream(iter(requests), timeout=300))
    return {r.id: np.array(r.embedding.float_values, dtype=np.float64) for r in responses}


def streamed_scores(target: str) -> dict[int, float]:
    head = rerank_pb2.RerankStreamRequest(query=QUERY, truncate=True, documents=DOCUMENTS[:6])
    rest = [rerank_pb2.RerankStreamRequest(documents=DOCUMENTS[i : i + 7]) for i in range(6, len(DOCUMENTS), 7)]
    with grpc.insecure_channel(target) as channel:
        responses = list(rerank_pb2_grpc.RerankServiceStub(channel).RerankStream(iter([head, *rest]), timeout=300))
    return {r.index: r.score for response in responses if not response.final for r in response.results}


def test_the_servers_run_the_layouts(servers: tuple[RunningServer, RunningServer]) -> None:
    gpu, cpu = servers
    rt = gpu.worker("qwen3-embedding-tiny").model._rt
    assert (rt.n_seq_max, rt.flash_attn, rt.n_batch) == (256, True, 512)
    rt = cpu.worker("qwen3-embedding-tiny").model._rt
    assert (rt.n_seq_max, rt.flash_attn, rt.n_batch) == (16, False, 32)


def test_embed_streams_agree(servers: tuple[RunningServer, RunningServer]) -> None:
    gpu, cpu = (streamed_vectors(s.target) for s in servers)
    assert sorted(gpu) == sorted(cpu) == sorted(str(i) for i in range(len(TEXTS)))
    cosines = [gpu[k] @ cpu[k] / (np.linalg.norm(gpu[k]) * np.linalg.norm(cpu[k])) for k in gpu]
    assert min(cosines) >= 0.99999


def test_rerank_streams_agree(servers: tuple[RunningServer, RunningServer]) -> None:
    gpu, cpu = (streamed_scores(s.target) for s in servers)
    assert sorted(gpu) == sorted(cpu) == list(range(len(DOCUMENTS)))
    assert max(abs(gpu[i] - cpu[i]) for i in gpu) <= 1e-4
