"""``score --workers N``: the same chunks, scored by N local processes that each load the model once.

A feeder thread reads the input ahead and hands each unscored chunk's texts to a process pool (at most two
chunks per worker in flight, so memory stays bounded); the driver writes the chunks in input order as the local
engine does, each scored with ``score_texts`` on the whole chunk, so the file is byte for byte the one a single
process writes. Workers start with ``spawn`` (no forked torch or ONNX Runtime state) and return predictions as
JSON, as Ray workers do.
"""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from feedbackml.artifacts import model_version, verify_folder
from feedbackml.model import Classifier, Prediction
from feedbackml.scoring.checkpoint import ChunkRun, chunk_path, write_chunks
from feedbackml.scoring.engines import load_for_scoring, score_texts
from feedbackml.scoring.options import ScoreOptions
from feedbackml.scoring.rows import chunk_work, input_chunks

_worker_model: Classifier | None = None


def _start_worker(options: ScoreOptions) -> None:
    global _worker_model
    # the driver verified the folder's manifest in ``prepare``; hashing its files again in every worker would
    # add seconds of start-up to each
    _worker_model = load_for_scoring(options, verify=False)


def _score_chunk(texts: list[str], evidence_for: list[bool]) -> list[dict[str, Any]]:
    if _worker_model is None:
        raise RuntimeError("the worker has no model")
    return [prediction.to_json() for prediction in score_texts(_worker_model, texts, evidence_for)]


@dataclass
class ProcessEngine:
    """Scores on ``workers`` local processes (one model each, ``options.threads`` threads each)."""

    workers: int = 2

    def prepare(self, options: ScoreOptions) -> str:
        # The workers load the model themselves; the driver only needs its (verified) version.
        return model_version(verify_folder(options.model))

    def write_chunks(self, run: ChunkRun) -> list[Path]:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            self.workers, mp_context=context, initializer=_start_worker, initargs=(run.options,)
        ) as pool:
            feeder = _Feeder(pool, run, in_flight=2 * self.workers)
            feeder.start()
            try:
                return write_chunks(run, feeder.predictions)
            finally:
                feeder.stop()


class _Feeder(threading.Thread):
    """Reads the input ahead of the writer and submits each unscored chunk; ``predictions`` hands them back in
    the writer's order."""

    def __init__(self, pool: ProcessPoolExecutor, run: ChunkRun, in_flight: int) -> None:
        super().__init__(daemon=True, name="feedbackml-score-feeder")
        self.pool, self.run_ = pool, run
        self.slots = threading.Semaphore(in_flight)
        self.ready = threading.Condition()
        self.futures: dict[int, Future[list[dict[str, Any]]]] = {}
        self.failure: BaseException | None = None
        self.done = False
        self.stopping = False

    def run(self) -> None:
        try:
            options, folder, writer = self.run_.options, self.run_.folder, self.run_.writer
            for index, prepared in input_chunks(options):
                if chunk_path(folder, index, writer).exists():
                    continue
                positions = [position for position, item in enumerate(prepared) if item.text is not None]
                texts, evidence_for = chunk_work(prepared, positions, options)
                while not self.slots.acquire(timeout=0.5):
                    if self.stopping:
                        return
                future = self.pool.submit(_score_chunk, texts, evidence_for)
                with self.ready:
                    self.futures[index] = future
                    self.ready.notify_all()
        except BaseException as error:  # handed to the writer, which raises it in the main thread
            self.failure = error
        finally:
            with self.ready:
                self.done = True
                self.ready.notify_all()

    def predictions(self, index: int, texts: list[str], evidence_for: list[bool]) -> list[Prediction]:
        with self.ready:
            self.ready.wait_for(lambda: index in self.futures or self.done)
            future = self.futures.pop(index, None)
        if future is None:
            if self.failure is not None:
                raise self.failure
            raise RuntimeError(f"chunk {index} was never submitted")
        try:
            return [Prediction.from_json(item) for item in future.result()]
        finally:
            self.slots.release()

    def stop(self) -> None:
        self.stopping = True
        with self.ready:
            for future in self.futures.values():
                future.cancel()
        self.join(timeout=10)
