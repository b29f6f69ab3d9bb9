"""Micro-batching across callers: requests put comments on one queue, a single worker thread scores them in
batches (bounded size, bounded wait), so the model is never used by two threads at once and the event loop never
blocks on inference."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any


@dataclass
class _Job:
    text: str
    evidence: bool
    future: asyncio.Future[Any]


class MicroBatcher:
    """``await submit(text, evidence)`` returns one prediction; ``predict`` is called with lists of texts."""

    def __init__(
        self,
        predict: Callable[[list[str], bool], list[Any]],
        *,
        max_size: int,
        max_wait_s: float,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self._predict = predict
        self.max_size = max_size
        self.max_wait_s = max_wait_s
        self.on_batch = on_batch
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="feedbackml-infer")
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._executor.shutdown(wait=True)

    async def submit(self, text: str, evidence: bool) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Job(text, evidence, future))
        return await future

    def _score(self, jobs: list[_Job]) -> list[Any]:
        """Runs on the single worker thread. Evidence costs a re-score per word, so jobs that ask for it are
        scored apart from those that do not; results come back in job order."""
        results: dict[int, Any] = {}
        for wanted in (False, True):
            group = [position for position, job in enumerate(jobs) if job.evidence is wanted]
            if group:
                predictions = self._predict([jobs[position].text for position in group], wanted)
                results.update(zip(group, predictions, strict=True))
        return [results[position] for position in range(len(jobs))]

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            jobs = [await self._queue.get()]
            deadline = loop.time() + self.max_wait_s
            while len(jobs) < self.max_size:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    jobs.append(await asyncio.wait_for(self._queue.get(), remaining))
                except TimeoutError:
                    break
            jobs = [job for job in jobs if not job.future.done()]  # callers that timed out are gone
            if not jobs:
                continue
            if self.on_batch:
                self.on_batch(len(jobs))
            try:
                predictions = await loop.run_in_executor(self._executor, self._score, jobs)
            except Exception as error:
                for job in jobs:
                    if not job.future.done():
                        job.future.set_exception(error)
                continue
            for job, prediction in zip(jobs, predictions, strict=True):
                if not job.future.done():
                    job.future.set_result(prediction)
