from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from feedbackml.model import load_model
from feedbackml.serve import ServeSettings, create_app

KEY, OTHER_KEY, ADMIN = "key-one", "key-two", "admin-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
COMMENT_TEXT = "这条评论的原文绝对不能出现在任何错误响应里"


def _settings(model_dir: Path, **overrides: object) -> ServeSettings:
    return ServeSettings(model_dir=model_dir, api_keys=f"{KEY},{OTHER_KEY}", admin_keys=ADMIN, **overrides)


@pytest.fixture
def served(tiny_model: Path, tmp_path: Path) -> Iterator[tuple[TestClient, Path]]:
    model_dir = tmp_path / "serving"
    shutil.copytree(tiny_model, model_dir)
    app = create_app(_settings(model_dir, max_items=4, max_body_bytes=4096, max_chars=300))
    with TestClient(app) as client:
        yield client, model_dir


def _documented(client: TestClient, path: str, method: str = "post") -> set[int]:
    return {int(code) for code in client.get("/openapi.json").json()["paths"][path][method]["responses"]}


def test_classify_two_items(served: tuple[TestClient, Path]) -> None:
    client, _ = served
    body = {
        "items": [{"id": "a", "text": "采购部总说与我无关"}, {"id": "b", "text": "谢谢IT"}],
        "options": {"evidence": True},
    }
    response = client.post("/v1/classify", json=body, headers=AUTH)
    assert response.status_code == 200, response.text
    data = response.json()
    assert [r["id"] for r in data["results"]] == ["a", "b"]
    assert data["model_version"] == client.get("/readyz").json()["model_version"]
    first = data["results"][0]
    assert set(first["barriers"]["probabilities"]) == {"subjective", "objective", "role_misalignment"}
    assert first["sentiment"]["label"] in first["sentiment"]["probabilities"]
    assert {"needs_review", "evidence", "truncated", "split", "about"} <= set(first)
    assert 0 <= first["uncertainty"] <= 1
    assert len(first["causes"]["probabilities"]) == 14  # the tiny model learnt a cause head from the corpus
    assert bool(first["causes"]["labels"]) == bool(first["barriers"]["labels"])
    assert response.headers["X-Request-ID"]


def test_bad_items_are_reported_in_place(served: tuple[TestClient, Path]) -> None:
    client, _ = served
    items = [
        {"id": "ok", "text": "流程太慢"},
        {"id": "empty", "text": "   "},
        {"id": "ctrl", "text": COMMENT_TEXT + "\x00\x07"},
        {"id": "long", "text": COMMENT_TEXT * 20},
    ]
    response = client.post("/v1/classify", json={"items": items}, headers=AUTH)
    assert response.status_code == 200
    results = response.json()["results"]
    assert "barriers" in results[0]
    assert [r["error"]["error_type"] for r in results[1:]] == ["empty_text", "control_characters", "text_too_long"]
    assert [r["error"]["index"] for r in results[1:]] == [1, 2, 3]
    assert all(r["error"]["request_id"] == response.headers["X-Request-ID"] for r in results[1:])
    assert COMMENT_TEXT not in response.text


@pytest.mark.parametrize(
    ("content", "headers", "status", "error_type"),
    [
        (json.dumps({"items": [{"id": str(i), "text": "x"} for i in range(5)]}), {}, 422, "too_many_items"),
        ("{not json", {}, 400, "malformed_request"),
        (b'{"items": [{"id": "a", "text": "\xff\xfe' + COMMENT_TEXT.encode() + b'"}]}', {}, 400, "malformed_request"),
        (json.dumps({"items": [{"id": "a", "text": 5}]}), {}, 422, "validation"),
        (json.dumps({"items": [{"id": "a", "text": COMMENT_TEXT, "extra": 1}]}), {}, 422, "validation"),
        (json.dumps({"items": [{"id": "a", "text": COMMENT_TEXT * 200}]}), {}, 413, "payload_too_large"),
        (json.dumps({"items": [{"id": "a", "text": "x"}]}), {"Authorization": "Bearer nope"}, 401, "unauthorized"),
    ],
)
def test_request_errors_have_one_shape_and_no_text(
    served: tuple[TestClient, Path], content: str | bytes, headers: dict[str, str], status: int, error_type: str
) -> None:
    client, _ = served
    response = client.post(
        "/v1/classify", content=content, headers={**AUTH, "Content-Type": "application/json", **headers}
    )
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error_type"] == error_type and body["request_id"] and "message" in body
    assert COMMENT_TEXT not in response.text
    assert status in _documented(client, "/v1/classify")


def test_wrong_type_error_names_the_item(served: tuple[TestClient, Path]) -> None:
    client, _ = served
    response = client.post(
        "/v1/classify", json={"items": [{"id": "a", "text": "x"}, {"id": "b", "text": 1}]}, headers=AUTH
    )
    assert response.status_code == 422 and response.json()["index"] == 1


def test_chunked_body_over_limit_is_413(served: tuple[TestClient, Path]) -> None:
    client, _ = served

    def chunks() -> Iterator[bytes]:
        yield b'{"items": [{"id": "a", "text": "'
        for _ in range(20):
            yield ("很长" * 100).encode()
        yield b'"}]}'

    response = client.post("/v1/classify", content=chunks(), headers={**AUTH, "Content-Type": "application/json"})
    assert response.status_code == 413 and response.json()["error_type"] == "payload_too_large"
    # refused before parsing, yet observed like any other response: a request id to quote, and counted
    assert response.headers["X-Request-ID"] == response.json()["request_id"]
    metrics = client.get("/metrics").text
    assert 'feedbackml_requests_total{route="/v1/classify",status="413"} 1.0' in metrics
    assert 'feedbackml_rejections_total{reason="payload_too_large"} 1.0' in metrics


def test_auth(served: tuple[TestClient, Path]) -> None:
    client, _ = served
    body = {"items": [{"id": "a", "text": "审批慢"}]}
    missing = client.post("/v1/classify", json=body)
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"] == "Bearer"
    assert client.post("/v1/classify", json=body, headers={"Authorization": f"Bearer {OTHER_KEY}"}).status_code == 200
    assert client.get("/livez").status_code == 200 and client.get("/readyz").status_code == 200  # probes stay open
    assert client.get("/v1/model").status_code == 401
    info = client.get("/v1/model", headers=AUTH).json()
    assert info["labels"]["barriers"] == ["subjective", "objective", "role_misalignment"]
    known = client.post("/v1/admin/reload", headers=AUTH)  # a classify key is known, but not an admin key: 403
    assert known.status_code == 403 and known.json()["error_type"] == "forbidden" and "key-one" not in known.text
    assert client.post("/v1/admin/reload", headers={"Authorization": "Bearer nobody"}).status_code == 401


def test_refuses_to_start_without_keys(tiny_model: Path) -> None:
    with pytest.raises(ValueError, match="no API key configured"):
        ServeSettings(model_dir=tiny_model)  # the settings themselves refuse: nothing to remember to call
    assert ServeSettings(model_dir=tiny_model, dev_mode=True).dev_mode


def test_every_refusal_is_counted_once(served: tuple[TestClient, Path]) -> None:
    client, _ = served
    too_many = {"items": [{"id": str(i), "text": "审批慢"} for i in range(5)]}
    assert client.post("/v1/classify", json=too_many, headers=AUTH).status_code == 422
    assert client.post("/v1/classify", json={"items": [{"id": "a", "text": 1}]}, headers=AUTH).status_code == 422
    assert client.post("/v1/classify", json={"items": [{"id": "a", "text": "x"}]}).status_code == 401
    mixed = {"items": [{"id": "a", "text": " "}, {"id": "b", "text": "审批慢"}, {"id": "c", "text": ""}]}
    assert client.post("/v1/classify", json=mixed, headers=AUTH).status_code == 200
    metrics = client.get("/metrics").text
    for reason, count in (("too_many_items", 1), ("validation", 1), ("unauthorized", 1), ("empty_text", 2)):
        assert f'feedbackml_rejections_total{{reason="{reason}"}} {count:.1f}' in metrics, reason


def test_metrics_never_contain_text(served: tuple[TestClient, Path]) -> None:
    client, _ = served
    client.post("/v1/classify", json={"items": [{"id": "a", "text": COMMENT_TEXT}]}, headers=AUTH)
    client.post("/v1/classify", json={"items": [{"id": "a", "text": " "}]}, headers=AUTH)
    text = client.get("/metrics").text
    assert "feedbackml_requests_total" in text and 'reason="empty_text"' in text
    assert "feedbackml_batch_size_bucket" in text and "feedbackml_input_chars_bucket" in text
    assert COMMENT_TEXT not in text


def test_reload_good_and_corrupted(served: tuple[TestClient, Path], tiny_base: Path, tmp_path: Path) -> None:
    from tests.conftest import quiet_train, tiny_config

    client, model_dir = served
    admin = {"Authorization": f"Bearer {ADMIN}"}
    before = client.get("/readyz").json()["model_version"]

    # a corrupted folder: the old model keeps serving
    heads = model_dir / "heads.safetensors"
    original = heads.read_bytes()
    heads.write_bytes(original[:-8] + b"\0" * 8)
    failed = client.post("/v1/admin/reload", headers=admin)
    assert failed.status_code == 409 and failed.json()["error_type"] == "reload_failed"
    assert client.get("/readyz").json()["model_version"] == before
    assert client.post("/v1/classify", json={"items": [{"id": "a", "text": "审批慢"}]}, headers=AUTH).status_code == 200

    # a different good model: the version changes
    other = quiet_train(tiny_config(tiny_base, tmp_path, max_steps=2, seed=99))
    shutil.rmtree(model_dir)
    shutil.copytree(other, model_dir)
    reloaded = client.post("/v1/admin/reload", headers=admin)
    assert reloaded.status_code == 200, reloaded.text
    assert reloaded.json()["previous_version"] == before
    assert reloaded.json()["model_version"] == load_model(model_dir).version != before
    after = client.post("/v1/classify", json={"items": [{"id": "a", "text": "审批慢"}]}, headers=AUTH)
    assert after.json()["model_version"] == reloaded.json()["model_version"]


class _Slow:
    """Wraps a model so each batch takes a while: lets a test fill the in-flight limit."""

    def __init__(self, model, delay: float) -> None:  # type: ignore[no-untyped-def]
        self.model, self.delay = model, delay
        self.kind, self.meta, self.calibration = model.kind, model.meta, model.calibration

    @property
    def version(self) -> str:
        return self.model.version

    def predict(self, texts, evidence=False):  # type: ignore[no-untyped-def]
        time.sleep(self.delay)
        return self.model.predict(texts, evidence=evidence)


async def _concurrent_posts(app: Any, body: dict[str, Any], count: int) -> list[httpx.Response]:
    """``count`` identical classify requests at once, against a started app."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await asyncio.gather(*[client.post("/v1/classify", json=body, headers=AUTH) for _ in range(count)])


def test_burst_above_in_flight_limit_gets_429_not_5xx(tiny_model: Path) -> None:
    settings = _settings(tiny_model, max_in_flight=2, batch_max_size=1, batch_max_wait_ms=0)
    app = create_app(settings, model=_Slow(load_model(tiny_model), 0.2))  # type: ignore[arg-type]
    responses = asyncio.run(_concurrent_posts(app, {"items": [{"id": "a", "text": "审批慢"}]}, 8))
    codes = sorted(r.status_code for r in responses)
    assert codes.count(200) >= 2 and 429 in codes and all(code < 500 for code in codes), codes
    refused = next(r for r in responses if r.status_code == 429)
    assert refused.headers["Retry-After"] == "1" and refused.json()["error_type"] == "overloaded"


def test_comments_beyond_the_queue_limit_get_429_at_once(tiny_model: Path) -> None:
    # 3 requests of 4 comments against room for 6 queued comments: the first is accepted, the ones that would
    # overfill the queue are refused at once rather than left to time out.
    settings = _settings(tiny_model, max_queued_items=6, batch_max_size=4, batch_max_wait_ms=0)
    app = create_app(settings, model=_Slow(load_model(tiny_model), 0.3))  # type: ignore[arg-type]
    started = time.perf_counter()
    body = {"items": [{"id": str(i), "text": "审批慢"} for i in range(4)]}
    responses = asyncio.run(_concurrent_posts(app, body, 3))
    codes = sorted(r.status_code for r in responses)
    assert codes == [200, 429, 429], codes
    refused = next(r for r in responses if r.status_code == 429)
    assert refused.json()["error_type"] == "overloaded" and "waiting" in refused.json()["message"]
    assert time.perf_counter() - started < 5


def test_timeout_is_504(tiny_model: Path) -> None:
    settings = _settings(tiny_model, request_timeout_s=0.05)
    app = create_app(settings, model=_Slow(load_model(tiny_model), 0.5))  # type: ignore[arg-type]
    with TestClient(app) as client:
        response = client.post("/v1/classify", json={"items": [{"id": "a", "text": "审批慢"}]}, headers=AUTH)
    assert response.status_code == 504 and response.json()["error_type"] == "timeout"


def test_no_request_fails_during_a_swap(tiny_model: Path, tiny_base: Path, tmp_path: Path) -> None:
    from tests.conftest import quiet_train, tiny_config

    model_dir = tmp_path / "serving"
    shutil.copytree(tiny_model, model_dir)
    other = quiet_train(tiny_config(tiny_base, tmp_path, max_steps=2, seed=7))
    app = create_app(_settings(model_dir, batch_max_wait_ms=1))

    async def traffic_during_reload() -> tuple[list[httpx.Response], httpx.Response, str]:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                before = (await client.get("/readyz")).json()["model_version"]
                body = {"items": [{"id": str(i), "text": "审批要走五级,没人拍板"} for i in range(3)]}

                async def stream() -> list[httpx.Response]:
                    responses = []
                    for _ in range(15):
                        responses.append(await client.post("/v1/classify", json=body, headers=AUTH))
                    return responses

                async def swap() -> httpx.Response:
                    await asyncio.sleep(0.05)
                    shutil.rmtree(model_dir)
                    shutil.copytree(other, model_dir)
                    return await client.post("/v1/admin/reload", headers={"Authorization": f"Bearer {ADMIN}"})

                streams = await asyncio.gather(stream(), stream(), swap())
                return [*streams[0], *streams[1]], streams[2], before

    responses, reloaded, before = asyncio.run(traffic_during_reload())
    assert reloaded.status_code == 200, reloaded.text
    after = reloaded.json()["model_version"]
    assert after != before
    assert all(r.status_code == 200 for r in responses), [r.status_code for r in responses]
    versions = [r.json()["model_version"] for r in responses]
    assert set(versions) <= {before, after} and versions[-1] == after


def test_duplicate_ids_content_type_and_request_id(served: tuple[TestClient, Path]) -> None:
    """Friction an integrator met: repeated ids were answered twice, a missing Content-Type got 422 and the
    caller's X-Request-ID was replaced."""
    client, _ = served
    twice = client.post(
        "/v1/classify", json={"items": [{"id": "a", "text": "流程太慢"}, {"id": "a", "text": "好"}]}, headers=AUTH
    )
    assert twice.status_code == 422 and twice.json()["error_type"] == "validation"
    assert "items 0 and 1 have the same id" in twice.json()["message"]
    body = '{"items": [{"id": "a", "text": "流程太慢"}]}'.encode()
    for content_type in (None, "text/plain", "application/x-www-form-urlencoded"):
        headers = {**AUTH, **({"Content-Type": content_type} if content_type else {})}
        refused = client.post("/v1/classify", content=body, headers=headers)
        assert refused.status_code == 415 and refused.json()["error_type"] == "unsupported_media_type"
    fine = client.post(
        "/v1/classify", content=body, headers={**AUTH, "Content-Type": "application/json; charset=utf-8"}
    )
    assert fine.status_code == 200
    assert client.post("/v1/classify", content=body, headers={"Content-Type": "text/plain"}).status_code == 401
    carried = client.get("/livez", headers={"X-Request-ID": "hr-system.call_42"})
    assert carried.headers["X-Request-ID"] == "hr-system.call_42"
    for bad in ("a b", "x" * 65, "<script>"):
        replaced = client.get("/livez", headers={"X-Request-ID": bad})
        assert replaced.headers["X-Request-ID"] != bad and len(replaced.headers["X-Request-ID"]) == 16


def test_docs_are_served_from_local_files_and_the_document_is_typed(served: tuple[TestClient, Path]) -> None:
    client, _ = served
    page = client.get("/docs")
    assert page.status_code == 200 and "/docs-assets/swagger-ui-bundle.js" in page.text
    assert "https://" not in page.text and "http://" not in page.text  # nothing from a CDN
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert client.get(f"/docs-assets/{asset}").status_code == 200
    document = client.get("/openapi.json").json()
    assert document["components"]["securitySchemes"]["HTTPBearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": document["components"]["securitySchemes"]["HTTPBearer"]["description"],
    }
    operations = {op["operationId"]: op for path in document["paths"].values() for op in path.values()}
    assert set(operations) == {"livez", "readyz", "prometheus", "model_info", "classify", "reload"}
    assert operations["classify"]["security"] == [{"HTTPBearer": []}] and operations["classify"]["tags"] == ["classify"]
    assert "security" not in operations["livez"]
    schemas = document["components"]["schemas"]
    assert schemas["Barrier"]["enum"] == ["subjective", "objective", "role_misalignment"]
    assert len(schemas["Cause"]["enum"]) == 14 and schemas["Sentiment"]["enum"] == ["negative", "neutral", "positive"]
    assert "empty_text" in schemas["ErrorType"]["enum"]
    assert schemas["ItemError"]["properties"]["error"]["$ref"].endswith("/ItemErrorDetail")
