"""ASGI middleware: the request id, the body-size limit (before anything parses a body) and request metrics."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from feedbackml.serve.errors import ApiError, ErrorType
from feedbackml.serve.metrics import Metrics

log = logging.getLogger("feedbackml.serve")


def request_id_of(scope: Scope) -> str:
    """The request's id, made once and kept in the scope's state (and sent back as X-Request-ID)."""
    state = scope.setdefault("state", {})
    if "request_id" not in state:
        state["request_id"] = uuid.uuid4().hex[:16]
    return str(state["request_id"])


class BodyLimitMiddleware:
    """413 for bodies over the limit, judged by Content-Length when given and by counting the bytes of a chunked
    body as they arrive — before anything parses them."""

    def __init__(self, app: ASGIApp, max_bytes: int, on_reject: Callable[[], None] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.on_reject = on_reject

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(scope, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._reject(scope, send)
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

    async def _reject(self, scope: Scope, send: Send) -> None:
        if self.on_reject is not None:
            self.on_reject()
        error = ApiError(
            ErrorType.payload_too_large,
            f"request body is larger than {self.max_bytes} bytes (expected at most FEEDBACKML_MAX_BODY_BYTES)",
        )
        response = JSONResponse(error.body(request_id_of(scope)), status_code=error.status)
        await response(scope, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


def observe_requests(app: FastAPI, metrics: Metrics) -> Callable[[Request, Any], Awaitable[Any]]:
    """Counts and times every request by route (unknown paths as "other") and sets X-Request-ID."""
    known_paths: set[str] = set()

    async def observe(request: Request, call_next: Callable[[Request], Awaitable[Any]]) -> Any:
        request_id = request_id_of(request.scope)
        started = time.perf_counter()
        if not known_paths:  # routes are all registered by the first request; included routers list theirs
            known_paths.update(app.openapi()["paths"])  # in the (cached) OpenAPI document, not in app.routes
            known_paths.update(path for r in app.routes if (path := getattr(r, "path", None)))
        route = request.url.path if request.url.path in known_paths else "other"
        try:
            response = await call_next(request)
        except Exception:  # pragma: no cover - the exception handlers catch what they can; this is the last net
            log.error("unhandled error in request %s", request_id)
            response = JSONResponse(ApiError(ErrorType.internal, "internal error").body(request_id), status_code=500)
        response.headers["X-Request-ID"] = request_id
        metrics.requests.labels(route, str(response.status_code)).inc()
        metrics.latency.labels(route).observe(time.perf_counter() - started)
        return response

    return observe
