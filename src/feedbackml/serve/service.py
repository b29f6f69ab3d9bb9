"""The model service: one loaded model behind the micro-batcher, admission limits, per-item checks and the
hot reload. Routes call it; it knows nothing of HTTP beyond raising ``ApiError``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import dataclass, field

from feedbackml.artifacts import ModelFolderError
from feedbackml.model import Classifier, Prediction, load_model
from feedbackml.serve.batching import MicroBatcher
from feedbackml.serve.errors import ApiError, ErrorType
from feedbackml.serve.metrics import Metrics
from feedbackml.serve.schemas import ClassifyRequest, ClassifyResponse, ItemError, ItemResult, ReloadResponse
from feedbackml.serve.settings import ServeSettings
from feedbackml.text import has_invisible

log = logging.getLogger("feedbackml.serve")
WARMUP_TEXT = "采购部门总说与我无关,审批流程也太长了。"


def load_and_warm(settings: ServeSettings) -> Classifier:
    """Load from the configured local folder only (manifest verified) with the configured runtime, and score
    once so the first real request does not pay for lazy initialisation."""
    model = load_model(settings.model_dir, runtime=settings.runtime, threads=settings.threads)
    model.predict([WARMUP_TEXT, "好"], evidence=True)
    return model


def item_problem(text: str, index: int, settings: ServeSettings) -> ApiError | None:
    """Why one comment cannot be scored, or None. Messages name the expectation, never the text."""
    if not text.strip():
        return ApiError(ErrorType.empty_text, "text is empty or whitespace only (expected a comment)", index=index)
    if has_invisible(text.replace("\n", "").replace("\t", "").replace("\r", "")):
        return ApiError(
            ErrorType.control_characters, "text contains control characters (expected printable text)", index=index
        )
    if len(text) > settings.max_chars and not settings.truncate_long_text:
        return ApiError(
            ErrorType.text_too_long,
            f"text has {len(text)} characters (expected at most {settings.max_chars}, FEEDBACKML_MAX_CHARS)",
            index=index,
        )
    return None


@dataclass
class Service:
    """Everything a request needs; one per app, built in its lifespan."""

    settings: ServeSettings
    metrics: Metrics
    model: Classifier | None = None
    batcher: MicroBatcher | None = None
    ready: bool = False
    draining: bool = False
    in_flight: int = 0
    queued_items: int = 0  # comments accepted by classify and not yet answered
    reload_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def start(self, model: Classifier | None = None) -> None:
        """Load (or take) the model, start the batcher and report ready."""
        loop = asyncio.get_running_loop()
        self.model = model or await loop.run_in_executor(None, load_and_warm, self.settings)
        self.batcher = MicroBatcher(
            self.predict,
            max_size=self.settings.batch_max_size,
            max_wait_s=self.settings.batch_max_wait_ms / 1000,
            on_batch=self.metrics.batch_size.observe,
        )
        self.batcher.start()
        self.ready = True
        log.info("serving model %s from %s", self.model_version(), self.settings.model_dir)

    async def stop(self) -> None:
        self.draining = True
        if self.batcher is not None:
            await self.batcher.stop()

    def predict(self, texts: list[str], evidence: bool) -> list[Prediction]:
        """Called by the batcher's worker thread; reads ``self.model`` once, so a swap never splits a batch."""
        if self.model is None:
            raise RuntimeError("no model loaded")
        return self.model.predict(texts, evidence=evidence)

    def model_version(self) -> str:
        return self.model.version if self.model else "none"

    def admit(self, items: int) -> None:
        """Refuse at once what would queue too long: 503 while not ready, 429 over the in-flight or queue limits."""
        if not self.ready or self.draining or self.batcher is None:
            raise ApiError(ErrorType.not_ready, "not ready" if not self.draining else "draining")
        retry = {"Retry-After": str(self.settings.retry_after_s)}
        if self.in_flight >= self.settings.max_in_flight:
            raise ApiError(ErrorType.overloaded, "too many requests in flight; retry shortly", headers=retry)
        if self.queued_items and self.queued_items + items > self.settings.max_queued_items:
            raise ApiError(ErrorType.overloaded, "too many comments waiting to be scored; retry shortly", headers=retry)

    async def classify(self, body: ClassifyRequest, request_id: str) -> ClassifyResponse:
        """Admit, score every valid item through the batcher within the request timeout, and answer the rest
        with an in-place error."""
        self.admit(len(body.items))
        settings = self.settings
        evidence = settings.evidence_default if body.options.evidence is None else body.options.evidence
        self.in_flight += 1
        self.queued_items += len(body.items)
        self.metrics.in_flight.inc()
        try:
            return await asyncio.wait_for(self._classify(body, evidence, request_id), settings.request_timeout_s)
        except TimeoutError:
            raise ApiError(
                ErrorType.timeout, f"not done within {settings.request_timeout_s} s (FEEDBACKML_REQUEST_TIMEOUT_S)"
            ) from None
        finally:
            self.in_flight -= 1
            self.queued_items -= len(body.items)
            self.metrics.in_flight.dec()

    async def _classify(self, body: ClassifyRequest, evidence: bool, request_id: str) -> ClassifyResponse:
        assert self.batcher is not None  # noqa: S101 - admit() checked it
        version = self.model_version()
        results: list[ItemResult | ItemError | None] = []
        pending: dict[int, Awaitable[Prediction]] = {}
        truncated: set[int] = set()
        for index, item in enumerate(body.items):
            text = item.text
            self.metrics.input_chars.observe(len(text))
            if (problem := item_problem(text, index, self.settings)) is not None:
                self.metrics.reject(problem.error_type)
                results.append(ItemError(id=item.id, error=problem.body(request_id)))
                continue
            if len(text) > self.settings.max_chars:
                text = text[: self.settings.max_chars]
                truncated.add(index)
            results.append(None)  # filled below
            pending[index] = self.batcher.submit(text, evidence)
        predictions = await asyncio.gather(*pending.values())
        self.metrics.items.inc(len(predictions))
        for (index, _), prediction in zip(pending.items(), predictions, strict=True):
            results[index] = ItemResult.from_prediction(body.items[index].id, prediction, index in truncated)
        return ClassifyResponse(model_version=version, results=[r for r in results if r is not None])

    async def reload(self) -> ReloadResponse:
        """Load, verify and warm the configured folder; the old model keeps serving unless all that succeeds."""
        async with self.reload_lock:
            previous = self.model_version()
            try:
                fresh = await asyncio.get_running_loop().run_in_executor(None, load_and_warm, self.settings)
            except (ModelFolderError, OSError, ValueError, KeyError) as error:
                self.metrics.reloads.labels("failed").inc()
                log.warning("reload failed, still serving %s: %s", previous, type(error).__name__)
                raise ApiError(ErrorType.reload_failed, f"reload failed, still serving {previous}: {error}") from None
            # One reference swap: the batcher calls self.predict, which reads self.model once per batch, so a
            # batch in progress finishes on the old model and the next one uses the new.
            self.model = fresh
            self.metrics.reloads.labels("ok").inc()
            log.info("reloaded: %s → %s", previous, fresh.version)
            return ReloadResponse(previous_version=previous, model_version=fresh.version)
