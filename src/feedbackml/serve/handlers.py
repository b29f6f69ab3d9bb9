"""Exception handlers: every error leaves as the one body of ``serve.errors`` with its status code, counted
once in the rejection metric; pydantic and Starlette errors are described without the submitted values."""

from __future__ import annotations

import logging
from typing import Any, get_args

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from feedbackml.serve.errors import ApiError, ErrorType
from feedbackml.serve.metrics import Metrics
from feedbackml.serve.middleware import request_id_of
from feedbackml.serve.schemas import ClassifyRequest

log = logging.getLogger("feedbackml.serve")


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds, directly or as list items (``list[Item]`` → ``Item``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in get_args(annotation):
        if (model := _inner_model(argument)) is not None:
            return model
    return None


def schema_path(location: tuple[Any, ...]) -> tuple[list[str], type[BaseModel] | None]:
    """The part of a pydantic location that the schema names (field names, list indices), and the model found
    there. It stops at the first key the schema does not know: such a key is submitted text."""
    model: type[BaseModel] | None = ClassifyRequest
    parts: list[str] = []
    for part in location:
        if isinstance(part, int):
            parts.append(str(part))
        elif model is not None and part in model.model_fields:
            parts.append(part)
            model = _inner_model(model.model_fields[part].annotation)
        else:
            break
    return parts, model


def validation_message(error: dict[str, Any]) -> tuple[str, int | None]:
    """Describe a pydantic error by its place in the schema and the expectation, never by the submitted value or
    a submitted key."""
    location = tuple(error.get("loc", ()))
    parts, model = schema_path(location[1:] if location[:1] == ("body",) else location)
    index = int(parts[1]) if len(parts) >= 2 and parts[0] == "items" and parts[1].isdigit() else None
    where = ".".join(parts) or "body"
    if error.get("type") == "json_invalid":
        return "request body is not valid JSON (expected a JSON object)", None
    if error.get("type") == "extra_forbidden":
        expected = ", ".join(model.model_fields) if model is not None else "only the documented fields"
        return f"{where}: unknown field (expected {expected})", index
    message = str(error.get("msg", "invalid"))
    submitted = error.get("input")
    if isinstance(submitted, str) and submitted and submitted in message:
        message = str(error.get("type", "invalid value"))  # a message that quotes the input says only its kind
    return f"field '{where}': {message}", index


def _metrics(request: Request) -> Metrics:
    return request.app.state.metrics  # type: ignore[no-any-return]


async def api_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ApiError)  # noqa: S101 - registered for ApiError only
    _metrics(request).reject(error.error_type)
    return JSONResponse(error.body(request_id_of(request.scope)), status_code=error.status, headers=error.headers)


async def invalid_request(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)  # noqa: S101 - registered for it only
    first = error.errors()[0] if error.errors() else {}
    message, index = validation_message(first)
    kind = ErrorType.malformed_request if first.get("type") == "json_invalid" else ErrorType.validation
    if first.get("type") == "too_long" and tuple(first.get("loc", ())) == ("body", "items"):
        max_items = request.app.state.settings.max_items
        kind = ErrorType.too_many_items
        message = f"too many items (expected at most {max_items}, FEEDBACKML_MAX_ITEMS)"
    return await api_error(request, ApiError(kind, message, index=index))


async def http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)  # noqa: S101 - registered for it only
    kinds = {400: ErrorType.malformed_request, 401: ErrorType.unauthorized, 404: ErrorType.not_found}
    kind = kinds.get(error.status_code, ErrorType.malformed_request)
    message = {404: "no such route", 405: "method not allowed"}.get(
        error.status_code, "request body could not be read (expected UTF-8 JSON)"
    )
    if error.status_code in (400, 401):  # every 400 counts as malformed_request, however it arose
        _metrics(request).reject(kind)
    return JSONResponse(ApiError(kind, message).body(request_id_of(request.scope)), status_code=error.status_code)


async def unexpected(request: Request, error: Exception) -> JSONResponse:
    request_id = request_id_of(request.scope)
    log.error("unexpected %s in request %s", type(error).__name__, request_id)  # no text, no traceback args
    return JSONResponse(ApiError(ErrorType.internal, "internal error").body(request_id), status_code=500)


def add_exception_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
