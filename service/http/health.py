"""Health over HTTP, for load balancers and Kubernetes set up for HTTP probes.

`/health` (TEI's route) and `/readyz` answer 200 while the server is ready - every planned
model serves, but those declared optional (service.app.readiness), and it is not draining -
else 503 with the reason in TEI's error body; `/readyz/MODEL` answers for one model; `/livez`
answers 200 while the process serves at all. No key is needed and no call slot is taken
(service.http.calls.is_open). The chart's probes stay gRPC; these are for what cannot speak gRPC.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from service.app import Application
from service.http import fields
from service.http.errors import answers


class HealthRoutes:
    def __init__(self, app: Application) -> None:
        self._app = app

    def routes(self) -> list[Route]:
        return [
            Route("/health", self.ready, methods=["GET"]),
            Route("/readyz", self.ready, methods=["GET"]),
            Route("/readyz/{model:path}", self.model_ready, methods=["GET"]),
            Route("/livez", self.live, methods=["GET"]),
        ]

    @answers("tei", fields.NONE)
    async def ready(self, request: Request) -> Response:
        if (reason := self._app.unready()) is not None:
            raise reason
        return JSONResponse({"status": "ok"})

    @answers("tei", fields.NONE)
    async def model_ready(self, request: Request) -> Response:
        model: str = request.path_params["model"]
        if (reason := self._app.unready(model)) is not None:
            raise reason
        return JSONResponse({"status": "ok", "model": model})

    async def live(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})
