"""ASGI middleware, plain ASGI (no ``BaseHTTPMiddleware``, so a client that goes away is seen, not turned into an
error): the request id and request metrics around everything, then the body limit and body read deadline before
anything parses a body."""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from feedbackml.serve.errors import ErrorType, error_json
from feedbackml.serve.metrics import Metrics

log = logging.getLogger("feedbackml.serve")
DISCONNECTED = "499"  # status label of a request whose client went away before an answer (nginx's convention)


_REQUEST_ID = re.compile(rb"[A-Za-z0-9._-]{1,64}")


def request_id_of(scope: Scope) -> str:
    """The request's id, kept in the scope's state and sent back as X-Request-ID: the client's own X-Request-ID
    when it is well-formed (1-64 letters, digits, '.', '_', '-'), so one id follows a call through both systems;
    otherwise a new one."""
    state = scope.setdefault("state", {})
    if "request_id" not in state:
        given = next((value for name, value in scope.get("headers", ()) if name == b"x-request-id"), b"")
        state["request_id"] = given.decode() if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex[:16]
    return str(state["request_id"])


async def send_error(
    scope: Scope, send: Send, error_type: ErrorType, message: str, status: int, *, close: bool = False
) -> None:
    """One error body straight onto the ASGI ``send`` (for refusals made before the app runs)."""
    body = error_json(error_type, message, request_id_of(scope))
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """413 for bodies over the limit (by Content-Length when given, else by counting chunked bytes as they
    arrive) and 408 plus a close for a body not all in within ``timeout_s`` — before anything parses it."""

    def __init__(
        self, app: ASGIApp, max_bytes: int, timeout_s: float, on_reject: Callable[[ErrorType], None] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s
        self.on_reject = on_reject

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(scope, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        deadline = asyncio.get_running_loop().time() + self.timeout_s
        while more:
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                await self._reject(
                    scope,
                    send,
                    ErrorType.request_timeout,
                    f"request body not received within {self.timeout_s} s (FEEDBACKML_BODY_TIMEOUT_S)",
                )
                return
            if message["type"] == "http.disconnect":
                return  # the client went away: nothing to answer (counted as a disconnect by the observer)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(scope, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, send: Send) -> None:
        message = f"request body is larger than {self.max_bytes} bytes (expected at most FEEDBACKML_MAX_BODY_BYTES)"
        await self._reject(scope, send, ErrorType.payload_too_large, message)

    async def _reject(self, scope: Scope, send: Send, error_type: ErrorType, message: str) -> None:
        """Refuse and close: the rest of the body is never read, so the connection cannot be reused."""
        if self.on_reject is not None:
            self.on_reject(error_type)
        await send_error(
            scope, send, error_type, message, 413 if error_type is ErrorType.payload_too_large else 408, close=True
        )


class ObserveMiddleware:
    """Counts and times every request by route (unknown paths as "other"), sets X-Request-ID, refuses framing
    that could smuggle a request, and keeps a client's disconnect quiet: no traceback, counted as 499."""

    def __init__(self, app: ASGIApp, metrics: Metrics, known_paths: Callable[[], set[str]]) -> None:
        self.app = app
        self.metrics = metrics
        self.known_paths = known_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        started = time.perf_counter()
        path = scope.get("path", "")
        route = path if path in self.known_paths() else "other"
        status: list[int] = []
        disconnected = False

        async def observed_receive() -> Message:
            nonlocal disconnected
            message = await receive()
            disconnected = disconnected or message["type"] == "http.disconnect"
            return message

        async def observed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
                message = {**message, "headers": [*message.get("headers", []), (b"x-request-id", request_id.encode())]}
            await send(message)

        try:
            if _smuggling(scope):
                self.metrics.reject(ErrorType.malformed_request)
                message = "both Content-Length and Transfer-Encoding are set (expected one framing)"
                await send_error(scope, observed_send, ErrorType.malformed_request, message, 400, close=True)
            else:
                await self.app(scope, observed_receive, observed_send)
        except Exception as error:  # the last net: one line in the log, never the request's text or a traceback
            if disconnected:
                log.info("client went away during request %s", request_id)
            else:
                log.error("unhandled %s in request %s", type(error).__name__, request_id)
                if not status:
                    await send_error(scope, observed_send, ErrorType.internal, "internal error", 500)
        label = str(status[0]) if status else DISCONNECTED if disconnected else "500"
        self.metrics.requests.labels(route, label).inc()
        self.metrics.latency.labels(route).observe(time.perf_counter() - started)


def _smuggling(scope: Scope) -> bool:
    """Content-Length together with Transfer-Encoding: two framings two parsers may read differently."""
    names = {name.lower() for name, _ in scope.get("headers") or []}
    return b"content-length" in names and b"transfer-encoding" in names
