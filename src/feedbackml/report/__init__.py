"""The HR report of a scored file: one streaming pass, small-group suppression, then report.html,
aggregates.json and CSV files, published into a folder in one rename.

``build_report`` is a plain function so both ``feedbackml report`` and ``feedbackml score --report`` call it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from feedbackml.artifacts import publishing
from feedbackml.report.aggregate import SCORED_COLUMNS, collect
from feedbackml.report.privacy import suppress_table
from feedbackml.report.render import render_html
from feedbackml.report.view import TEXT_KEYS, build_view, write_csvs

__all__ = ["SCORED_COLUMNS", "ReportOptions", "ReportSummary", "build_report"]


@dataclass(frozen=True)
class ReportOptions:
    """How to read the scored file and what to show. ``min_group_size`` is the privacy threshold k."""

    text_col: str = "text"
    group_col: str | None = None
    wave_col: str | None = None
    min_group_size: int = 10
    samples_per_barrier: int = 5
    top_pairs: int = 20  # rows of the ranked list of department pairs
    review_samples: int = 20  # flagged comments listed for the analyst
    sample_chars: int = 160
    top_words: int = 10
    min_word_comments: int = 3
    encoding: str = "utf-8"
    sheet: str | None = None
    header_row: int = 1
    title: str = "员工反馈报告 Employee feedback report"
    generated: dt.date | None = None  # default: today

    def __post_init__(self) -> None:
        checks = {
            "min_group_size": (self.min_group_size, 2),
            "samples_per_barrier": (self.samples_per_barrier, 0),
            "top_pairs": (self.top_pairs, 1),
            "review_samples": (self.review_samples, 0),
            "sample_chars": (self.sample_chars, 20),
            "top_words": (self.top_words, 0),
            "min_word_comments": (self.min_word_comments, 1),
            "header_row": (self.header_row, 1),
        }
        for name, (value, minimum) in checks.items():
            if value < minimum:
                raise ValueError(f"report option {name} is {value} (expected at least {minimum})")
        if self.group_col is not None and self.group_col == self.wave_col:
            raise ValueError(f"group and wave columns are both '{self.group_col}' (expected two different columns)")


@dataclass(frozen=True)
class ReportSummary:
    """What was written, for the command to print."""

    out_dir: Path
    files: list[str]
    rows: int
    scored: int
    groups_shown: int
    groups_suppressed: int
    waves_shown: int
    waves_suppressed: int
    cells_suppressed: int
    model_versions: list[str] = field(default_factory=list)
    groups_suppressed_named: list[str] = field(default_factory=list)  # hidden only against subtraction (>= k)
    pairs_shown: int = 0
    pairs_suppressed: int = 0

    def lines(self, min_group_size: int, *, groups: bool, waves: bool) -> list[str]:
        """What the command prints: counts, and which groups were hidden and why (small ones only counted)."""
        found = [f"{self.rows:,} rows, {self.scored:,} scored"]
        if groups:
            small = self.groups_suppressed - len(self.groups_suppressed_named)
            found.append(
                f"groups: {self.groups_shown} shown, {self.groups_suppressed} suppressed "
                f"({small} with fewer than {min_group_size} rows, not named"
                + (
                    f"; {len(self.groups_suppressed_named)} so that a smaller one cannot be worked out by "
                    f"subtraction: {', '.join(self.groups_suppressed_named)}"
                    if self.groups_suppressed_named
                    else ""
                )
                + ")"
            )
        if waves:
            found.append(f"waves: {self.waves_shown} shown, {self.waves_suppressed} suppressed")
        if groups and waves:
            found.append(f"group x wave cells suppressed: {self.cells_suppressed}")
        if self.pairs_shown or self.pairs_suppressed:
            found.append(
                f"internal-customer map: {self.pairs_shown} department pairs shown, {self.pairs_suppressed} hidden"
            )
        return found


def _check_destination(scored: Path, out_dir: Path, overwrite: bool) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"{out_dir}: is a file (expected a folder for the report)")
    if scored.resolve().is_relative_to(out_dir.resolve()):
        raise ValueError(f"{out_dir}: holds the scored file {scored} (expected a folder apart from the input)")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        raise ValueError(f"{out_dir}: exists and is not empty (expected a new or empty folder; --force replaces it)")


def build_report(
    scored: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    options: ReportOptions,
    *,
    overwrite: bool = False,
) -> ReportSummary:
    """Stream each scored file once, apply the privacy rules and publish the report folder atomically: it appears
    complete or not at all, and an existing folder is only replaced (``overwrite``) once the new one is done.
    Several files are several surveys (each one wave, oldest first) unless ``options.wave_col`` names the wave."""
    files = [Path(scored)] if isinstance(scored, str | os.PathLike) else [Path(path) for path in scored]
    if not files:
        raise ValueError("no scored file given (expected at least one)")
    out_dir = Path(out_dir)
    for path in files:
        _check_destination(path, out_dir, overwrite)
    aggregates = collect(
        files,
        text_col=options.text_col,
        group_col=options.group_col,
        wave_col=options.wave_col,
        samples_per_barrier=options.samples_per_barrier,
        encoding=options.encoding,
        sheet=options.sheet,
        header_row=options.header_row,
    )
    k = options.min_group_size
    rows = sum(tally.n for tally in aggregates.cells.values())
    if rows < k:
        names = ", ".join(str(path) for path in files)
        raise ValueError(
            f"{names}: {'has' if len(files) == 1 else 'have'} {rows} rows (expected at least the minimum group size "
            f"{k} for any report to be shown)"
        )
    cell_sizes = {cell: tally.n for cell, tally in aggregates.cells.items()}
    hidden_groups, hidden_waves, hidden_cells = suppress_table(cell_sizes, k)
    settings = {
        "title": options.title,
        "source": ", ".join(path.name for path in files),
        "generated": (options.generated or dt.date.today()).isoformat(),
        "min_group_size": k,
        "text_col": options.text_col,
        "group_col": options.group_col,
        "wave_col": options.wave_col or ("调查 survey" if len(files) > 1 else None),
        "samples_per_barrier": options.samples_per_barrier,
        "top_pairs": options.top_pairs,
        "review_samples": options.review_samples,
        "sample_chars": options.sample_chars,
        "top_words": options.top_words,
        "min_word_comments": options.min_word_comments,
    }
    view = build_view(
        aggregates,
        hidden_groups=hidden_groups,
        hidden_waves=hidden_waves,
        hidden_cells=hidden_cells,
        has_groups=options.group_col is not None,
        has_waves=options.wave_col is not None or len(files) > 1,
        settings=settings,
    )
    with publishing(out_dir) as staging:
        files = ["report.html", "aggregates.json"]
        (staging / "report.html").write_text(render_html(view), encoding="utf-8")
        numbers = {key: value for key, value in view.items() if key not in TEXT_KEYS}
        (staging / "aggregates.json").write_text(json.dumps(numbers, ensure_ascii=False, indent=1), encoding="utf-8")
        files += write_csvs(view, staging)
    return ReportSummary(
        out_dir=out_dir,
        files=files,
        rows=rows,
        scored=view["overall"]["ok"],
        groups_shown=len(view.get("groups", [])),
        groups_suppressed=view.get("suppressed_groups", 0),
        waves_shown=len(view.get("waves", [])),
        waves_suppressed=view.get("suppressed_waves", 0),
        cells_suppressed=view.get("suppressed_cells", 0),
        model_versions=view["model_versions"],
        groups_suppressed_named=view.get("suppressed_groups_complementary", []),
        pairs_shown=len(view["internal"]["pairs"]) if "internal" in view else 0,
        pairs_suppressed=view["internal"]["hidden_pairs"] if "internal" in view else 0,
    )
