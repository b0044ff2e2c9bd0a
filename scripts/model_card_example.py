"""What the demo serves and why (one line a model, from ModelService), then the Qwen3-Embedding
model card's example through the gRPC API: two queries with the web-search instruction, two
documents, and the query x document similarity matrix."""

from __future__ import annotations

import sys

import grpc
import numpy as np

from service.rpc.generated.embedroute.v1 import (
    common_pb2,
    embed_pb2,
    embed_pb2_grpc,
    model_pb2,
    model_pb2_grpc,
    rerank_pb2,
    rerank_pb2_grpc,
)

QUERIES = ["What is the capital of China?", "Explain gravity"]
DOCUMENTS = [
    "The capital of China is Beijing.",
    "Gravity is a force that attracts two bodies towards each other. It gives weight to physical objects "
    "and is responsible for the movement of planets around the sun.",
]
TASK = "Given a web search query, retrieve relevant passages that answer the query"


def embed(stub: embed_pb2_grpc.EmbedServiceStub, texts: list[str], input_type: int) -> np.ndarray:
    options = embed_pb2.EmbedOptions(input_type=input_type, instruction=TASK)
    reply = stub.Embed(embed_pb2.EmbedRequest(inputs=texts, options=options), timeout=60)
    return np.array([list(e.float_values) for e in reply.embeddings], dtype=np.float32)


def served(channel: grpc.Channel) -> None:
    """The model ids the README's examples may name, each with the router's reason for its file."""
    for model in model_pb2_grpc.ModelServiceStub(channel).ListModels(model_pb2.ListModelsRequest(), timeout=60).models:
        kind = model_pb2.ModelKind.Name(model.kind).removeprefix("MODEL_KIND_").lower()
        device = model_pb2.Device.Name(model.placement.device).removeprefix("DEVICE_").lower()
        print(f"served: {model.id} ({kind}, {model.dimensions} dimensions) from {model.file.file_name} "
              f"({model.file.quant}, {device}): {model.reason}")
    print()


def main(target: str) -> int:
    with grpc.insecure_channel(target) as channel:
        served(channel)
        embedder = embed_pb2_grpc.EmbedServiceStub(channel)
        try:
            queries = embed(embedder, QUERIES, common_pb2.INPUT_TYPE_QUERY)
            documents = embed(embedder, DOCUMENTS, common_pb2.INPUT_TYPE_DOCUMENT)
        except grpc.RpcError as exc:  # e.g. several embedding models and no default_model: say so, no traceback
            print(f"embedding failed: {exc.code().name}: {exc.details()}", file=sys.stderr)
            return 1
        print("similarity (queries x documents):")
        for query, row in zip(QUERIES, queries @ documents.T):
            print(f"  {query:32s} " + "  ".join(f"{v:+.4f}" for v in row))
        try:
            reply = rerank_pb2_grpc.RerankServiceStub(channel).Rerank(
                rerank_pb2.RerankRequest(query=QUERIES[0], documents=DOCUMENTS), timeout=60
            )
        except grpc.RpcError as exc:
            print(f"rerank unavailable: {exc.code().name}")
            return 0
        scoring = rerank_pb2.Scoring.Name(reply.scoring).removeprefix("SCORING_").lower()
        print(f"rerank for {QUERIES[0]!r} (scored by {scoring}):")
        for result in reply.results:
            print(f"  document {result.index}: {result.score:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
