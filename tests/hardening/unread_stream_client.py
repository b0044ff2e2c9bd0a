"""A client that streams inputs and never reads an answer: run as its own process by the test.

    python -m tests.hardening.unread_stream_client TARGET N SECONDS
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator

import grpc

from service.rpc.generated.embedroute.v1 import embed_pb2, embed_pb2_grpc


def main(target: str, n: int, seconds: float) -> None:
    def requests() -> Iterator[embed_pb2.EmbedStreamRequest]:
        for i in range(n):
            yield embed_pb2.EmbedStreamRequest(id=str(i), input=f"an input nobody reads the answer to, number {i}")

    with grpc.insecure_channel(target) as channel:
        call = embed_pb2_grpc.EmbedServiceStub(channel).EmbedStream(requests(), timeout=seconds + 30)
        time.sleep(seconds)
        call.cancel()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))
