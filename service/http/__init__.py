"""The HTTP front: OpenAI, Cohere/Jina, TEI and Ollama shapes over the same Application as gRPC.

    front = HttpFront(app, settings, metrics)
    port = await front.start()      # on the loop the gRPC front runs on
    await front.stop(grace_s)

One package per API dialect (openai, cohere, tei, ollama), each with its routes and its
JSON <-> core translation; shared by them: the body reader (body), how a field table is
read (fields), the deadline a caller announces (deadlines) and the one error mapping
(errors); health routes (health), the bookkeeping and API keys around every route
(calls), and the server (server). A dialect translates and decides nothing: what more
than one front needs is the application's (service.app).
"""

from __future__ import annotations

from service.http.server import HttpFront, asgi_app, batch_endpoints

__all__ = ["HttpFront", "asgi_app", "batch_endpoints"]
