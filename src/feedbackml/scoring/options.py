"""What a scoring run reads and writes: ``ScoreOptions`` (everything that changes the output bytes is part of the
checkpoint identity), the appended columns, and the run's ``ScoreSummary``."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from feedbackml.about import Organisation
from feedbackml.io import InputError
from feedbackml.labels import BARRIERS, CAUSES, SENTIMENTS

OUTPUT_FORMATS = ("csv", "tsv", "jsonl", "parquet", "xlsx")
# Evidence costs about one model pass per word; the report's evidence words need a sample, not every row.
DEFAULT_EVIDENCE_SAMPLE = 0.05
# The columns score appends, in order. ``source_line`` is where the row sits in the input (line, sheet row or
# Parquet row number), so an error row can be looked up.
ADDED_COLUMNS = (
    "source_line",
    "status",
    "barriers",
    *(f"p_{label}" for label in BARRIERS),
    "causes",  # labels.md §3 codes under the predicted barriers; empty from a model without causes
    *(f"p_{cause}" for cause in CAUSES),  # blank from a model without causes
    "about",  # labels.md §4: the other departments the comment names (rules and --org, not the model)
    "sentiment",
    *(f"p_{label}" for label in SENTIMENTS),
    "needs_review",
    "uncertainty",  # 0–1, what `feedbackml review export` ranks by
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
    evidence_sample: float = DEFAULT_EVIDENCE_SAMPLE
    runtime: str | None = None
    device: str = "auto"  # see feedbackml.model.devices
    chunk_rows: int = 512
    encoding: str = "utf-8"
    sheet: str | None = None
    header_row: int = 1
    threads: int = 1  # torch / ONNX Runtime threads per worker
    # CSV/TSV cells that a spreadsheet would run as formulas get a leading ' unless the caller wants raw values
    raw_cells: bool = False
    # The analyst's org.csv: its names are what ``about`` writes. Its departments (not its path) enter the
    # checkpoint identity through ``fingerprint``'s ``org``, so a resumed run never mixes two org files.
    org: Path | None = None

    def wants_evidence(self, line: int) -> bool:
        if not self.evidence or self.evidence_sample <= 0:
            return False
        if self.evidence_sample >= 1:
            return True
        # a fixed hash of the input position: the same rows whatever the chunking, engine or interruption
        digest = hashlib.blake2b(str(line).encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") / 2**64 < self.evidence_sample

    def fingerprint(self, model_version: str, org: Organisation | None = None) -> dict[str, Any]:
        """The run's identity; ``org`` is the organisation this run loaded from ``self.org`` (None without one)."""
        return {
            "input": str(self.input.resolve()),
            # the content, not size and mtime: an in-place edit that keeps both must not resume with stale rows
            "input_sha256": content_digest(self.input),
            "output": str(self.output.resolve()),
            "model_version": model_version,
            "text_col": self.text_col,
            "redact": self.redact,
            "evidence": self.evidence,
            "evidence_sample": self.evidence_sample,
            "runtime": self.runtime,
            "device": self.device,
            "chunk_rows": self.chunk_rows,
            "encoding": self.encoding,
            "sheet": self.sheet,
            "header_row": self.header_row,
            # torch's reductions depend on the thread count, so the 4th decimal of a probability can too
            "threads": self.threads,
            "raw_cells": self.raw_cells,
            "org_sha256": org_digest(org),
        }


def load_org(options: ScoreOptions) -> Organisation | None:
    """The run's org file, read and checked once before any work (``OrgFileError`` names file, row and field)."""
    return Organisation.load(options.org) if options.org is not None else None


def org_digest(org: Organisation | None) -> str | None:
    """SHA-256 of the departments as loaded (names, aliases, parents in file order): the content ``about`` used.
    Digesting the loaded object, not the file again, means the identity is of the very org the chunks were
    detected with, even if the file changes during the run."""
    if org is None:
        return None
    units = [[unit.name, list(unit.aliases), unit.parent] for unit in org.units]
    return hashlib.sha256(json.dumps(units, ensure_ascii=False).encode("utf-8")).hexdigest()


def content_digest(path: Path, block_bytes: int = 1 << 20) -> str:
    """SHA-256 of a file, read in blocks so memory stays flat whatever its size."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            while block := handle.read(block_bytes):
                digest.update(block)
    except OSError as error:
        raise InputError(path, f"cannot be read: {error.strerror}") from None
    return digest.hexdigest()


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
