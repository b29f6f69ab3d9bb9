"""``score``: classify every comment of a survey export and write it back with the predictions appended.

The input is read as a stream and cut into fixed chunks of rows. Each chunk is scored and written to its own
checkpoint file (atomically) in ``<output>.partial/``; the final output is assembled from the chunks in order and
then renamed into place. A killed run, rerun with the same command, skips the chunks already written, and because
every chunk is scored as the same batch whether or not the run was interrupted, the final file is byte-identical
to an uninterrupted one. Memory is bounded by the chunk size, not by the input size.

The input is never modified. Rows the reader cannot parse, rows without text and rows whose text is not a string
are kept in the output with a ``status`` saying why, so nothing is lost. One run per output (a lock); an output
that cannot be written (read-only folder, disk full) is one ``OutputError`` naming the path and the reason.
"""

from __future__ import annotations

import shutil
import sys
import time
from dataclasses import dataclass, field

from feedbackml.io import InputError, OutputError, sweep_temporaries
from feedbackml.scoring.checkpoint import (
    ChunkRun,
    Progress,
    open_partial,
    options_identity,
    output_lock,
    partial_folder,
)
from feedbackml.scoring.engines import Engine, LocalEngine
from feedbackml.scoring.options import ADDED_COLUMNS, ScoreOptions, ScoreSummary, load_org
from feedbackml.scoring.rows import check_columns, count_statuses, estimate_rows, input_chunks, input_columns
from feedbackml.scoring.writer import ChunkWriter, output_format


def score(
    options: ScoreOptions, *, engine: Engine | None = None, progress: Progress | None = None, restart: bool = False
) -> ScoreSummary:
    """Score ``options.input`` into ``options.output`` with ``engine`` (default: ``LocalEngine()``, which loads
    ``options.model``). A checkpoint left by a killed run of the same command is resumed; ``restart`` discards it."""
    started = time.perf_counter()
    writer = _checked_writer(options)
    org = load_org(options)  # a bad org file stops the run here, before the model loads
    engine = engine or LocalEngine()
    version = engine.prepare(options)
    try:
        with output_lock(options.output):
            sweep_temporaries(options.output)  # an assembly killed before its rename: a copy of every comment
            folder = open_partial(options, options_identity(options, version, org), restart)
            summary = ScoreSummary(model_version=version, output=str(options.output))
            chunk_paths = engine.write_chunks(ChunkRun(options, writer, folder, version, summary, progress, org))
            writer.assemble(chunk_paths, options.output)
            shutil.rmtree(folder, ignore_errors=True)
    except OSError as error:
        raise _output_error(options, error) from None
    summary.seconds = time.perf_counter() - started
    summary.peak_rss_mb = peak_rss_mb()
    return summary


@dataclass
class InputCheck:
    """What ``score`` would do with an export, found without a model: rows by the status they would get (a
    ``ScoreSummary`` with nothing scored), the first rows that would be errors (line and reason, never text), and
    the distinct groups and waves it holds."""

    summary: ScoreSummary = field(default_factory=ScoreSummary)
    first_errors: list[str] = field(default_factory=list)
    groups: set[str] = field(default_factory=set)
    waves: set[str] = field(default_factory=set)


def check_input(options: ScoreOptions, *, listed: int = 10, distinct: int = 10_000) -> InputCheck:
    """Read the export as ``score`` would (columns, encoding, sheet, every row) without loading a model or
    writing anything; raises InputError for what would stop a run."""
    header, _ = input_columns(options)
    check_columns(options, header)
    load_org(options)
    found = InputCheck()
    for _, chunk in input_chunks(options):
        count_statuses(found.summary, chunk)
        for item in chunk:
            if item.status not in ("ok", "empty") and len(found.first_errors) < listed:
                found.first_errors.append(f"line {item.row.line}: {item.status}")
            data = item.row.data or {}
            for column, seen in ((options.group_col, found.groups), (options.wave_col, found.waves)):
                if column and len(seen) < distinct and data.get(column) not in (None, ""):
                    seen.add(str(data[column]))
    return found


def _checked_writer(options: ScoreOptions) -> ChunkWriter:
    """Every check that needs no model, before any work: output format and path, input columns."""
    kind = output_format(options.output)
    if options.output.resolve() == options.input.resolve():
        raise InputError(
            options.output, "is the input file (expected a different output path; inputs are never modified)"
        )
    if options.output.is_dir():
        raise OutputError(options.output, "is a folder (expected the path of the file to write, e.g. scored.csv)")
    header, schema = input_columns(options)
    check_columns(options, header)
    return ChunkWriter(kind, header, schema, raw_cells=options.raw_cells)


def _output_error(options: ScoreOptions, error: OSError) -> OutputError:
    """One line for an output the system refused, naming the output (not a temporary beside it) and the reason.
    Atomic writes leave no half-written file; finished chunks stay in the checkpoint for the rerun."""
    reason = error.strerror or type(error).__name__
    kept = partial_folder(options.output).exists()
    resume = " (finished chunks are kept: rerun the same command to resume)" if kept else ""
    return OutputError(options.output, f"cannot be written: {reason}{resume}")


def peak_rss_mb() -> float:
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def make_engine(name: str, *, workers: int | None = None, address: str | None = None) -> Engine:
    """The engine a command line names: ``local`` (in this process, or ``workers`` > 1 local processes) or ``ray``
    (``workers`` Ray actors, 2 unless given); imported only when asked for."""
    if name == "local":
        if workers is not None and workers > 1:
            from feedbackml.scoring.process_engine import ProcessEngine

            return ProcessEngine(workers=workers)
        return LocalEngine()
    if name == "ray":
        from feedbackml.scoring.ray_engine import RayEngine

        return RayEngine(workers=workers or 2, address=address)
    raise ValueError(f"unknown engine {name!r} (expected local or ray)")


__all__ = [
    "ADDED_COLUMNS",
    "Engine",
    "InputCheck",
    "LocalEngine",
    "ScoreOptions",
    "ScoreSummary",
    "check_input",
    "estimate_rows",
    "load_org",
    "make_engine",
    "partial_folder",
    "peak_rss_mb",
    "score",
]
