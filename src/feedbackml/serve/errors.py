"""One error enum, one status code each, one body shape: ``{"error_type", "message", "index", "request_id"}``.

Messages describe what was wrong with the request and what was expected; they never contain submitted text.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorType(StrEnum):
    unauthorized = "unauthorized"
    forbidden = "forbidden"
    not_found = "not_found"
    payload_too_large = "payload_too_large"
    malformed_request = "malformed_request"
    unsupported_media_type = "unsupported_media_type"
    request_timeout = "request_timeout"
    validation = "validation"
    too_many_items = "too_many_items"
    empty_text = "empty_text"
    text_too_long = "text_too_long"
    control_characters = "control_characters"
    overloaded = "overloaded"
    timeout = "timeout"
    not_ready = "not_ready"
    reload_failed = "reload_failed"
    internal = "internal"


STATUS: dict[ErrorType, int] = {
    ErrorType.unauthorized: 401,
    ErrorType.forbidden: 403,
    ErrorType.not_found: 404,
    ErrorType.payload_too_large: 413,
    ErrorType.malformed_request: 400,
    ErrorType.unsupported_media_type: 415,
    ErrorType.request_timeout: 408,
    ErrorType.validation: 422,
    ErrorType.too_many_items: 422,
    ErrorType.empty_text: 422,  # only ever in place, per item
    ErrorType.text_too_long: 422,  # only ever in place, per item
    ErrorType.control_characters: 422,  # only ever in place, per item
    ErrorType.overloaded: 429,
    ErrorType.timeout: 504,
    ErrorType.not_ready: 503,
    ErrorType.reload_failed: 409,
    ErrorType.internal: 500,
}


class ApiError(Exception):
    """Raised anywhere in a request; the app turns it into the one error body and its status code."""

    def __init__(
        self, error_type: ErrorType, message: str, *, index: int | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.index = index
        self.headers = headers or {}

    @property
    def status(self) -> int:
        return STATUS[self.error_type]

    def body(self, request_id: str) -> dict[str, Any]:
        return {
            "error_type": self.error_type.value,
            "message": self.message,
            "index": self.index,
            "request_id": request_id,
        }


def error_json(error_type: ErrorType, message: str, request_id: str) -> bytes:
    """The one error body as bytes, for the places below the app (protocol, raw ASGI) that cannot use FastAPI."""
    import json

    return json.dumps(ApiError(error_type, message).body(request_id)).encode()
