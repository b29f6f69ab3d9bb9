"""Micro-batching across callers: requests put comments on one queue, ``workers`` inference threads take batches
from it (bounded size, bounded wait) and score them, so the event loop never blocks on inference. Each thread runs
its batch on the calling thread of the runtime (ONNX Runtime and torch release the GIL while they compute, and
each is set to ``FEEDBACKML_THREADS`` threads), so N workers use N cores with one model in memory.

The model is bound once per batch (``bind``), so every result of a batch comes from one model. Callers that gave
up (timed out, disconnected) are dropped before each step: before a batch, and before each comment's evidence,
which costs a model pass per word — abandoned work never keeps the worker from the callers still waiting."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

Predict = Callable[[list[str], bool], list[Any]]


@dataclass
class _Job:
    text: str
    evidence: bool
    future: asyncio.Future[Any]


class MicroBatcher:
    """``await submit(text, evidence)`` returns one prediction; ``predict`` is called with lists of texts."""

    def __init__(
        self,
        predict: Predict,
        *,
        max_size: int,
        max_wait_s: float,
        on_batch: Callable[[int], None] | None = None,
        bind: Callable[[], Predict] | None = None,
        workers: int = 1,
    ) -> None:
        self._predict = predict
        self._bind = bind or (lambda: self._predict)
        self.max_size = max_size
        self.max_wait_s = max_wait_s
        self.on_batch = on_batch
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self.workers = workers
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="feedbackml-infer")
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._run()) for _ in range(self.workers)]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._executor.shutdown(wait=True)

    async def submit(self, text: str, evidence: bool) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Job(text, evidence, future))
        return await future

    def _score(self, jobs: list[_Job]) -> dict[int, Any]:
        """Runs on an inference thread, with one model bound for the whole batch. Jobs without evidence are
        scored together; each evidence job alone, after checking its caller still waits. Returns results by
        position; abandoned jobs have none."""
        predict = self._bind()
        results: dict[int, Any] = {}
        plain = [position for position, job in enumerate(jobs) if not job.evidence and not job.future.done()]
        if plain:
            results.update(zip(plain, predict([jobs[p].text for p in plain], False), strict=True))
        for position, job in enumerate(jobs):
            if job.evidence and not job.future.done():  # done: the caller timed out or went away
                results[position] = predict([job.text], True)[0]
        return results

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
            for position, prediction in predictions.items():
                if not jobs[position].future.done():
                    jobs[position].future.set_result(prediction)
