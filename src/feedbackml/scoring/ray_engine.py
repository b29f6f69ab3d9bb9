"""``score --engine ray``: the same chunks, scored by Ray Data workers that each load the model once.

The driver streams the input as the local engine does and stages each unscored chunk's texts as a small JSON file
in the checkpoint folder; the Ray dataset holds only those paths, so driver memory stays flat. ``map_batches``
runs a callable class (one model per worker actor) that scores each chunk with the very call the local engine
makes (``score_texts`` on the whole chunk) and writes its predictions beside the texts. The driver then reads the
input again and writes output chunks exactly as the local engine does, so both engines give the same file.

On a cluster, every node needs feedbackml installed and must see the model folder and the output's folder at the
same paths (a shared filesystem).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from feedbackml.artifacts import model_version, verify_folder
from feedbackml.io import atomic_path
from feedbackml.model import Prediction
from feedbackml.scoring.checkpoint import ChunkRun, chunk_path, write_chunks
from feedbackml.scoring.engines import load_for_scoring, score_texts
from feedbackml.scoring.options import ScoreOptions
from feedbackml.scoring.rows import chunk_work, input_chunks


class ChunkScorer:
    """A Ray Data worker: loads the model once, then scores whole staged chunks."""

    def __init__(self, options: ScoreOptions) -> None:
        self.options = options
        self.model = load_for_scoring(options)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        for texts_path, predictions_path in zip(batch["texts"], batch["predictions"], strict=True):
            work = json.loads(Path(str(texts_path)).read_text(encoding="utf-8"))
            predictions = score_texts(self.model, work["texts"], work["evidence"])
            with atomic_path(Path(str(predictions_path))) as temporary:
                temporary.write_text(json.dumps([p.to_json() for p in predictions], ensure_ascii=False), "utf-8")
        return {"chunk": batch["chunk"], "rows": batch["rows"]}


def _start_ray(workers: int, address: str | None) -> Any:
    import ray

    if not ray.is_initialized():
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    return ray


@dataclass
class RayEngine:
    """Scores on ``workers`` Ray actors (one model each), on a local cluster or the one at ``address``."""

    workers: int = 2
    address: str | None = None

    def prepare(self, options: ScoreOptions) -> str:
        # The workers load the model themselves; the driver only needs its (verified) version.
        return model_version(verify_folder(options.model))

    def write_chunks(self, run: ChunkRun) -> list[Path]:
        return _score_chunks_with_ray(self, run)


def _score_chunks_with_ray(engine: RayEngine, run: ChunkRun) -> list[Path]:
    options, writer, folder, progress = run.options, run.writer, run.folder, run.progress
    # Pass 1: stage the texts of every chunk not yet in the checkpoint.
    staged = []
    for index, prepared in input_chunks(options):
        if chunk_path(folder, index, writer).exists():
            continue
        texts_path = folder / f"texts-{index:07d}.json"
        predictions_path = folder / f"predictions-{index:07d}.json"
        if not predictions_path.exists():
            positions = [position for position, item in enumerate(prepared) if item.text is not None]
            texts, evidence_for = chunk_work(prepared, positions, options)
            with atomic_path(texts_path) as temporary:
                temporary.write_text(
                    json.dumps({"texts": texts, "evidence": evidence_for}, ensure_ascii=False), encoding="utf-8"
                )
            staged.append(
                {"chunk": index, "rows": len(prepared), "texts": str(texts_path), "predictions": str(predictions_path)}
            )
    if staged:
        ray = _start_ray(engine.workers, engine.address)
        dataset = ray.data.from_items(staged).map_batches(
            ChunkScorer,
            fn_constructor_kwargs={"options": options},
            batch_size=1,
            compute=ray.data.ActorPoolStrategy(size=engine.workers),
            num_cpus=1,
        )
        for row in dataset.iter_rows():
            if progress is not None:
                progress(int(row["rows"]))

    # Pass 2: join predictions with the input rows, chunk by chunk, as the local engine writes them.
    def staged_predictions(index: int, texts: list[str], evidence_for: list[bool]) -> list[Prediction]:
        predictions_path = folder / f"predictions-{index:07d}.json"
        loaded = json.loads(predictions_path.read_text(encoding="utf-8"))
        predictions_path.unlink()
        (folder / f"texts-{index:07d}.json").unlink(missing_ok=True)
        return [Prediction.from_json(item) for item in loaded]

    return write_chunks(run, staged_predictions)
