"""How throughput scales with local worker processes: the mechanism of ``score --workers N`` (spawned
processes, one model and one thread each), timed on the same comments for each count in one run."""

from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from feedbackml.model import Classifier

CHUNKS_PER_WORKER = 4  # every worker gets at least this many batches, so start-up and tail are a small share
_model: Classifier | None = None


def default_worker_counts(cpus: int | None = None) -> list[int]:
    """1, 2, 4, … up to the number of cores, and the number of cores itself."""
    cpus = cpus or os.cpu_count() or 1
    counts = [1]
    while counts[-1] * 2 <= cpus:
        counts.append(counts[-1] * 2)
    return counts if counts[-1] == cpus else [*counts, cpus]


def _start(folder: str, runtime: str | None, warm_text: str, ready: Any) -> None:
    global _model
    import torch

    from feedbackml.model import load_model

    torch.set_num_threads(1)
    _model = load_model(folder, verify=False, runtime=runtime, threads=1, device="cpu")
    _model.predict([warm_text])
    ready.wait()  # no worker starts timing work before every worker has loaded its model


def _predict(texts: list[str]) -> int:
    if _model is None:
        raise RuntimeError("the worker has no model")
    return len(_model.predict(texts))


def _nothing() -> None:
    return None


def worker_scaling(
    folder: Path, texts: list[str], counts: list[int], *, runtime: str | None = None, batch: int = 32
) -> list[dict[str, Any]]:
    """Comments/s of ``counts`` worker processes predicting ``texts`` in batches of ``batch``; the texts repeat
    until each worker has ``CHUNKS_PER_WORKER`` batches. Loading is not timed."""
    chunks = [texts[start : start + batch] for start in range(0, len(texts), batch)]
    context = multiprocessing.get_context("spawn")
    rows: list[dict[str, Any]] = []
    for count in counts:
        work = chunks * -(-CHUNKS_PER_WORKER * count // len(chunks))
        ready = context.Barrier(count)
        with ProcessPoolExecutor(
            count, mp_context=context, initializer=_start, initargs=(str(folder), runtime, texts[0], ready)
        ) as pool:
            for future in [pool.submit(_nothing) for _ in range(count)]:
                future.result()
            started = time.perf_counter()
            done = sum(pool.map(_predict, work))
            seconds = time.perf_counter() - started
        rows.append({"workers": count, "comments": done, "seconds": round(seconds, 3)})
    base = rows[0]["comments"] / rows[0]["seconds"]
    for row in rows:
        rate = row["comments"] / row["seconds"]
        row["comments_per_s"] = round(rate, 2)
        row["vs_first"] = round(rate / base, 3)
    return rows
