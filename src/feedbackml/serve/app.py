"""``create_app(settings)``: the FastAPI classify service. No import-time globals: everything a request touches
hangs off ``app.state.service``, built in the app's lifespan from the settings."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import inspect
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from pydantic import Field, create_model
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from feedbackml.labels import BARRIERS, SENTIMENTS
from feedbackml.model import Classifier, Prediction, load_model
from feedbackml.serve.batching import MicroBatcher
from feedbackml.serve.errors import STATUS, ApiError, ErrorType
from feedbackml.serve.schemas import (
    ClassifyRequest,
    ClassifyResponse,
    ErrorBody,
    Item,
    ItemError,
    ItemResult,
    ModelInfo,
    ReloadResponse,
)
from feedbackml.text import has_invisible

log = logging.getLogger("feedbackml.serve")
WARMUP_TEXT = "采购部门总说与我无关,审批流程也太长了。"
_PROBE_PATHS = frozenset({"/livez", "/readyz", "/metrics"})


def _error_responses(*types: ErrorType) -> dict[int | str, dict[str, Any]]:
    return {
        STATUS[t]: {"model": ErrorBody, "description": ", ".join(x.value for x in types if STATUS[x] == STATUS[t])}
        for t in types
    }


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.requests = Counter("feedbackml_requests", "HTTP requests", ["route", "status"], registry=r)
        self.latency = Histogram(
            "feedbackml_request_seconds",
            "Request latency",
            ["route"],
            registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.in_flight = Gauge("feedbackml_in_flight", "Classify requests in progress", registry=r)
        self.rejections = Counter("feedbackml_rejections", "Refused requests or items", ["reason"], registry=r)
        self.batch_size = Histogram(
            "feedbackml_batch_size", "Comments per model batch", registry=r, buckets=(1, 2, 4, 8, 16, 32, 64, 128)
        )
        self.input_chars = Histogram(
            "feedbackml_input_chars",
            "Characters per comment",
            registry=r,
            buckets=(10, 25, 50, 100, 200, 500, 1000, 2000, 5000),
        )
        self.items = Counter("feedbackml_items", "Comments classified", registry=r)
        self.reloads = Counter("feedbackml_reloads", "Model reloads", ["outcome"], registry=r)


@dataclass
class Service:
    """Everything a request needs; one per app."""

    settings: Any
    metrics: Metrics
    model: Classifier | None = None
    batcher: MicroBatcher | None = None
    ready: bool = False
    draining: bool = False
    in_flight: int = 0
    queued_items: int = 0  # comments accepted by classify and not yet answered
    reload_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def predict(self, texts: list[str], evidence: bool) -> list[Prediction]:
        if self.model is None:
            raise RuntimeError("no model loaded")
        return self.model.predict(texts, evidence=evidence)

    def model_version(self) -> str:
        return self.model.version if self.model else "none"


def _load_and_warm(settings: Any) -> Classifier:
    """Load from the configured local folder only (manifest verified) with the configured runtime, and score
    once so the first real request does not pay for lazy initialisation."""
    model = load_model(settings.model_dir, runtime=settings.runtime, threads=settings.threads)
    model.predict([WARMUP_TEXT, "好"], evidence=True)
    return model


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
        response = JSONResponse(error.body(_request_id(scope)), status_code=error.status)
        await response(scope, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


def _request_id(scope: Scope) -> str:
    state = scope.setdefault("state", {})
    if "request_id" not in state:
        state["request_id"] = uuid.uuid4().hex[:16]
    return str(state["request_id"])


def _validation_message(error: dict[str, Any]) -> tuple[str, int | None]:
    """Describe a pydantic error by location and expectation, never by the submitted value."""
    location = [str(part) for part in error.get("loc", ()) if part != "body"]
    index = None
    if len(location) >= 2 and location[0] == "items" and location[1].isdigit():
        index = int(location[1])
    where = ".".join(location) or "body"
    if error.get("type") == "json_invalid":
        return "request body is not valid JSON (expected a JSON object)", None
    if error.get("type") == "extra_forbidden":
        return f"unknown field '{where}' (expected only the documented fields)", index
    return f"field '{where}': {error.get('msg', 'invalid')}", index


def _check_key(request: Request, keys: list[Any], dev_mode: bool) -> None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if not keys and dev_mode:
        return
    if scheme.lower() != "bearer" or not token:
        raise ApiError(
            ErrorType.unauthorized,
            "missing bearer token (expected 'Authorization: Bearer <key>')",
            headers={"WWW-Authenticate": "Bearer"},
        )
    matched = False
    for key in keys:  # compare against every key, in constant time each, so timing says nothing
        matched |= hmac.compare_digest(token.encode(), key.get_secret_value().encode())
    if not matched:
        raise ApiError(ErrorType.unauthorized, "invalid API key", headers={"WWW-Authenticate": "Bearer"})


def create_app(settings: Any, *, model: Classifier | None = None) -> FastAPI:
    """Build the service. ``model`` skips loading from ``settings.model_dir`` (tests, embedding)."""
    settings.check_startable()
    metrics = Metrics()
    # The item limit is a setting, so it goes into this app's own request model and thus into its OpenAPI document.
    request_model = create_model(
        "ClassifyRequest",
        __base__=ClassifyRequest,
        items=(
            list[Item],
            Field(
                min_length=1,
                max_length=settings.max_items,
                description=f"Comments to classify (at most {settings.max_items}).",
            ),
        ),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service = Service(settings=settings, metrics=metrics)
        app.state.service = service
        service.model = model or await asyncio.get_running_loop().run_in_executor(None, _load_and_warm, settings)
        service.batcher = MicroBatcher(
            service.predict,
            max_size=settings.batch_max_size,
            max_wait_s=settings.batch_max_wait_ms / 1000,
            on_batch=metrics.batch_size.observe,
        )
        service.batcher.start()
        service.ready = True
        log.info("serving model %s from %s", service.model_version(), settings.model_dir)
        try:
            yield
        finally:
            service.draining = True
            await service.batcher.stop()

    app = FastAPI(
        title="feedbackml",
        version="1",
        description="Collaboration barriers and sentiment of Chinese employee feedback comments.",
        lifespan=lifespan,
    )

    def service_of(request: Request) -> Service:
        return request.app.state.service  # type: ignore[no-any-return]

    def require_api_key(request: Request) -> None:
        _check_key(request, settings.api_keys, settings.dev_mode)

    def require_admin_key(request: Request) -> None:
        if not settings.admin_keys:
            raise ApiError(ErrorType.forbidden, "no admin key is configured (set FEEDBACKML_ADMIN_KEYS)")
        _check_key(request, settings.admin_keys, dev_mode=False)

    # Added first, so it runs inside the observing middleware below: its 413s are counted and get a request id.
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        on_reject=metrics.rejections.labels(ErrorType.payload_too_large.value).inc,
    )
    known_paths: set[str] = set()

    @app.middleware("http")
    async def observe(request: Request, call_next: Callable[[Request], Awaitable[Any]]) -> Any:
        request_id = _request_id(request.scope)
        started = time.perf_counter()
        if not known_paths:  # routes are all registered by the first request; metrics label unknown paths "other"
            known_paths.update(getattr(r, "path", "") for r in app.routes)
        route = request.url.path if request.url.path in known_paths else "other"
        try:
            response = await call_next(request)
        except Exception:  # pragma: no cover - handlers below catch what they can; this is the last net
            log.exception("unhandled error in request %s", request_id)
            response = JSONResponse(ApiError(ErrorType.internal, "internal error").body(request_id), status_code=500)
        response.headers["X-Request-ID"] = request_id
        metrics.requests.labels(route, str(response.status_code)).inc()
        metrics.latency.labels(route).observe(time.perf_counter() - started)
        return response

    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> JSONResponse:
        if error.error_type in (
            ErrorType.overloaded,
            ErrorType.payload_too_large,
            ErrorType.timeout,
            ErrorType.unauthorized,
            ErrorType.too_many_items,
        ):
            metrics.rejections.labels(error.error_type.value).inc()
        return JSONResponse(error.body(_request_id(request.scope)), status_code=error.status, headers=error.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {}
        message, index = _validation_message(first)
        kind = ErrorType.malformed_request if first.get("type") == "json_invalid" else ErrorType.validation
        if first.get("type") == "too_long" and tuple(first.get("loc", ())) == ("body", "items"):
            kind = ErrorType.too_many_items
            message = f"too many items (expected at most {settings.max_items}, FEEDBACKML_MAX_ITEMS)"
        metrics.rejections.labels(kind.value).inc()
        return await api_error(request, ApiError(kind, message, index=index))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        kinds = {400: ErrorType.malformed_request, 401: ErrorType.unauthorized, 404: ErrorType.not_found}
        kind = kinds.get(error.status_code, ErrorType.malformed_request)
        message = {404: "no such route", 405: "method not allowed"}.get(
            error.status_code, "request body could not be read (expected UTF-8 JSON)"
        )
        body = ApiError(kind, message).body(_request_id(request.scope))
        return JSONResponse(body, status_code=error.status_code)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        request_id = _request_id(request.scope)
        log.error("unexpected %s in request %s", type(error).__name__, request_id)  # no text, no traceback args
        return JSONResponse(ApiError(ErrorType.internal, "internal error").body(request_id), status_code=500)

    @app.get("/livez", summary="The process is up")
    async def livez() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        summary="Ready to classify (model loaded and warmed, not draining)",
        responses=_error_responses(ErrorType.not_ready),
    )
    async def readyz(request: Request) -> dict[str, str]:
        service = service_of(request)
        if not service.ready or service.draining:
            raise ApiError(ErrorType.not_ready, "draining" if service.draining else "model not loaded yet")
        return {"status": "ready", "model_version": service.model_version()}

    @app.get("/metrics", summary="Prometheus metrics (no comment text)", response_class=PlainTextResponse)
    async def prometheus() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(metrics.registry).decode(), media_type=CONTENT_TYPE_LATEST)

    @app.get(
        "/v1/model",
        response_model=ModelInfo,
        dependencies=[Depends(require_api_key)],
        responses=_error_responses(ErrorType.unauthorized),
    )
    async def model_info(request: Request) -> ModelInfo:
        served = service_of(request).model
        if served is None:
            raise ApiError(ErrorType.not_ready, "model not loaded yet")
        manifest = served.manifest
        return ModelInfo(
            model_version=served.version,
            kind=served.kind,
            labels={"barriers": list(BARRIERS), "sentiments": list(SENTIMENTS)},
            thresholds=served.calibration.thresholds,
            temperature=served.calibration.temperature,
            base_model=served.meta.get("base_model", {}),
            metrics=(manifest.get("metrics") or {}).get("dev", {}),
            created=manifest.get("created"),
        )

    async def classify(request: Request, body: ClassifyRequest) -> ClassifyResponse:
        service = service_of(request)
        if not service.ready or service.draining or service.batcher is None:
            raise ApiError(ErrorType.not_ready, "not ready" if not service.draining else "draining")
        if len(body.items) > settings.max_items:
            raise ApiError(
                ErrorType.too_many_items,
                f"{len(body.items)} items (expected at most {settings.max_items}, FEEDBACKML_MAX_ITEMS)",
            )
        if service.in_flight >= settings.max_in_flight:
            raise ApiError(
                ErrorType.overloaded,
                "too many requests in flight; retry shortly",
                headers={"Retry-After": str(settings.retry_after_s)},
            )
        if service.queued_items and service.queued_items + len(body.items) > settings.max_queued_items:
            raise ApiError(
                ErrorType.overloaded,
                "too many comments waiting to be scored; retry shortly",
                headers={"Retry-After": str(settings.retry_after_s)},
            )
        evidence = settings.evidence_default if body.options.evidence is None else body.options.evidence
        service.in_flight += 1
        service.queued_items += len(body.items)
        metrics.in_flight.inc()
        try:
            return await asyncio.wait_for(
                _classify(service, body, evidence, _request_id(request.scope)), settings.request_timeout_s
            )
        except TimeoutError:
            raise ApiError(
                ErrorType.timeout, f"not done within {settings.request_timeout_s} s (FEEDBACKML_REQUEST_TIMEOUT_S)"
            ) from None
        finally:
            service.in_flight -= 1
            service.queued_items -= len(body.items)
            metrics.in_flight.dec()

    async def _classify(service: Service, body: ClassifyRequest, evidence: bool, request_id: str) -> ClassifyResponse:
        version = service.model_version()
        results: list[ItemResult | ItemError] = []
        pending: dict[int, Awaitable[Prediction]] = {}
        truncated: set[int] = set()
        for index, item in enumerate(body.items):
            text = item.text
            metrics.input_chars.observe(len(text))
            problem = None
            if not text.strip():
                problem = ApiError(
                    ErrorType.empty_text, "text is empty or whitespace only (expected a comment)", index=index
                )
            elif has_invisible(text.replace("\n", "").replace("\t", "").replace("\r", "")):
                problem = ApiError(
                    ErrorType.control_characters,
                    "text contains control characters (expected printable text)",
                    index=index,
                )
            elif len(text) > settings.max_chars and not settings.truncate_long_text:
                problem = ApiError(
                    ErrorType.text_too_long,
                    f"text has {len(text)} characters (expected at most {settings.max_chars}, FEEDBACKML_MAX_CHARS)",
                    index=index,
                )
            if problem is not None:
                metrics.rejections.labels(problem.error_type.value).inc()
                results.append(ItemError(id=item.id, error=problem.body(request_id)))
                continue
            if len(text) > settings.max_chars:
                text = text[: settings.max_chars]
                truncated.add(index)
            results.append(None)  # type: ignore[arg-type]  # filled below
            pending[index] = service.batcher.submit(text, evidence)  # type: ignore[union-attr]
        predictions = await asyncio.gather(*pending.values())
        metrics.items.inc(len(predictions))
        for (index, _), prediction in zip(pending.items(), predictions, strict=True):
            results[index] = ItemResult.from_prediction(body.items[index].id, prediction, index in truncated)
        return ClassifyResponse(model_version=version, results=results)

    # FastAPI reads parameter types from the signature: point `body` at this app's request model.
    signature = inspect.signature(classify)
    classify.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[
            parameter.replace(annotation=request_model if name == "body" else Request)
            for name, parameter in signature.parameters.items()
        ],
        return_annotation=ClassifyResponse,
    )
    app.post(
        "/v1/classify",
        response_model=ClassifyResponse,
        dependencies=[Depends(require_api_key)],
        responses=_error_responses(
            ErrorType.malformed_request,
            ErrorType.unauthorized,
            ErrorType.payload_too_large,
            ErrorType.validation,
            ErrorType.overloaded,
            ErrorType.timeout,
            ErrorType.not_ready,
            ErrorType.internal,
        ),
    )(classify)

    @app.post(
        "/v1/admin/reload",
        response_model=ReloadResponse,
        dependencies=[Depends(require_admin_key)],
        responses=_error_responses(ErrorType.unauthorized, ErrorType.forbidden, ErrorType.reload_failed),
    )
    async def reload(request: Request) -> ReloadResponse:
        """Reload the model from the configured folder; the old model keeps serving unless the new one loads,
        verifies and warms up."""
        return await reload_model(service_of(request))

    app.state.reload = lambda: reload_model(app.state.service)
    return app


async def reload_model(service: Service) -> ReloadResponse:
    from feedbackml.artifacts import ModelFolderError

    async with service.reload_lock:
        previous = service.model_version()
        try:
            fresh = await asyncio.get_running_loop().run_in_executor(None, _load_and_warm, service.settings)
        except (ModelFolderError, OSError, ValueError, KeyError) as error:
            service.metrics.reloads.labels("failed").inc()
            log.warning("reload failed, still serving %s: %s", previous, type(error).__name__)
            raise ApiError(ErrorType.reload_failed, f"reload failed, still serving {previous}: {error}") from None
        # One reference swap: the batcher calls service.predict, which reads service.model once per batch, so a
        # batch in progress finishes on the old model and the next one uses the new.
        service.model = fresh
        service.metrics.reloads.labels("ok").inc()
        log.info("reloaded: %s → %s", previous, fresh.version)
        return ReloadResponse(previous_version=previous, model_version=fresh.version)
