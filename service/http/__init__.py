"""The HTTP front: OpenAI, Cohere/Jina and TEI shapes over the same Application as gRPC.

    front = HttpFront(app, settings, metrics)
    port = await front.start()      # on the loop the gRPC front runs on
    await front.stop(grace_s)

One module per API family (openai, rerank, tei, health), their JSON <-> core
translation (translate), the field-name table (fields) and the one error mapping
(errors); the bookkeeping and API keys around them (calls), and the server (server).
"""

from __future__ import annotations

from service.http.server import HttpFront, asgi_app

__all__ = ["HttpFront", "asgi_app"]
