"""The model service: one loaded model behind the micro-batcher, admission limits, per-item checks and the
hot reload. Routes call it; it knows nothing of HTTP beyond raising ``ApiError``."""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import os
import time
import unicodedata
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path

from feedbackml.about import Organisation, detect_about
from feedbackml.artifacts import ModelFolderError
from feedbackml.model import Classifier, Prediction, load_model
from feedbackml.serve.admission import Throughput, work_units
from feedbackml.serve.batching import MicroBatcher, Predict
from feedbackml.serve.errors import ApiError, ErrorType
from feedbackml.serve.metrics import Metrics
from feedbackml.serve.schemas import ClassifyRequest, ClassifyResponse, ItemError, ItemResult, ReloadResponse
from feedbackml.serve.settings import ServeSettings, blank_keys_given
from feedbackml.serve.upgrade import Upgrade

log = logging.getLogger("feedbackml.serve")
WARMUP_TEXT = "采购部门总说与我无关,审批流程也太长了。"
MAX_VERSION_RETRIES = 3  # reloads during one request before it gives up re-scoring on the newest model
ZWJ = "\u200d"
BLACK_FLAG = "\U0001f3f4"
# Up to this many characters in a request, ``about`` runs on the event loop (about a millisecond); a hop to a
# thread costs more than that, and single-comment requests are the common case. Longer requests take the hop.
ABOUT_INLINE_CHARS = 1000


def _is_emoji(char: str) -> bool:
    return unicodedata.category(char) == "So" or 0x1F000 <= ord(char) <= 0x1FAFF


def _emoji_before(text: str, index: int) -> bool:
    """An emoji ends at ``index`` (variation selectors and skin-tone modifiers belong to it)."""
    while index >= 0 and (text[index] in "\ufe0e\ufe0f" or 0x1F3FB <= ord(text[index]) <= 0x1F3FF):
        index -= 1
    return index >= 0 and _is_emoji(text[index])


def _allowed_format(text: str, index: int) -> bool:
    """Format characters that are part of an emoji: a ZWJ between two emoji (👨‍👩‍👧), the tag characters of a
    subdivision flag (🏴 + tags). The batch scorer scores such text (``normalize`` drops them), so the API
    accepts it the same way; every other control or format character is refused."""
    char = text[index]
    if char == ZWJ:
        return _emoji_before(text, index - 1) and index + 1 < len(text) and _is_emoji(text[index + 1])
    if 0xE0020 <= ord(char) <= 0xE007F:
        start = index
        while start > 0 and 0xE0020 <= ord(text[start - 1]) <= 0xE007F:
            start -= 1
        return start > 0 and text[start - 1] == BLACK_FLAG
    return False


def has_control(text: str) -> bool:
    """Control, format or surrogate characters other than line breaks, tabs and those inside emoji."""
    return any(
        unicodedata.category(char) in {"Cc", "Cf", "Cs"} and char not in "\t\n\r" and not _allowed_format(text, i)
        for i, char in enumerate(text)
    )


def load_and_warm(settings: ServeSettings) -> Classifier:
    """Load from the configured local folder only (manifest verified) with the configured runtime, and score
    once so the first real request does not pay for lazy initialisation."""
    model = load_model(settings.model_dir, runtime=settings.runtime, threads=settings.threads, device=settings.device)
    model.predict([WARMUP_TEXT, "好"], evidence=True)
    return model


def load_org(settings: ServeSettings) -> Organisation | None:
    """The org file of FEEDBACKML_ORG_FILE, read and checked (``OrgFileError`` names file, row and field)."""
    return Organisation.load(settings.org_file) if settings.org_file is not None else None


def about_all(
    texts: dict[int, str], departments: dict[int, str | None], org: Organisation | None
) -> dict[int, list[str]]:
    """``about`` of each scored item (rules, no model): on the text as scored, so its cost is bounded by
    FEEDBACKML_MAX_CHARS; only department names come out."""
    return {index: detect_about(text, departments.get(index), org) for index, text in texts.items()}


def item_problem(text: str, index: int, settings: ServeSettings) -> ApiError | None:
    """Why one comment cannot be scored, or None. Messages name the expectation, never the text."""
    if not text.strip():
        return ApiError(ErrorType.empty_text, "text is empty or whitespace only (expected a comment)", index=index)
    if has_control(text):
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


def reload_reason(error: Exception) -> str:
    """What a failed reload says: the folder's own error (paths and checks, never comment text), or the kind of
    an unexpected failure (a truncated weights file, a runtime error) with details only in the log."""
    if isinstance(error, ModelFolderError | OSError | ValueError | KeyError):
        return str(error)
    return f"the model folder could not be loaded ({type(error).__name__})"


@dataclass
class Service:
    """Everything a request needs; one per app, built in its lifespan."""

    settings: ServeSettings
    metrics: Metrics
    model: Classifier | None = None
    org: Organisation | None = None  # FEEDBACKML_ORG_FILE as loaded; swapped with the model on reload
    batcher: MicroBatcher | None = None
    ready: bool = False
    draining: bool = False
    in_flight: int = 0
    queued_items: int = 0  # comments accepted by classify and not yet answered
    queued_units: float = 0.0  # their estimated work (serve/admission.py)
    throughput: Throughput = field(default_factory=Throughput)
    reload_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    upgrade: Upgrade | None = None  # a better model training beside this one (serve --build)

    async def start(self, model: Classifier | None = None) -> None:
        """Load (or take) the model, time one evidence pass for admission, start the batcher and report ready."""
        loop = asyncio.get_running_loop()
        self.org = await loop.run_in_executor(None, load_org, self.settings)
        self.model = model or await loop.run_in_executor(None, load_and_warm, self.settings)
        await loop.run_in_executor(None, self._measure, self.model)
        self.batcher = MicroBatcher(
            self.predict,
            max_size=self.settings.batch_max_size,
            max_wait_s=self.settings.batch_max_wait_ms / 1000,
            on_batch=self.metrics.batch_size.observe,
            bind=self.bind,
            workers=self.settings.workers,
        )
        self.batcher.start()
        self.ready = True
        if not self.settings.api_keys:
            blank = blank_keys_given(os.environ.get("FEEDBACKML_API_KEYS"))
            log.warning(
                "development mode: /v1/classify answers without an API key%s",
                " (FEEDBACKML_API_KEYS is set but holds no key)" if blank else "",
            )
        log.info("serving model %s from %s", self.model_version(), self.settings.model_dir)

    def _measure(self, model: Classifier) -> None:
        """Seconds per work unit from one timed evidence pass, so admission starts from this machine's speed."""
        text = WARMUP_TEXT * 10
        started = time.perf_counter()
        model.predict([text], evidence=True)
        self.throughput.observe(work_units(text, True), time.perf_counter() - started, force=True)

    async def stop(self) -> None:
        self.draining = True
        if self.batcher is not None:
            await self.batcher.stop()

    def predict(self, texts: list[str], evidence: bool) -> list[tuple[str, Prediction]]:
        """Score with the current model; each prediction comes with the version of the model that made it."""
        return self.bind()(texts, evidence)

    def bind(self) -> Predict:
        """The model and its version taken together, once: the batcher calls this once per batch, so a reload
        never splits a batch and every answer names the model that scored it."""
        if self.model is None:
            raise RuntimeError("no model loaded")
        return functools.partial(self._predict_with, self.model)

    def _predict_with(self, model: Classifier, texts: list[str], evidence: bool) -> list[tuple[str, Prediction]]:
        started = time.perf_counter()
        predictions = model.predict(texts, evidence=evidence)
        units = sum(work_units(text, evidence) for text in texts)
        self.throughput.observe(units, time.perf_counter() - started)
        return [(model.version, prediction) for prediction in predictions]

    def model_version(self) -> str:
        return self.model.version if self.model else "none"

    def request_units(self, body: ClassifyRequest, evidence: bool) -> float:
        """Estimated work of a request: every item as it would be scored (cut to max_chars)."""
        limit = self.settings.max_chars
        return sum(work_units(item.text[:limit], evidence) for item in body.items)

    def admit(self, items: int, units: float = 0.0) -> None:
        """Refuse at once what would not finish in time: 503 while not ready; 429 with Retry-After over the
        in-flight or queued-comment limits, or when the estimated work queued (this request's included) would
        pass the admission share of the request timeout."""
        if not self.ready or self.draining or self.batcher is None:
            raise ApiError(ErrorType.not_ready, "not ready" if not self.draining else "draining")
        settings = self.settings
        # Not divided by the workers: one worker may take a whole batch (up to FEEDBACKML_BATCH_MAX_SIZE comments,
        # evidence ones scored in turn), so queued work is not sure to drain N at a time; counting it as one
        # worker's keeps every admitted request inside its timeout.
        wait = self.throughput.seconds(self.queued_units)
        retry = {"Retry-After": str(max(settings.retry_after_s, math.ceil(wait)))}
        if self.in_flight >= settings.max_in_flight:
            raise ApiError(ErrorType.overloaded, "too many requests in flight; retry shortly", headers=retry)
        if self.queued_items and self.queued_items + items > settings.max_queued_items:
            raise ApiError(ErrorType.overloaded, "too many comments waiting to be scored; retry shortly", headers=retry)
        budget = settings.request_timeout_s * settings.admission_share
        own = self.throughput.seconds(units)
        if own > budget:
            raise ApiError(
                ErrorType.overloaded,
                f"this request's estimated work ({own:.1f} s) would not finish within {settings.request_timeout_s} s "
                "(FEEDBACKML_REQUEST_TIMEOUT_S); send fewer or shorter items, or ask for no evidence",
                headers=retry,
            )
        if wait + own > budget:
            raise ApiError(
                ErrorType.overloaded,
                "the work already queued would not leave time for this request; retry later",
                headers=retry,
            )

    async def classify(self, body: ClassifyRequest, request_id: str) -> ClassifyResponse:
        """Admit by estimated cost, score every valid item through the batcher within the request timeout, and
        answer the rest with an in-place error."""
        settings = self.settings
        evidence = settings.evidence_default if body.options.evidence is None else body.options.evidence
        units = self.request_units(body, evidence)
        self.admit(len(body.items), units)
        self.in_flight += 1
        self.queued_items += len(body.items)
        self.queued_units += units
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
            self.queued_units -= units
            self.metrics.in_flight.dec()

    async def _classify(self, body: ClassifyRequest, evidence: bool, request_id: str) -> ClassifyResponse:
        assert self.batcher is not None  # noqa: S101 - admit() checked it
        org = self.org  # one org for the whole request, whatever a reload does meanwhile
        results: list[ItemResult | ItemError | None] = []
        pending: dict[int, Awaitable[tuple[str, Prediction]]] = {}
        texts: dict[int, str] = {}
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
            texts[index] = text
            pending[index] = self.batcher.submit(text, evidence)
        scored = dict(zip(pending, await asyncio.gather(*pending.values()), strict=True))
        version = await self._one_version(scored, texts, evidence)
        departments = {index: body.items[index].department for index in texts}
        if sum(map(len, texts.values())) <= ABOUT_INLINE_CHARS:
            about = about_all(texts, departments, org)
        else:
            about = await asyncio.get_running_loop().run_in_executor(None, about_all, texts, departments, org)
        self.metrics.items.inc(len(scored))
        for index, (_, prediction) in scored.items():
            item_id = body.items[index].id
            results[index] = ItemResult.from_prediction(item_id, prediction, index in truncated, about[index])
        return ClassifyResponse(model_version=version, results=[r for r in results if r is not None])

    async def _one_version(
        self, scored: dict[int, tuple[str, Prediction]], texts: dict[int, str], evidence: bool
    ) -> str:
        """The version that scored every item. A reload between two batches of one request splits it; the
        items scored by the older model are then scored again, so the answer names the one model behind all."""
        assert self.batcher is not None  # noqa: S101 - admit() checked it
        for _ in range(MAX_VERSION_RETRIES):
            versions = {version for version, _ in scored.values()}
            if len(versions) <= 1:
                return versions.pop() if versions else self.model_version()
            newest = self.model_version()
            stale = [index for index, (version, _) in scored.items() if version != newest]
            again = await asyncio.gather(*(self.batcher.submit(texts[index], evidence) for index in stale))
            scored.update(zip(stale, again, strict=True))
        raise ApiError(ErrorType.not_ready, "the model changed repeatedly during this request; retry")

    async def reload(self, folder: Path | None = None) -> ReloadResponse:
        """Load, verify and warm the configured folder (or ``folder``, which then becomes the configured one) and
        read the org file again; the old model and org keep serving unless all that succeeds."""
        async with self.reload_lock:
            previous = self.model_version()
            loop = asyncio.get_running_loop()
            settings = self.settings if folder is None else self.settings.model_copy(update={"model_dir": folder})
            try:
                org = await loop.run_in_executor(None, load_org, settings)
                fresh = await loop.run_in_executor(None, load_and_warm, settings)
            except Exception as error:  # every failure of a reload is a 409, counted; the old model keeps serving
                self.metrics.reloads.labels("failed").inc()
                log.warning("reload failed, still serving %s: %s", previous, type(error).__name__)
                raise ApiError(
                    ErrorType.reload_failed, f"reload failed, still serving {previous}: {reload_reason(error)}"
                ) from None
            # One reference swap: the batcher calls self.predict, which reads self.model once per batch, so a
            # batch in progress finishes on the old model and the next one uses the new (a request reads self.org once).
            self.model, self.org, self.settings = fresh, org, settings
            self.metrics.reloads.labels("ok").inc()
            log.info("reloaded: %s → %s", previous, fresh.version)
            return ReloadResponse(previous_version=previous, model_version=fresh.version)
