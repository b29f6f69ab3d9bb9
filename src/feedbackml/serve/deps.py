"""Route dependencies: the app's settings and service, the request id, and the bearer-key checks.

All are ``async def``: none blocks, and FastAPI runs a plain ``def`` dependency on its thread pool, a thread
hop per dependency per request that cost the event loop more than the checks themselves."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

from feedbackml.serve.errors import ApiError, ErrorType
from feedbackml.serve.middleware import request_id_of
from feedbackml.serve.service import Service
from feedbackml.serve.settings import ServeSettings


async def get_settings(request: Request) -> ServeSettings:
    return request.app.state.settings  # type: ignore[no-any-return]


async def get_service(request: Request) -> Service:
    return request.app.state.service  # type: ignore[no-any-return]


async def get_request_id(request: Request) -> str:
    return request_id_of(request.scope)


SettingsDep = Annotated[ServeSettings, Depends(get_settings)]
ServiceDep = Annotated[Service, Depends(get_service)]
RequestIdDep = Annotated[str, Depends(get_request_id)]


def key_matches(token: str, keys: list[SecretStr]) -> bool:
    """Whether ``token`` equals one of ``keys``; every key is compared in constant time."""
    matched = False
    for key in keys:  # compare against every key, so timing says nothing about which one or how close
        matched |= hmac.compare_digest(token.encode(), key.get_secret_value().encode())
    return matched


def check_key(authorization: str, keys: list[SecretStr], others: list[SecretStr] | None = None) -> None:
    """The bearer token must equal one of ``keys``; a token that is one of ``others`` instead (a classify key on
    an admin route) is known but not allowed here: 403, not 401."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ApiError(
            ErrorType.unauthorized,
            "missing bearer token (expected 'Authorization: Bearer <key>')",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if key_matches(token, keys):
        return
    if others and key_matches(token, others):
        raise ApiError(ErrorType.forbidden, "this key may classify but not administer (expected an admin key)")
    raise ApiError(ErrorType.unauthorized, "invalid API key", headers={"WWW-Authenticate": "Bearer"})


# Declares the bearer scheme in the OpenAPI document (generated clients then send the key); the check itself is
# ``check_key``, so a missing or wrong key gets this API's error body.
bearer = HTTPBearer(auto_error=False, description="A key of FEEDBACKML_API_KEYS (admin routes: FEEDBACKML_ADMIN_KEYS).")
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]


async def require_api_key(request: Request, settings: SettingsDep, _: BearerDep) -> None:
    if not settings.api_keys and settings.dev_mode:
        return
    check_key(request.headers.get("authorization", ""), settings.api_keys)


async def require_admin_key(request: Request, settings: SettingsDep, _: BearerDep) -> None:
    if not settings.admin_keys:
        raise ApiError(ErrorType.forbidden, "no admin key is configured (set FEEDBACKML_ADMIN_KEYS)")
    check_key(request.headers.get("authorization", ""), settings.admin_keys, settings.api_keys)


async def require_json(request: Request) -> None:
    """The classify body is JSON: a missing or other Content-Type is refused before the body is looked at."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise ApiError(
            ErrorType.unsupported_media_type,
            "Content-Type must be application/json (expected 'Content-Type: application/json')",
        )
