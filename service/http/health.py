"""Health over HTTP, for load balancers and Kubernetes set up for HTTP probes.

`/health` (TEI's route) and `/readyz` answer 200 once a model is ready and until the
server starts draining, else 503 with TEI's error body; `/livez` answers 200 while the
process serves at all. No key is needed (service.http.calls.OPEN_PATHS). The chart's
probes stay gRPC; these are for what cannot speak gRPC.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from service.app import Application
from service.core.errors import UnavailableError
from service.http import fields
from service.http.errors import answers


class HealthRoutes:
    def __init__(self, app: Application) -> None:
        self._app = app

    def routes(self) -> list[Route]:
        return [
            Route("/health", self.ready, methods=["GET"]),
            Route("/readyz", self.ready, methods=["GET"]),
            Route("/livez", self.live, methods=["GET"]),
        ]

    @answers("tei", fields.NONE)
    async def ready(self, request: Request) -> Response:
        if self._app.draining:
            raise UnavailableError("the server is shutting down", reason="DRAINING")
        if not any(m.state == "ready" for m in self._app.models()):
            raise UnavailableError("no model is ready yet", reason="NOT_READY")
        return JSONResponse({"status": "ok"})

    async def live(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})
