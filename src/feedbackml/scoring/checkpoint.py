"""The checkpoint of a run: ``<output>.partial/`` with the run's identity and one atomically written file per
finished chunk, and the loop that writes the missing chunks. A rerun with the same identity skips what exists,
so a killed run resumes and ends byte-identical to an uninterrupted one."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from feedbackml.io import InputError, atomic_path
from feedbackml.model import Prediction
from feedbackml.scoring.options import ScoreOptions, ScoreSummary
from feedbackml.scoring.rows import build_records, chunk_work, count_statuses, input_chunks
from feedbackml.scoring.writer import ChunkWriter

PARTIAL_SUFFIX = ".partial"
STATE_FILE = "state.json"
Progress = Callable[[int], None]
ChunkPredictor = Callable[[int, list[str], list[bool]], list[Prediction]]


def options_identity(options: ScoreOptions, version: str) -> dict[str, Any]:
    return {"fingerprint": options.fingerprint(version), "format": 1}


def chunk_path(folder: Path, index: int, writer: ChunkWriter) -> Path:
    return folder / f"chunk-{index:07d}{writer.suffix()}"


def partial_folder(output: Path) -> Path:
    return output.with_name(output.name + PARTIAL_SUFFIX)


def open_partial(options: ScoreOptions, identity: dict[str, Any], restart: bool) -> Path:
    folder = partial_folder(options.output)
    state_path = folder / STATE_FILE
    if folder.exists() and restart:
        shutil.rmtree(folder)
    if folder.exists():
        try:
            state = json.loads(state_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            state = None
        if state != identity:
            raise InputError(
                folder,
                "holds a checkpoint of a different run (input, model or options changed; expected the same "
                "command to resume — rerun with --restart to discard it)",
            )
        return folder
    folder.mkdir(parents=True)
    with atomic_path(state_path) as temporary:
        temporary.write_text(json.dumps(identity, ensure_ascii=False, indent=1), encoding="utf-8")
    return folder


@dataclass(frozen=True)
class ChunkRun:
    """One scoring run as an engine sees it: what to read, how to write, where the checkpoint is, the model
    version the rows carry, the summary to count into and the progress callback."""

    options: ScoreOptions
    writer: ChunkWriter
    folder: Path
    version: str
    summary: ScoreSummary
    progress: Progress | None = None


def write_chunks(run: ChunkRun, predict_chunk: ChunkPredictor) -> list[Path]:
    """Write every output chunk not yet in the checkpoint, with ``predict_chunk(index, texts, evidence_for)``
    supplying the predictions of a chunk's scorable texts; returns the chunk paths in order."""
    paths = []
    for index, prepared in input_chunks(run.options):
        path = chunk_path(run.folder, index, run.writer)
        paths.append(path)
        count_statuses(run.summary, prepared)
        run.summary.chunks += 1
        if path.exists():
            run.summary.resumed_chunks += 1
        else:
            positions = [position for position, item in enumerate(prepared) if item.text is not None]
            predictions = predict_chunk(index, *chunk_work(prepared, positions, run.options))
            by_position = dict(zip(positions, predictions, strict=True))
            run.writer.write(path, build_records(prepared, by_position, run.options, run.version))
        if run.progress is not None:
            run.progress(len(prepared))
    return paths
