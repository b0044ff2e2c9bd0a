"""The Qwen3-Embedding model card's example through the client: two queries with the
web-search instruction, two documents, their similarity matrix, then a rerank.

    python examples/model_card.py 127.0.0.1:50051 [API_KEY]
"""

from __future__ import annotations

import sys

from embedroute_client import Client

QUERIES = ["What is the capital of China?", "Explain gravity"]
DOCUMENTS = [
    "The capital of China is Beijing.",
    "Gravity is a force that attracts two bodies towards each other. It gives weight to physical objects "
    "and is responsible for the movement of planets around the sun.",
]
TASK = "Given a web search query, retrieve relevant passages that answer the query"


def main(target: str, api_key: str | None) -> int:
    with Client(target, api_key=api_key) as client:
        queries = client.embed(QUERIES, input_type="query", instruction=TASK)
        documents = client.embed(DOCUMENTS, input_type="document")
        print("similarity (queries x documents):")
        for query, row in zip(QUERIES, client.similarity(queries, documents)):
            print(f"  {query:32s} " + "  ".join(f"{v:+.4f}" for v in row))
        print(f"rerank for {QUERIES[0]!r}:")
        for result in client.rerank(QUERIES[0], DOCUMENTS):
            print(f"  document {result.index}: {result.score:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None))
