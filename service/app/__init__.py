"""The application layer: one transport-neutral request path for every front.

    app = Application(Registry(plans), settings)
    result = await app.embed(EmbedCall(model="", inputs=["text"], options=EmbedOptions()))

Fronts (service.rpc, service.http) translate their wire format into
`service.core.requests`, call one of these methods, and translate the results and
domain errors back. Below it: the scheduler (service.scheduler), then the engine.
"""

from __future__ import annotations

from service.app.application import Application, background
from service.app.registry import LoadState, Registry, ServedModel

__all__ = ["Application", "LoadState", "Registry", "ServedModel", "background"]
