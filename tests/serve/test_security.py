"""Regression tests of the security review (issue 12): admission by cost, one model version per batch, no
echo of submitted keys, every reload failure a counted 409, every 400 counted, quiet disconnects, HEAD probes,
emoji sequences, the dev-mode warning, path-only access logs and a one-line start-up failure."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import logging
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from feedbackml.model import load_model
from feedbackml.serve import ServeSettings, create_app
from feedbackml.serve.admission import work_units
from tests.serve.test_app import ADMIN, AUTH, COMMENT_TEXT, _settings

LONG = ("审批流程太长,采购部门总说与我无关。" * 200)[:2000]


class _Costly:
    """Canned predictions that take time in proportion to the work they stand for (as the real model does)."""

    def __init__(self, model: Any, seconds_per_unit: float, version: str | None = None, review: bool = False) -> None:
        self.kind, self.meta, self.calibration, self.manifest = model.kind, model.meta, model.calibration, {}
        self.version = version or model.version
        self.canned = dataclasses.replace(model.predict("好"), needs_review=review)
        self.seconds_per_unit = seconds_per_unit
        self.gate = threading.Event()
        self.gate.set()

    def predict(self, texts: Any, evidence: bool = False) -> Any:
        self.gate.wait(10)
        time.sleep(sum(work_units(text, evidence) for text in texts) * self.seconds_per_unit)
        return [self.canned] * len(texts)


def test_long_evidence_burst_answers_only_200_and_429_and_frees_the_worker(tiny_model: Path) -> None:
    # 2,000 characters with evidence ≈ 0.26 s each here; the old admission counted comments and let 32 in.
    settings = _settings(tiny_model, request_timeout_s=2.0)
    app = create_app(settings, model=_Costly(load_model(tiny_model), 1e-6))  # type: ignore[arg-type]
    one = {"items": [{"id": "a", "text": LONG}], "options": {"evidence": True}}
    eight = {"items": [{"id": str(i), "text": LONG} for i in range(8)], "options": {"evidence": True}}

    async def scenario() -> tuple[list[httpx.Response], httpx.Response, httpx.Response, float]:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=30) as client:
                burst = await asyncio.gather(*[client.post("/v1/classify", json=one, headers=AUTH) for _ in range(40)])
                big = await client.post("/v1/classify", json=eight, headers=AUTH)
                started = time.perf_counter()
                trivial = await client.post("/v1/classify", json={"items": [{"id": "t", "text": "好"}]}, headers=AUTH)
                return burst, big, trivial, time.perf_counter() - started

    burst, big, trivial, took = asyncio.run(scenario())
    codes = sorted(r.status_code for r in burst)
    assert set(codes) == {200, 429}, codes
    assert all(int(r.headers["Retry-After"]) >= 1 for r in burst if r.status_code == 429)
    assert big.status_code == 429 and "estimated work" in big.json()["message"] and big.headers["Retry-After"]
    assert trivial.status_code == 200 and took < 1.0, took


def test_a_reload_between_batches_is_named_by_the_model_that_scored(tiny_model: Path) -> None:
    real = load_model(tiny_model)
    old = _Costly(real, 0, version="old-version")
    new = _Costly(real, 0, version="new-version", review=True)  # marks its answers: needs_review=True
    # one inference worker, so the second request waits behind the first batch
    app = create_app(_settings(tiny_model, batch_max_wait_ms=0, workers=1), model=old)  # type: ignore[arg-type]
    body = {"items": [{"id": "a", "text": "审批慢"}]}

    async def scenario() -> dict[str, Any]:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                old.gate.clear()  # the worker blocks in the old model's first batch
                first = asyncio.create_task(client.post("/v1/classify", json=body, headers=AUTH))
                await asyncio.sleep(0.2)
                second = asyncio.create_task(client.post("/v1/classify", json=body, headers=AUTH))
                await asyncio.sleep(0.2)  # the second request is queued behind the first batch
                app.state.service.model = new  # the reload's one reference swap
                old.gate.set()
                await first
                return (await second).json()

    answer = asyncio.run(scenario())
    assert answer["results"][0]["needs_review"] is True  # scored by the new model...
    assert answer["model_version"] == "new-version"  # ...and says so


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"items": [{"id": "a", "text": "好", COMMENT_TEXT: "x"}]},
            "items.0: unknown field (expected id, text, department)",
        ),
        ({"items": [{"id": "a", "text": "好"}], COMMENT_TEXT: 1}, "body: unknown field (expected items, options)"),
        (
            {"items": [{"id": "a", "text": "好"}], "options": {COMMENT_TEXT: 1}},
            "options: unknown field (expected evidence)",
        ),
    ],
)
def test_unknown_keys_are_never_echoed(tiny_model: Path, body: dict[str, Any], message: str) -> None:
    with TestClient(create_app(_settings(tiny_model))) as client:
        response = client.post("/v1/classify", json=body, headers=AUTH)
    assert response.status_code == 422 and response.json()["message"] == message
    assert COMMENT_TEXT not in response.text


def test_truncated_weights_with_a_matching_manifest_fail_the_reload_with_a_counted_409(
    tiny_model: Path, tmp_path: Path
) -> None:
    model_dir = tmp_path / "serving"
    shutil.copytree(tiny_model, model_dir)
    with TestClient(create_app(_settings(model_dir))) as client:
        manifest = json.loads((model_dir / "manifest.json").read_text())
        for weights in [*model_dir.rglob("*.safetensors"), *model_dir.rglob("*.onnx")]:
            weights.write_bytes(weights.read_bytes()[:40])  # truncated, and the manifest rewritten to match
            name = weights.relative_to(model_dir).as_posix()
            manifest["files"][name] = hashlib.sha256(weights.read_bytes()).hexdigest()
        (model_dir / "manifest.json").write_text(json.dumps(manifest))
        response = client.post("/v1/admin/reload", headers={"Authorization": f"Bearer {ADMIN}"})
        metrics = client.get("/metrics").text
    assert response.status_code == 409 and response.json()["error_type"] == "reload_failed", response.text
    assert 'feedbackml_reloads_total{outcome="failed"} 1.0' in metrics


def test_every_400_is_counted(tiny_model: Path) -> None:
    with TestClient(create_app(_settings(tiny_model))) as client:
        for content in (b'{"items": [{"id": "a", "text": "\xff\xfe"}]}', b"{not json"):
            response = client.post(
                "/v1/classify", content=content, headers={**AUTH, "Content-Type": "application/json"}
            )
            assert response.status_code == 400
        metrics = client.get("/metrics").text
    assert 'feedbackml_rejections_total{reason="malformed_request"} 2.0' in metrics


def test_a_client_that_aborts_its_body_is_a_quiet_499(tiny_model: Path, caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(_settings(tiny_model))
    messages = iter([{"type": "http.request", "body": b'{"items": [', "more_body": True}, {"type": "http.disconnect"}])
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/classify",
        "raw_path": b"/v1/classify",
        "query_string": b"",
        "headers": [(b"authorization", AUTH["Authorization"].encode()), (b"content-length", b"500")],
        "http_version": "1.1",
        "scheme": "http",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 5000),
        "root_path": "",
    }

    async def scenario() -> str:
        async with app.router.lifespan_context(app):
            await app(scope, receive, send)  # type: ignore[arg-type]
        return app.state.metrics.registry

    with caplog.at_level(logging.INFO):
        registry = asyncio.run(scenario())
    from prometheus_client import generate_latest

    text = generate_latest(registry).decode()  # type: ignore[arg-type]
    assert 'status="499"' in text and 'status="500"' not in text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


def test_probes_answer_head(tiny_model: Path) -> None:
    with TestClient(create_app(_settings(tiny_model))) as client:
        assert client.head("/livez").status_code == 200 and client.head("/readyz").status_code == 200


def test_emoji_sequences_are_accepted_but_stray_format_characters_are_not(tiny_model: Path) -> None:
    items = [
        {"id": "family", "text": "团队氛围很好👨\u200d👩\u200d👧"},
        {"id": "heart", "text": "谢谢❤\ufe0f"},
        {"id": "flag", "text": "好\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"},
        {"id": "zwj", "text": "审\u200d批"},
        {"id": "bidi", "text": "审批\u202e慢"},
    ]
    with TestClient(create_app(_settings(tiny_model))) as client:
        results = client.post("/v1/classify", json={"items": items}, headers=AUTH).json()["results"]
    assert ["barriers" in r for r in results] == [True, True, True, False, False], results


def test_dev_mode_with_blank_keys_warns(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("FEEDBACKML_API_KEYS", " , ,")
    settings = ServeSettings(model_dir=tiny_model, dev_mode=True)
    assert settings.api_keys == []
    with caplog.at_level(logging.WARNING, logger="feedbackml.serve"), TestClient(create_app(settings)):
        pass
    assert any("without an API key" in r.message and "holds no key" in r.message for r in caplog.records)


def test_access_log_keeps_the_path_only(tiny_model: Path) -> None:
    from feedbackml.serve.server import server_config

    server_config(_settings(tiny_model), create_app(_settings(tiny_model)))
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:1", "GET", "/livez?text=" + COMMENT_TEXT, "1.1", 200), None,
    )  # fmt: skip
    assert all(f.filter(record) for f in logging.getLogger("uvicorn.access").filters)
    assert COMMENT_TEXT not in record.getMessage() and "/livez" in record.getMessage()


def test_a_bad_model_folder_at_start_up_is_one_line_and_exit_1(tiny_model: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from feedbackml.cli import app as cli

    model_dir = tmp_path / "bad"
    shutil.copytree(tiny_model, model_dir)
    (model_dir / "heads.safetensors").write_bytes(b"tampered")
    result = CliRunner().invoke(cli, ["serve", "--model", str(model_dir)], env={"FEEDBACKML_API_KEYS": "k"})
    assert result.exit_code == 1
    output = result.output.strip()
    assert output.startswith("error: cannot serve") and len(output.splitlines()) == 1 and "Traceback" not in output


@pytest.mark.parametrize("workers", [1, 2])
def test_n_workers_score_n_batches_at_once(tiny_model: Path, workers: int) -> None:
    """With one worker a request waits behind a batch in progress; with two it is scored beside it."""
    costly = _Costly(load_model(tiny_model), 0)
    app = create_app(_settings(tiny_model, batch_max_wait_ms=0, workers=workers), model=costly)  # type: ignore[arg-type]

    async def scenario() -> bool:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                costly.gate.clear()  # the first batch blocks its worker
                body = {"items": [{"id": "a", "text": "审批慢"}]}
                first = asyncio.create_task(client.post("/v1/classify", json=body, headers=AUTH))
                await asyncio.sleep(0.2)
                costly.gate = threading.Event()  # a fresh, open gate for the batches after the first
                costly.gate.set()
                second = asyncio.create_task(client.post("/v1/classify", json=body, headers=AUTH))
                await asyncio.sleep(0.5)
                second_done = second.done()
                blocked_gate.set()
                await first
                await second
                return second_done

    blocked_gate = costly.gate
    assert asyncio.run(scenario()) is (workers == 2)


def test_admission_counts_queued_work_as_one_workers_whatever_the_workers(tiny_model: Path) -> None:
    """One worker may take a whole batch, so queued work is not sure to drain N at a time: what one worker
    refuses, two refuse too (a burst once got a 504 when admission assumed it would)."""
    from feedbackml.serve.errors import ApiError
    from feedbackml.serve.metrics import Metrics
    from feedbackml.serve.service import Service

    for workers in (1, 2):
        service = Service(settings=_settings(tiny_model, workers=workers, request_timeout_s=10), metrics=Metrics())
        service.ready, service.batcher = True, object()  # type: ignore[assignment]
        service.throughput.observe(1.0, 1.0, force=True)  # one second per unit
        service.queued_units = 7.0  # 7 s queued + 2 s of our own pass the 8 s budget
        with pytest.raises(ApiError, match="already queued"):
            service.admit(1, units=2.0)
        service.queued_units = 5.0  # 5 + 2 fit
        service.admit(1, units=2.0)


def test_the_guards_sit_on_uvicorns_httptools_protocol(tiny_model: Path) -> None:
    """httptools is a dependency: the server parses HTTP in C, with the same guards as on h11."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    from feedbackml.serve.server import Guards, server_config

    protocol = server_config(_settings(tiny_model), create_app(_settings(tiny_model))).http
    assert isinstance(protocol, type) and issubclass(protocol, Guards) and issubclass(protocol, HttpToolsProtocol)
