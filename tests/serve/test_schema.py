"""Schemathesis against the app's own OpenAPI document: generated requests must never get a 5xx and every
response must match the documented schema and status codes."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from feedbackml.serve import ServeSettings, create_app

KEY = "schema-key"


@pytest.fixture(scope="module")
def client(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    model_dir = tmp_path_factory.mktemp("schema") / "model"
    shutil.copytree(tiny_model, model_dir)
    app = create_app(ServeSettings(model_dir=model_dir, api_keys=KEY, admin_keys="admin-" + KEY, max_items=8))
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def api_schema(client: TestClient):  # type: ignore[no-untyped-def]
    return schemathesis.openapi.from_dict(client.get("/openapi.json").json())


# schemathesis' own pytest plugin does not work with this pytest; its case strategy does, driven by hypothesis.
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_generated_requests(data: st.DataObject, client: TestClient, api_schema) -> None:  # type: ignore[no-untyped-def]
    case = data.draw(api_schema.as_strategy())
    # Item ids must be unique, which JSON Schema cannot say of a property of list items: such a schema-valid
    # request is rightly refused (422, tested in test_app), so it is not drawn here.
    items = case.body.get("items") if isinstance(case.body, dict) else None
    if isinstance(items, list):
        ids = [item.get("id") for item in items if isinstance(item, dict)]
        assume(len(ids) == len(set(map(str, ids))))
    kwargs = case.as_transport_kwargs(headers={"Authorization": f"Bearer {KEY}"})
    allowed = {"method", "url", "headers", "params", "content", "json"}  # the API uses no cookies
    response = client.request(**{key: value for key, value in kwargs.items() if key in allowed})
    assert response.status_code < 500, response.text
    # the request carries the valid key (above), so schemathesis' "ignored auth" check, which assumes the auth it
    # generated is invalid, does not apply; authentication is tested in test_app and test_security
    case.validate_response(response, excluded_checks=[schemathesis.checks.ignored_auth])
