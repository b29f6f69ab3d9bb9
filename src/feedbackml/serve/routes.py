"""The routes: probes, metrics, model info, classify and reload. Each is a thin call into the service.

No ``from __future__ import annotations`` here: ``classify_router`` annotates its endpoint with the request model
built for this app's item limit, and FastAPI reads that annotation as an object at definition time.
"""

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from feedbackml.labels import BARRIERS, SENTIMENTS
from feedbackml.serve.deps import RequestIdDep, ServiceDep, require_admin_key, require_api_key, require_json
from feedbackml.serve.errors import STATUS, ApiError, ErrorType
from feedbackml.serve.schemas import (
    ClassifyRequest,
    ClassifyResponse,
    ErrorBody,
    ModelInfo,
    Readiness,
    ReloadResponse,
    UpgradeStatus,
)


def error_responses(*types: ErrorType) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` entry of a route that can fail with ``types``."""
    return {
        STATUS[t]: {"model": ErrorBody, "description": ", ".join(x.value for x in types if STATUS[x] == STATUS[t])}
        for t in types
    }


probes = APIRouter(tags=["probes"])


@probes.get("/livez", summary="The process is up")
async def livez() -> dict[str, str]:
    return {"status": "ok"}


@probes.get(
    "/readyz",
    summary="Ready to classify (model loaded and warmed, not draining)",
    responses=error_responses(ErrorType.not_ready),
)
async def readyz(service: ServiceDep) -> Readiness:
    if not service.ready or service.draining:
        raise ApiError(ErrorType.not_ready, "draining" if service.draining else "model not loaded yet")
    upgrade = service.upgrade.state if service.upgrade else None
    return Readiness(status="ready", model_version=service.model_version(), upgrade=upgrade)


# Probes answer HEAD too (load balancers and uptime checkers use it); kept out of the OpenAPI document, which
# would otherwise list each probe twice under one operation id.
probes.add_api_route("/livez", livez, methods=["HEAD"], include_in_schema=False)
probes.add_api_route("/readyz", readyz, methods=["HEAD"], include_in_schema=False)


@probes.get("/metrics", summary="Prometheus metrics (no comment text)", response_class=PlainTextResponse)
async def prometheus(request: Request) -> PlainTextResponse:
    registry = request.app.state.metrics.registry
    return PlainTextResponse(generate_latest(registry).decode(), media_type=CONTENT_TYPE_LATEST)


api = APIRouter(dependencies=[Depends(require_api_key)], tags=["model"])


@api.get("/v1/model", response_model=ModelInfo, responses=error_responses(ErrorType.unauthorized))
async def model_info(service: ServiceDep) -> ModelInfo:
    served = service.model
    if served is None:
        raise ApiError(ErrorType.not_ready, "model not loaded yet")
    manifest = served.manifest
    upgrade = service.upgrade
    return ModelInfo(
        model_version=served.version,
        kind=served.kind,
        model_dir=str(service.settings.model_dir),
        upgrade=None
        if upgrade is None
        else UpgradeStatus(state=upgrade.state, target=str(upgrade.target), detail=upgrade.detail),
        labels={"barriers": list(BARRIERS), "sentiments": list(SENTIMENTS)},
        thresholds=served.calibration.thresholds,
        temperature=served.calibration.temperature,
        base_model=served.meta.get("base_model", {}),
        metrics=(manifest.get("metrics") or {}).get("dev", {}),
        created=manifest.get("created"),
    )


def classify_router(request_model: type[ClassifyRequest]) -> APIRouter:
    """The classify route, its body typed by ``request_model`` (the item limit is a setting, so it lives in the
    app's own request model and thus in its OpenAPI document)."""
    router = APIRouter(dependencies=[Depends(require_api_key), Depends(require_json)], tags=["classify"])

    @router.post(
        "/v1/classify",
        response_model=ClassifyResponse,
        responses=error_responses(
            ErrorType.malformed_request,
            ErrorType.unauthorized,
            ErrorType.unsupported_media_type,
            ErrorType.payload_too_large,
            ErrorType.validation,
            ErrorType.overloaded,
            ErrorType.timeout,
            ErrorType.not_ready,
            ErrorType.internal,
        ),
    )
    async def classify(body: request_model, service: ServiceDep, request_id: RequestIdDep) -> ClassifyResponse:  # type: ignore[valid-type]
        return await service.classify(body, request_id)

    return router


admin = APIRouter(dependencies=[Depends(require_admin_key)], tags=["admin"])


@admin.post(
    "/v1/admin/reload",
    response_model=ReloadResponse,
    responses=error_responses(ErrorType.unauthorized, ErrorType.forbidden, ErrorType.reload_failed),
)
async def reload(service: ServiceDep) -> ReloadResponse:
    """Reload the model from the configured folder; the old model keeps serving unless the new one loads,
    verifies and warms up."""
    return await service.reload()
