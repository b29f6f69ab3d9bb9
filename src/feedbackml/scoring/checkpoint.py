"""The checkpoint of a run: ``<output>.partial/`` with the run's identity and one atomically written file per
finished chunk, and the loop that writes the missing chunks. A rerun with the same identity skips what exists,
so a killed run resumes and ends byte-identical to an uninterrupted one.

A kill at any instant leaves something the same command resumes from: the lock (``.<output>.lock``) is a
``flock`` the kernel drops with the process; the checkpoint appears whole (its folder is staged with its state,
then renamed); and temporaries of killed writers are swept by the next run, which holds the lock."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from feedbackml.about import Organisation
from feedbackml.io import InputError, OutputError, atomic_path, current_umask, sweep_temporaries
from feedbackml.model import Prediction
from feedbackml.scoring.options import ScoreOptions, ScoreSummary
from feedbackml.scoring.rows import build_records, chunk_work, count_statuses, input_chunks
from feedbackml.scoring.writer import ChunkWriter

PARTIAL_SUFFIX = ".partial"
STATE_FILE = "state.json"
CHECKPOINT_FORMAT = 5  # 2: the input is identified by its content hash; 3: the about column and the org file;
# 4: the cause probabilities; 5: the uncertainty column
Progress = Callable[[int], None]
ChunkPredictor = Callable[[int, list[str], list[bool]], list[Prediction]]


def options_identity(options: ScoreOptions, version: str, org: Organisation | None = None) -> dict[str, Any]:
    return {"fingerprint": options.fingerprint(version, org), "format": CHECKPOINT_FORMAT}


def chunk_path(folder: Path, index: int, writer: ChunkWriter) -> Path:
    return folder / f"chunk-{index:07d}{writer.suffix()}"


def partial_folder(output: Path) -> Path:
    return output.with_name(output.name + PARTIAL_SUFFIX)


def lock_path(output: Path) -> Path:
    return output.with_name(f".{output.name}.lock")


@contextlib.contextmanager
def output_lock(output: Path) -> Iterator[None]:
    """Hold the output for this run: a second run on the same output stops at once instead of deleting the
    checkpoint under the first. The lock file is removed on the way out; the kernel releases a killed holder's."""
    import fcntl

    path = lock_path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            raise OutputError(
                output,
                f"is being written by another score run (lock {path.name}; expected one run per output: wait for "
                "it to finish or choose another --out)",
            ) from None
        # the holder before us may have removed the file between our open and our lock: ours must be the one there
        try:
            current = path.stat()
        except FileNotFoundError:
            current = None
        held = os.fstat(descriptor)
        if current is not None and (current.st_dev, current.st_ino) == (held.st_dev, held.st_ino):
            break
        os.close(descriptor)
    try:
        yield
    finally:
        path.unlink(missing_ok=True)
        os.close(descriptor)


def _read_state(folder: Path) -> Any:
    try:
        return json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def open_partial(options: ScoreOptions, identity: dict[str, Any], restart: bool) -> Path:
    """The run's checkpoint folder: the one a killed run of the same command left, or a new one. Call it holding
    ``output_lock``: it removes what killed writers left."""
    folder = partial_folder(options.output)
    sweep_temporaries(folder)  # checkpoint folders staged by runs killed before their rename
    if folder.exists() and restart:
        shutil.rmtree(folder)
    if folder.exists():
        state = _read_state(folder)
        if state is None and not any(folder.glob("chunk-*")):
            shutil.rmtree(folder)  # no state and no chunks (left by an older version): nothing to resume or lose
        elif state != identity:
            raise InputError(
                folder,
                "holds a checkpoint of a different run (input, model or options changed; expected the same "
                "command to resume — rerun with --restart to discard it)",
            )
        else:
            for stale in folder.glob(".*.tmp"):  # chunks whose writer was killed mid-write
                stale.unlink(missing_ok=True)
            return folder
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    staging.chmod(0o777 & ~current_umask())
    try:
        with atomic_path(staging / STATE_FILE) as temporary:
            temporary.write_text(json.dumps(identity, ensure_ascii=False, indent=1), encoding="utf-8")
        staging.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


@dataclass(frozen=True)
class ChunkRun:
    """One scoring run as an engine sees it: what to read, how to write, where the checkpoint is, the model
    version the rows carry, the summary to count into, the progress callback and the org ``about`` names."""

    options: ScoreOptions
    writer: ChunkWriter
    folder: Path
    version: str
    summary: ScoreSummary
    progress: Progress | None = None
    org: Organisation | None = None


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
            run.writer.write(path, build_records(prepared, by_position, run.options, run.version, run.org))
        if run.progress is not None:
            run.progress(len(prepared))
    return paths
