"""The micro-batcher alone, with a fake model: grouping, errors, callers that gave up."""

from __future__ import annotations

import asyncio
import threading

import pytest

from feedbackml.serve.batching import MicroBatcher


class FakeModel:
    """Records every call; answers each text with (text, evidence) or raises when told to."""

    def __init__(self, fail: bool = False, delay: float = 0.0) -> None:
        self.calls: list[tuple[list[str], bool]] = []
        self.fail = fail
        self.delay = delay
        self.started = threading.Event()

    def __call__(self, texts: list[str], evidence: bool) -> list[tuple[str, bool]]:
        self.started.set()
        if self.delay:
            threading.Event().wait(self.delay)
        self.calls.append((list(texts), evidence))
        if self.fail:
            raise RuntimeError("model broke")
        return [(text, evidence) for text in texts]


def _run(coroutine):  # type: ignore[no-untyped-def]
    return asyncio.run(coroutine)


def test_jobs_are_batched_and_evidence_is_scored_apart_in_order() -> None:
    model = FakeModel()

    async def scenario() -> list[object]:
        batcher = MicroBatcher(model, max_size=8, max_wait_s=0.05)
        batcher.start()
        try:
            return await asyncio.gather(
                batcher.submit("a", False), batcher.submit("b", True), batcher.submit("c", False)
            )
        finally:
            await batcher.stop()

    results = _run(scenario())
    assert results == [("a", False), ("b", True), ("c", False)]  # each caller gets its own answer
    assert model.calls == [(["a", "c"], False), (["b"], True)]  # one batch, split by evidence


def test_batch_size_is_bounded() -> None:
    model = FakeModel()
    sizes: list[int] = []

    async def scenario() -> None:
        batcher = MicroBatcher(model, max_size=2, max_wait_s=0.05, on_batch=sizes.append)
        batcher.start()
        try:
            await asyncio.gather(*(batcher.submit(str(i), False) for i in range(5)))
        finally:
            await batcher.stop()

    _run(scenario())
    assert sizes == [2, 2, 1] and all(len(texts) <= 2 for texts, _ in model.calls)


def test_a_model_error_reaches_every_waiter_and_the_batcher_goes_on() -> None:
    model = FakeModel(fail=True)

    async def scenario() -> tuple[list[object], object]:
        batcher = MicroBatcher(model, max_size=8, max_wait_s=0.05)
        batcher.start()
        try:
            failed = await asyncio.gather(
                batcher.submit("a", False), batcher.submit("b", False), return_exceptions=True
            )
            model.fail = False
            return failed, await batcher.submit("c", False)
        finally:
            await batcher.stop()

    failed, after = _run(scenario())
    assert len(failed) == 2 and all(isinstance(error, RuntimeError) for error in failed)
    assert after == ("c", False)


def test_callers_that_timed_out_are_not_scored() -> None:
    model = FakeModel(delay=0.3)

    async def scenario() -> None:
        batcher = MicroBatcher(model, max_size=1, max_wait_s=0.0)
        batcher.start()
        try:
            first = asyncio.ensure_future(batcher.submit("busy", False))
            await asyncio.get_running_loop().run_in_executor(None, model.started.wait)
            with pytest.raises(TimeoutError):  # gives up while the worker is still on "busy"
                await asyncio.wait_for(batcher.submit("gone", False), 0.05)
            await first
            await batcher.submit("next", False)
        finally:
            await batcher.stop()

    _run(scenario())
    assert [texts for texts, _ in model.calls] == [["busy"], ["next"]]  # "gone" was dropped, never scored


def test_evidence_of_callers_that_gave_up_is_not_scored() -> None:
    """Evidence is a model pass per word: a caller that timed out must not keep the worker busy."""
    model = FakeModel(delay=0.1)

    async def scenario() -> float:
        batcher = MicroBatcher(model, max_size=8, max_wait_s=0.01)
        batcher.start()
        try:
            jobs = asyncio.gather(*(batcher.submit(f"e{i}", True) for i in range(6)))
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(jobs, 0.15)
            started = asyncio.get_running_loop().time()
            await batcher.submit("next", False)
            return asyncio.get_running_loop().time() - started
        finally:
            await batcher.stop()

    waited = _run(scenario())
    scored = [text for texts, evidence in model.calls if evidence for text in texts]
    assert len(scored) <= 3 and waited < 0.3, (scored, waited)  # the rest were dropped, not scored
