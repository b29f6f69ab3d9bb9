"""``create_app(settings)``: assembles the classify service from its parts — settings and metrics on the app's
state, the service built in the lifespan, middleware, exception handlers and routes. No import-time globals."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

from fastapi import FastAPI
from pydantic import Field, create_model

from feedbackml.model import Classifier
from feedbackml.serve.docs import add_docs
from feedbackml.serve.handlers import add_exception_handlers
from feedbackml.serve.metrics import Metrics
from feedbackml.serve.middleware import BodyLimitMiddleware, ObserveMiddleware
from feedbackml.serve.routes import admin, api, classify_router, probes
from feedbackml.serve.schemas import ClassifyRequest, Item
from feedbackml.serve.service import Service
from feedbackml.serve.settings import ServeSettings
from feedbackml.serve.upgrade import Upgrade


def request_model_for(settings: ServeSettings) -> type[ClassifyRequest]:
    """The classify body with this app's item limit, so the limit is validated and documented in OpenAPI."""
    return create_model(
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


def create_app(settings: ServeSettings, *, model: Classifier | None = None, upgrade: Upgrade | None = None) -> FastAPI:
    """Build the service. ``model`` skips loading from ``settings.model_dir`` (tests, embedding); ``upgrade``
    trains a better model beside it and swaps it in when published (``serve --build``)."""
    metrics = Metrics()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service = Service(settings=settings, metrics=metrics, upgrade=upgrade)
        app.state.service = service
        await service.start(model)
        training = asyncio.create_task(upgrade.run(service)) if upgrade else None
        try:
            yield
        finally:
            if upgrade is not None and training is not None:
                await upgrade.stop()
                training.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await training
            await service.stop()

    app = FastAPI(
        title="feedbackml",
        version="1",
        description="Collaboration barriers and sentiment of Chinese employee feedback comments.",
        lifespan=lifespan,
        docs_url=None,  # add_docs serves it from local files
        redoc_url=None,
        generate_unique_id_function=lambda route: route.name,  # stable operation ids: the endpoint's name
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.reload = lambda: app.state.service.reload()  # what SIGHUP calls (feedbackml serve)
    # Added first, so it runs inside the observing middleware: its 413s and 408s are counted and get a request id.
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        timeout_s=settings.body_timeout_s,
        on_reject=metrics.reject,
    )
    app.add_middleware(ObserveMiddleware, metrics=metrics, known_paths=_known_paths(app))
    add_exception_handlers(app)
    for router in (probes, api, classify_router(request_model_for(settings)), admin):
        app.include_router(router)
    add_docs(app)
    return app


def _known_paths(app: FastAPI) -> Callable[[], set[str]]:
    """The app's route paths, read once all routes are registered (the metrics' route label is one of them)."""
    paths: set[str] = set()

    def known() -> set[str]:
        if not paths:  # included routers list theirs in the (cached) OpenAPI document, not in app.routes
            paths.update(app.openapi()["paths"])
            paths.update(path for r in app.routes if (path := getattr(r, "path", None)))
        return paths

    return known
