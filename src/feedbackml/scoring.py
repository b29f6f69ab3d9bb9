"""``score``: classify every comment of a survey export and write it back with the predictions appended.

The input is read as a stream and cut into fixed chunks of rows. Each chunk is scored and written to its own
checkpoint file (atomically) in ``<output>.partial/``; the final output is assembled from the chunks in order and
then renamed into place. A killed run, rerun with the same command, skips the chunks already written, and because
every chunk is scored as the same batch whether or not the run was interrupted, the final file is byte-identical
to an uninterrupted one. Memory is bounded by the chunk size, not by the input size.

The input is never modified. Rows the reader cannot parse, rows without text and rows whose text is not a string
are kept in the output with a ``status`` saying why, so nothing is lost.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from feedbackml.io import InputError, Row, atomic_path, file_format, iter_rows, read_header
from feedbackml.labels import BARRIERS, SENTIMENTS
from feedbackml.model import Classifier, Prediction
from feedbackml.text import normalize, redact

OUTPUT_FORMATS = ("csv", "tsv", "jsonl", "parquet")
PARTIAL_SUFFIX = ".partial"
STATE_FILE = "state.json"
# The columns score appends, in order. ``source_line`` is where the row sits in the input (line, sheet row or
# Parquet row number), so an error row can be looked up.
ADDED_COLUMNS = (
    "source_line",
    "status",
    "barriers",
    *(f"p_{label}" for label in BARRIERS),
    "sentiment",
    *(f"p_{label}" for label in SENTIMENTS),
    "needs_review",
    "evidence",
    "model_version",
)


@dataclass(frozen=True)
class ScoreOptions:
    """What to read, how to score and where to write. Everything that changes the output bytes is part of the
    checkpoint identity (see ``fingerprint``)."""

    input: Path
    output: Path
    model: Path
    text_col: str = "text"
    id_col: str | None = None
    group_col: str | None = None
    wave_col: str | None = None
    redact: bool = False
    evidence: bool = True
    # Occlusion evidence costs about one forward pass per word; on large files a deterministic sample of rows
    # (chosen by their position in the input) is enough for the report's evidence words.
    evidence_sample: float = 1.0
    runtime: str | None = None
    chunk_rows: int = 512
    encoding: str = "utf-8"
    sheet: str | None = None
    header_row: int = 1
    engine: str = "local"
    workers: int = 2
    ray_address: str | None = None
    threads: int = 1

    def wants_evidence(self, line: int) -> bool:
        if not self.evidence or self.evidence_sample <= 0:
            return False
        if self.evidence_sample >= 1:
            return True
        # a fixed hash of the input position: the same rows whatever the chunking, engine or interruption
        digest = hashlib.blake2b(str(line).encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") / 2**64 < self.evidence_sample

    def fingerprint(self, model_version: str) -> dict[str, Any]:
        stat = self.input.stat()
        return {
            "input": str(self.input.resolve()),
            "input_size": stat.st_size,
            "input_mtime_ns": stat.st_mtime_ns,
            "output": str(self.output.resolve()),
            "model_version": model_version,
            "text_col": self.text_col,
            "redact": self.redact,
            "evidence": self.evidence,
            "evidence_sample": self.evidence_sample,
            "runtime": self.runtime,
            "chunk_rows": self.chunk_rows,
            "encoding": self.encoding,
            "sheet": self.sheet,
            "header_row": self.header_row,
        }


@dataclass
class ScoreSummary:
    rows: int = 0
    ok: int = 0
    empty: int = 0
    errors: int = 0
    chunks: int = 0
    resumed_chunks: int = 0
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    model_version: str = ""
    output: str = ""
    statuses: dict[str, int] = field(default_factory=dict)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "rows_per_second": round(self.rows_per_second, 2)}


# --- per-row work ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    """One input row, checked: ``text`` is what the model scores (None when the row has a status already)."""

    row: Row
    text: str | None
    status: str
    output_text: Any = None  # the text column's value in the output (redacted on request)


def prepare(row: Row, options: ScoreOptions) -> Prepared:
    if row.problem is not None or row.data is None:
        return Prepared(row, None, f"error: row {row.line} {row.problem or 'could not be read'}")
    if options.text_col not in row.data:
        return Prepared(row, None, f"error: no '{options.text_col}' field (expected the comment text)")
    value = row.data[options.text_col]
    if value is None or (isinstance(value, str) and not normalize(value).strip()):
        return Prepared(row, None, "empty", value)
    if not isinstance(value, str):
        return Prepared(row, None, f"error: field '{options.text_col}' is not text (expected a string)", value)
    text = redact(value) if options.redact else value
    return Prepared(row, text, "ok", text)


def added_values(prepared: Prepared, prediction: Prediction | None, version: str) -> dict[str, Any]:
    """The appended columns of one row, typed (floats, bools); writers turn them into their format."""
    values: dict[str, Any] = dict.fromkeys(ADDED_COLUMNS)
    values.update(source_line=prepared.row.line, status=prepared.status, model_version=version)
    if prediction is None:
        values.update(barriers="", sentiment="", evidence="[]")
        return values
    values["barriers"] = "|".join(prediction.barriers)
    for label in BARRIERS:
        values[f"p_{label}"] = prediction.barrier_probs[label]
    values["sentiment"] = prediction.sentiment
    for label in SENTIMENTS:
        values[f"p_{label}"] = prediction.sentiment_probs[label]
    values["needs_review"] = prediction.needs_review
    values["evidence"] = json.dumps(
        [
            {"word": e.word, "start": e.start, "end": e.end, "label": e.label, "weight": e.weight}
            for e in prediction.evidence
        ],
        ensure_ascii=False,
    )
    return values


def score_texts(model: Classifier, texts: list[str], evidence_for: list[bool]) -> list[Prediction]:
    """The one call both engines make per chunk, so a chunk's numbers do not depend on the engine. Labels and
    probabilities come from scoring the whole chunk; evidence only for the texts flagged."""
    if not texts:
        return []
    if all(evidence_for):
        return model.predict(texts, evidence=True)
    predictions = model.predict(texts, evidence=False)
    chosen = [position for position, wanted in enumerate(evidence_for) if wanted]
    if chosen:
        explained = model.predict([texts[position] for position in chosen], evidence=True)
        for position, prediction in zip(chosen, explained, strict=True):
            predictions[position] = dataclasses.replace(predictions[position], evidence=prediction.evidence)
    return predictions


# --- writers -----------------------------------------------------------------------------------------------


def output_format(path: Path) -> str:
    try:
        kind = file_format(path)
    except InputError:
        kind = ""
    if kind not in OUTPUT_FORMATS:
        raise InputError(
            path,
            f"cannot write '{path.suffix or '(none)'}' output (expected .csv, .tsv, .jsonl or .parquet; for Excel, "
            "write .csv, which Excel opens — sheets stop at 1,048,576 rows)",
        )
    return kind


def _flat(value: Any) -> str:
    """A cell of a CSV/TSV output: text as is, booleans as true/false, missing as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, ensure_ascii=False, default=str)


class ChunkWriter:
    """Writes one chunk of output rows in the output's format; ``assemble`` joins the chunks into the final file.
    CSV/TSV chunks carry no header (the final file gets one); Parquet chunks are files of one row group each."""

    def __init__(self, kind: str, input_columns: list[str], input_schema: Any = None) -> None:
        self.kind = kind
        self.input_columns = input_columns
        self.columns = [*input_columns, *ADDED_COLUMNS]
        self.input_schema = input_schema

    def suffix(self) -> str:
        return {"csv": ".csv", "tsv": ".tsv", "jsonl": ".jsonl", "parquet": ".parquet"}[self.kind]

    def write(self, path: Path, records: list[dict[str, Any]]) -> None:
        with atomic_path(path) as temporary:
            if self.kind == "parquet":
                self._write_parquet(temporary, records)
            elif self.kind == "jsonl":
                with temporary.open("w", encoding="utf-8") as handle:
                    for record in records:
                        handle.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
            else:
                with temporary.open("w", encoding="utf-8", newline="") as handle:
                    writer = csv.writer(handle, delimiter="\t" if self.kind == "tsv" else ",", lineterminator="\r\n")
                    for record in records:
                        writer.writerow([_flat(record.get(column)) for column in self.columns])

    def schema(self) -> Any:
        import pyarrow as pa

        added = {
            "source_line": pa.int64(),
            "needs_review": pa.bool_(),
            **{f"p_{label}": pa.float64() for label in (*BARRIERS, *SENTIMENTS)},
        }
        fields = []
        for column in self.input_columns:
            if self.input_schema is not None and column in self.input_schema.names:
                fields.append(self.input_schema.field(column))
            else:
                fields.append(pa.field(column, pa.string()))
        fields += [pa.field(column, added.get(column, pa.string())) for column in ADDED_COLUMNS]
        return pa.schema(fields)

    def _write_parquet(self, path: Path, records: list[dict[str, Any]]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = self.schema()
        native = {field.name for field in schema if not pa.types.is_string(field.type)} | set(ADDED_COLUMNS)
        rows = [
            {
                column: (
                    record.get(column)
                    if column in native or record.get(column) is None or isinstance(record.get(column), str)
                    else _flat(record.get(column))
                )
                for column in self.columns
            }
            for record in records
        ]
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)

    def assemble(self, chunks: list[Path], destination: Path) -> None:
        with atomic_path(destination) as temporary:
            if self.kind == "parquet":
                import pyarrow.parquet as pq

                with pq.ParquetWriter(temporary, self.schema()) as writer:
                    for chunk in chunks:
                        writer.write_table(pq.read_table(chunk))
                return
            with temporary.open("wb") as out:
                if self.kind in ("csv", "tsv"):
                    # UTF-8 with a BOM: Excel in a Chinese locale otherwise opens it as GBK and garbles it.
                    out.write("\ufeff".encode())
                    header = _header_line(self.columns, "\t" if self.kind == "tsv" else ",")
                    out.write(header.encode("utf-8"))
                for chunk in chunks:
                    with chunk.open("rb") as handle:
                        shutil.copyfileobj(handle, out)


def _header_line(columns: list[str], delimiter: str) -> str:
    import io

    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerow(columns)
    return buffer.getvalue()


# --- the run -----------------------------------------------------------------------------------------------


def _chunks(rows: Iterator[Row], size: int) -> Iterator[list[Row]]:
    chunk: list[Row] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _input_columns(options: ScoreOptions) -> tuple[list[str], Any]:
    """The input's columns in order (JSONL: the keys of the first readable object, later keys appended as seen
    would change the header mid-file, so they are refused) and, for Parquet, its schema."""
    header = read_header(options.input, encoding=options.encoding, sheet=options.sheet, header_row=options.header_row)
    schema = None
    if header is None:
        header = []
        for row in iter_rows(options.input):
            if row.data is not None:
                header = list(row.data)
                break
    elif file_format(options.input) == "parquet":
        from feedbackml.io import _open_parquet

        schema = _open_parquet(options.input).schema_arrow
    return header, schema


def _check_columns(options: ScoreOptions, header: list[str]) -> None:
    from feedbackml.io import describe_columns

    is_jsonl = file_format(options.input) == "jsonl"
    for flag, column in (
        ("--text-col", options.text_col),
        ("--id-col", options.id_col),
        ("--group-col", options.group_col),
        ("--wave-col", options.wave_col),
    ):
        if column and column not in header and not (is_jsonl and not header):
            raise InputError(
                options.input, f"has no column '{column}' ({flag}; {describe_columns(options.input, header)})"
            )
    if clash := sorted(set(header) & set(ADDED_COLUMNS)):
        raise InputError(
            options.input,
            f"already has column(s) {', '.join(clash)}, which score adds (expected an unscored file; rename them)",
        )


def estimate_rows(options: ScoreOptions) -> int | None:
    """A quick row count for the progress bar's ETA: Parquet metadata, else newlines (an upper bound for CSV with
    line breaks inside comments)."""
    kind = file_format(options.input)
    if kind == "parquet":
        from feedbackml.io import _open_parquet

        return int(_open_parquet(options.input).metadata.num_rows)
    if kind == "xlsx":
        return None
    count = 0
    with options.input.open("rb") as handle:
        while block := handle.read(1 << 20):
            count += block.count(b"\n")
    return max(count - (1 if kind in ("csv", "tsv") else 0), 0)


def partial_folder(output: Path) -> Path:
    return output.with_name(output.name + PARTIAL_SUFFIX)


def _open_partial(options: ScoreOptions, identity: dict[str, Any], restart: bool) -> Path:
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


def peak_rss_mb() -> float:
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


ModelLoader = Callable[[], Classifier]
Progress = Callable[[int], None]


def score(
    options: ScoreOptions,
    *,
    load: ModelLoader | None = None,
    progress: Progress | None = None,
    restart: bool = False,
    stop_after_chunks: int | None = None,
) -> ScoreSummary:
    """Score ``options.input`` into ``options.output``. ``load`` overrides how the model is loaded (tests);
    ``stop_after_chunks`` ends the run early, leaving its checkpoint, as a kill would (tests)."""
    started = time.perf_counter()
    kind = output_format(options.output)
    if options.output.resolve() == options.input.resolve():
        raise InputError(
            options.output, "is the input file (expected a different output path; inputs are never modified)"
        )
    header, schema = _input_columns(options)
    _check_columns(options, header)
    if options.engine == "ray" and load is None:
        from feedbackml.artifacts import model_version, verify_folder

        # Ray workers load the model themselves; the driver only needs its (verified) version.
        version = model_version(verify_folder(options.model))
    else:
        model = (load or (lambda: load_for_scoring(options)))()
        version = model.version
    folder = _open_partial(options, options_identity(options, version), restart)
    writer = ChunkWriter(kind, header, schema)
    summary = ScoreSummary(model_version=version, output=str(options.output))
    if options.engine == "ray":
        from feedbackml.scoring_ray import score_chunks_with_ray

        chunk_paths = score_chunks_with_ray(options, writer, folder, version, summary, progress)
    else:
        import torch

        torch.set_num_threads(options.threads)  # as each Ray worker does: same threads, same arithmetic
        chunk_paths = write_chunks(
            options,
            writer,
            folder,
            version,
            summary,
            lambda _, texts, evidence_for: score_texts(model, texts, evidence_for),
            progress=progress,
            stop_after_chunks=stop_after_chunks,
        )
    if chunk_paths is None:  # stopped early on purpose
        summary.seconds = time.perf_counter() - started
        summary.peak_rss_mb = peak_rss_mb()
        return summary
    writer.assemble(chunk_paths, options.output)
    shutil.rmtree(folder, ignore_errors=True)
    summary.seconds = time.perf_counter() - started
    summary.peak_rss_mb = peak_rss_mb()
    return summary


def options_identity(options: ScoreOptions, version: str) -> dict[str, Any]:
    return {"fingerprint": options.fingerprint(version), "format": 1}


def load_for_scoring(options: ScoreOptions) -> Classifier:
    import torch

    from feedbackml.model import load_model

    torch.set_num_threads(options.threads)
    return load_model(options.model, runtime=options.runtime, threads=options.threads)


def chunk_path(folder: Path, index: int, writer: ChunkWriter) -> Path:
    return folder / f"chunk-{index:07d}{writer.suffix()}"


def build_records(
    prepared: list[Prepared], predictions: dict[int, Prediction], options: ScoreOptions, version: str
) -> list[dict[str, Any]]:
    records = []
    for position, item in enumerate(prepared):
        record: dict[str, Any] = dict(item.row.data or {})
        if item.output_text is not None or options.text_col in record:
            record[options.text_col] = item.output_text if item.status == "ok" else record.get(options.text_col)
        record.update(added_values(item, predictions.get(position), version))
        records.append(record)
    return records


def count_statuses(summary: ScoreSummary, prepared: list[Prepared]) -> None:
    for item in prepared:
        summary.rows += 1
        if item.status == "ok":
            summary.ok += 1
        elif item.status == "empty":
            summary.empty += 1
        else:
            summary.errors += 1
        key = item.status.split(":", 1)[0]
        summary.statuses[key] = summary.statuses.get(key, 0) + 1


def chunk_work(prepared: list[Prepared], positions: list[int], options: ScoreOptions) -> tuple[list[str], list[bool]]:
    """The texts of a chunk to score, and which of them get evidence."""
    texts = [prepared[position].text or "" for position in positions]
    return texts, [options.wants_evidence(prepared[position].row.line) for position in positions]


def input_chunks(options: ScoreOptions) -> Iterator[tuple[int, list[Prepared]]]:
    rows = iter_rows(options.input, encoding=options.encoding, sheet=options.sheet, header_row=options.header_row)
    for index, chunk in enumerate(_chunks(rows, options.chunk_rows)):
        yield index, [prepare(row, options) for row in chunk]


ChunkPredictor = Callable[[int, list[str], list[bool]], list[Prediction]]


def write_chunks(
    options: ScoreOptions,
    writer: ChunkWriter,
    folder: Path,
    version: str,
    summary: ScoreSummary,
    predict_chunk: ChunkPredictor,
    *,
    progress: Progress | None = None,
    stop_after_chunks: int | None = None,
) -> list[Path] | None:
    """Write every output chunk not yet in the checkpoint, with ``predict_chunk(index, texts, evidence_for)``
    supplying the predictions of a chunk's scorable texts; returns the chunk paths in order, or None when stopped
    early."""
    paths = []
    for index, prepared in input_chunks(options):
        path = chunk_path(folder, index, writer)
        paths.append(path)
        count_statuses(summary, prepared)
        summary.chunks += 1
        if path.exists():
            summary.resumed_chunks += 1
        else:
            if stop_after_chunks is not None and summary.chunks - summary.resumed_chunks > stop_after_chunks:
                return None
            positions = [position for position, item in enumerate(prepared) if item.text is not None]
            predictions = predict_chunk(index, *chunk_work(prepared, positions, options))
            by_position = dict(zip(positions, predictions, strict=True))
            writer.write(path, build_records(prepared, by_position, options, version))
        if progress is not None:
            progress(len(prepared))
    return paths


__all__ = [
    "ADDED_COLUMNS",
    "ScoreOptions",
    "ScoreSummary",
    "estimate_rows",
    "partial_folder",
    "peak_rss_mb",
    "score",
]
