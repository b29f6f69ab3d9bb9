"""The HTTP server around the app: uvicorn's httptools protocol (h11 where httptools is not installed) with the
guards the app cannot give itself — a read deadline for request headers, a cap on open connections,
protocol-level 400s in the one error shape with an X-Request-ID — and an access log that records paths without
query strings. httptools parses in C, leaving more of the cores to inference than h11's pure Python.
``feedbackml serve`` and the live tests build the server here, so both run the same guards."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import uuid
from collections.abc import Callable
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.h11_impl import H11Protocol

from feedbackml.serve.errors import STATUS, ErrorType, error_json
from feedbackml.serve.metrics import Metrics
from feedbackml.serve.settings import ServeSettings

REASONS = {400: "Bad Request", 408: "Request Timeout", 429: "Too Many Requests"}


def raw_error(error_type: ErrorType, message: str, retry_after_s: int = 1) -> bytes:
    """A whole HTTP/1.1 error response, one error body, closing: for answers given before the parser has a request."""
    request_id = uuid.uuid4().hex[:16]
    status = STATUS[error_type]
    body = error_json(error_type, message, request_id)
    head = (
        f"HTTP/1.1 {status} {REASONS[status]}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\nx-request-id: {request_id}\r\n"
        + (f"retry-after: {retry_after_s}\r\n" if status == 429 else "")
        + "\r\n"
    )
    return head.encode() + body


class Guards:
    """A header deadline and a connection cap for either of uvicorn's HTTP/1.1 protocols (both keep ``cycle``,
    ``connections``, ``transport`` and ``loop`` and call the hooks below); bound to settings by ``protocol_for``."""

    header_timeout_s: float = 10.0
    max_connections: int = 256
    retry_after_s: int = 1
    metrics: Metrics | None = None

    _header_timer: asyncio.TimerHandle | None = None
    _awaited: object = None  # the cycle current when the deadline was armed; a new one means headers arrived

    cycle: Any
    connections: Any
    transport: Any
    loop: Any

    def connection_made(self, transport: asyncio.Transport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        if len(self.connections) > self.max_connections:
            self._refuse(ErrorType.overloaded, "too many open connections (FEEDBACKML_MAX_CONNECTIONS); retry", 429)
            return
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)  # type: ignore[misc]
        if self.cycle is not self._awaited:
            self._disarm()

    def on_response_complete(self) -> None:
        self._arm()  # the next request's headers are due from now (a pipelined one may already be in)
        super().on_response_complete()  # type: ignore[misc]
        if self.cycle is not self._awaited or self.transport.is_closing():
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)  # type: ignore[misc]

    def send_400_response(self, msg: str) -> None:
        """The parser could not read the request: the one error shape with a request id, counted, and a close."""
        self._refuse(ErrorType.malformed_request, "invalid HTTP request (expected HTTP/1.1)", 400)

    def _arm(self) -> None:
        self._disarm()
        self._awaited = self.cycle
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._headers_late)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_late(self) -> None:
        self._header_timer = None
        if self.cycle is self._awaited and not self.transport.is_closing():
            message = f"request headers not received within {self.header_timeout_s} s (FEEDBACKML_HEADER_TIMEOUT_S)"
            self._refuse(ErrorType.request_timeout, message, 408)

    def _refuse(self, error_type: ErrorType, message: str, status: int) -> None:
        self._disarm()
        if self.metrics is not None:
            self.metrics.reject(error_type)
            self.metrics.requests.labels("other", str(status)).inc()
        if not self.transport.is_closing():
            self.transport.write(raw_error(error_type, message, self.retry_after_s))
            self.transport.close()


def http_protocol() -> type:
    """uvicorn's httptools protocol when httptools is installed (a dependency), else its h11 protocol."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:
        return H11Protocol
    return HttpToolsProtocol


def protocol_for(settings: ServeSettings, metrics: Metrics | None) -> type:
    """The protocol class uvicorn instantiates per connection, with this server's limits."""
    limits = {
        "header_timeout_s": settings.header_timeout_s,
        "max_connections": settings.max_connections,
        "retry_after_s": settings.retry_after_s,
        "metrics": metrics,
    }
    return type("FeedbackmlProtocol", (Guards, http_protocol()), limits)


class PathOnlyAccessLog(logging.Filter):
    """Access log lines keep the path and drop the query string (which can carry anything a caller typed)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return True


def server_config(settings: ServeSettings, app: FastAPI, **overrides: Any) -> uvicorn.Config:
    """uvicorn's configuration with every guard of ``settings``; ``overrides`` for tests (port, log level)."""
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": "info",
        "timeout_graceful_shutdown": 30,
        "timeout_keep_alive": settings.keep_alive_s,
        "http": protocol_for(settings, getattr(app.state, "metrics", None)),
        "lifespan": "on",
        **overrides,
    }
    config = uvicorn.Config(app, **options)
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, PathOnlyAccessLog) for f in access.filters):
        access.addFilter(PathOnlyAccessLog())
    return config


class DrainingServer(uvicorn.Server):
    """SIGTERM/SIGINT: report not-ready at once, then let uvicorn finish in-flight requests and exit; SIGHUP
    reloads the model (a failed reload keeps the old model and is logged)."""

    def __init__(self, config: uvicorn.Config, app: FastAPI) -> None:
        super().__init__(config)
        self.served_app = app
        self._reloads: set[asyncio.Task[None]] = set()

    def handle_exit(self, sig: int, frame: Any) -> None:
        with contextlib.suppress(AttributeError):
            self.served_app.state.service.draining = True
        super().handle_exit(sig, frame)

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets)
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGHUP, self._on_hangup(loop))

    def _on_hangup(self, loop: asyncio.AbstractEventLoop) -> Callable[[], None]:
        def hangup() -> None:
            async def reload() -> None:
                with contextlib.suppress(Exception):  # a failed reload keeps the old model and is logged
                    await self.served_app.state.reload()

            task = loop.create_task(reload())
            self._reloads.add(task)
            task.add_done_callback(self._reloads.discard)

        return hangup
