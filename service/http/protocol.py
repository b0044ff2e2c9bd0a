"""uvicorn's httptools protocol with the two bounds it lacks: a header deadline and a header size.

uvicorn arms no timer on a new connection and none while a header arrives, and httptools
takes headers of any size: a thousand sockets that send nothing, or half a header, stay
open for ever, and one 50 MB header is parsed and echoed. Here a connection must send a
whole request header within `http_header_timeout_seconds` of opening or of its last answer
(else it is closed, without an answer: it never was a call), and the request line and
headers together may take `http_max_header_bytes` (else 431 and the connection is closed).
A request whose header is complete is the application's to bound (service.http.calls).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from service.core.config import Settings


_TOO_LARGE = b"request header too large"


class BoundedHttpProtocol(HttpToolsProtocol):
    """One connection; `header_timeout_s` and `max_header_bytes` come from the settings (see `protocol_for`).

    Header bytes are counted as they arrive, not in httptools' callbacks: httptools gathers a
    header's whole value before it calls back, so a callback would see a 50 MB value only once
    it sat in memory. A read that starts while a header is awaited and ends with it still incomplete
    is all header bytes (asyncio reads at most 256 KiB at a time, so the count passes the bound by at
    most one read). The deadline runs from the connection's start or the last answer: the body of a
    request answered early (413) may still be arriving, and is not a header."""

    header_timeout_s = 10.0
    max_header_bytes = 65536

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        self._reading_header = True
        """From the connection's start or the end of a request's message to the end of the next header."""
        self._header_bytes = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        self._await_header()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_header_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._reading_header:
            self._header_bytes += len(data)
        super().data_received(data)
        if self._reading_header and self._header_bytes > self.max_header_bytes and not self.transport.is_closing():
            self.transport.write(
                b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain; charset=utf-8\r\n"
                b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(_TOO_LARGE), _TOO_LARGE)
            )
            self.transport.close()

    def on_headers_complete(self) -> None:
        self._stop_header_timer()
        self._reading_header = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._reading_header = True
        self._header_bytes = 0
        super().on_message_complete()

    def on_response_complete(self) -> None:
        pipelined = bool(self.pipeline)
        super().on_response_complete()
        if not pipelined and not self.transport.is_closing():
            self._await_header()

    def _await_header(self) -> None:
        self._stop_header_timer()
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._header_timed_out)

    def _stop_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timed_out(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.close()


def protocol_for(settings: Settings) -> type[BoundedHttpProtocol]:
    """The protocol class uvicorn instantiates per connection, with this server's bounds."""
    return type(
        "HttpProtocol",
        (BoundedHttpProtocol,),
        {"header_timeout_s": settings.http_header_timeout_seconds, "max_header_bytes": settings.http_max_header_bytes},
    )


__all__ = ["BoundedHttpProtocol", "protocol_for"]
