"""``feedbackml data validate``: everything a data scientist should know about labelled files before training."""

from __future__ import annotations

import os
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from feedbackml.data.dedup import DEFAULT_THRESHOLD, find_duplicates
from feedbackml.data.records import Columns, LabelledRecord, Problem, read_labelled
from feedbackml.io import InputError
from feedbackml.labels import BARRIERS, CAUSES, KNOWN_SLICES, KNOWN_SOURCES, SENTIMENTS
from feedbackml.text import has_invisible

DEFAULT_MIN_SHARE = 0.15
LONG_TEXT = 1000  # characters; longer comments will be split into sentences by the model


@dataclass
class ValidationReport:
    records: list[LabelledRecord] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [problem for problem in self.problems if problem.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [problem for problem in self.problems if problem.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors


def validate_files(
    paths: Sequence[str | os.PathLike[str]],
    columns: Columns | None = None,
    *,
    near_duplicate_threshold: float = DEFAULT_THRESHOLD,
    min_label_share: float = DEFAULT_MIN_SHARE,
    **read_options: Any,
) -> ValidationReport:
    """Check every row of every file and the files together; never raises for bad content."""
    columns = columns or Columns()
    report = ValidationReport(files=[str(path) for path in paths])
    for path in paths:
        try:
            for record, problems in read_labelled([path], columns, **read_options):
                report.problems.extend(problems)
                if record is not None:
                    report.records.append(record)
                    report.problems.extend(_record_warnings(record))
        except InputError as error:
            report.problems.append(Problem(error.path, error.line, "error", error.message))
    _check_ids(report)
    _check_duplicates(report, near_duplicate_threshold)
    _check_label_shares(report, min_label_share)
    order = {path: position for position, path in enumerate(report.files)}
    report.problems.sort(key=lambda p: (order.get(p.path, len(order)), p.line or 0))
    return report


def _record_warnings(record: LabelledRecord) -> list[Problem]:
    warnings = []

    def warn(message: str) -> None:
        warnings.append(Problem(record.path, record.line, "warning", message))

    if has_invisible(record.text):
        warn("text contains control or zero-width characters (normalisation deletes them)")
    if len(record.text) > LONG_TEXT:
        warn(f"text has {len(record.text)} characters (expected up to {LONG_TEXT}; longer texts are split)")
    if record.source is None:
        warn("field 'source' is missing (slices by source will not include this record)")
    elif record.source not in KNOWN_SOURCES:
        warn(f"source '{record.source[:40]}' is not one of the corpus sources ({', '.join(KNOWN_SOURCES)})")
    return warnings


def _check_ids(report: ValidationReport) -> None:
    first_seen: dict[str, LabelledRecord] = {}
    for record in report.records:
        earlier = first_seen.setdefault(record.id, record)
        if earlier is not record:
            report.problems.append(
                Problem(
                    record.path,
                    record.line,
                    "error",
                    f"duplicate id '{record.id[:40]}' (first at {earlier.where}; expected unique ids)",
                )
            )


def _check_duplicates(report: ValidationReport, threshold: float) -> None:
    records = report.records
    for pair in find_duplicates([record.text for record in records], threshold):
        first, second = records[pair.first], records[pair.second]
        same_file = first.path == second.path
        if pair.exact:
            labels_agree = (first.barriers, first.sentiment) == (second.barriers, second.sentiment)
            if not same_file:
                severity, what = "error", f"same text as {first.where} in another file (a leak between splits)"
            elif not labels_agree:
                severity, what = "error", f"same text as {first.where} but different labels (expected one labelling)"
            else:
                severity, what = "warning", f"same text as {first.where} (duplicate record)"
        else:
            severity = "error" if not same_file else "warning"
            where = "in another file (a leak between splits)" if not same_file else "(near-duplicate)"
            what = f"near-duplicate of {first.where} {where}, similarity {pair.similarity:.2f}"
        report.problems.append(Problem(second.path, second.line, severity, what))


def _check_label_shares(report: ValidationReport, min_share: float) -> None:
    summary = summarize(report.records)
    total = summary["n"]
    if not total:
        return
    shares = {**summary["barriers"], "(no barrier)": summary["no_barrier"], **summary["sentiment"]}
    for label, count in shares.items():
        if count / total < min_share:
            report.problems.append(
                Problem(
                    "(all files)",
                    None,
                    "warning",
                    f"label '{label}' is on {count} of {total} records ({count / total:.1%}; expected at "
                    f"least {min_share:.0%})",
                )
            )


def summarize(records: Sequence[LabelledRecord]) -> dict[str, Any]:
    """Counts and length statistics, the figures the dataset card and the summary table show."""
    lengths = sorted(len(record.text) for record in records)
    barrier_counts = Counter(label for record in records for label in record.barriers)
    sentiment_counts = Counter(record.sentiment for record in records)

    def percentile(q: float) -> int:
        return lengths[min(len(lengths) - 1, int(q * len(lengths)))] if lengths else 0

    return {
        "n": len(records),
        "barriers": {label: barrier_counts.get(label, 0) for label in BARRIERS},
        "no_barrier": sum(1 for record in records if not record.barriers),
        "multi_barrier": sum(1 for record in records if len(record.barriers) >= 2),
        "sentiment": {label: sentiment_counts.get(label, 0) for label in SENTIMENTS},
        "sources": dict(Counter(record.source or "(none)" for record in records).most_common()),
        "with_causes": sum(1 for record in records if record.causes is not None),
        "causes": {code: sum(1 for r in records if r.causes and code in r.causes) for code in CAUSES},
        "slices": {name: sum(1 for r in records if (r.slice or "general") == name) for name in slices_of(records)},
        "with_department": sum(1 for record in records if record.department),
        "length": {
            "min": lengths[0] if lengths else 0,
            "p10": percentile(0.10),
            "median": int(statistics.median(lengths)) if lengths else 0,
            "p90": percentile(0.90),
            "max": lengths[-1] if lengths else 0,
            "mean": round(statistics.fmean(lengths), 1) if lengths else 0.0,
        },
    }


def slices_of(records: Sequence[LabelledRecord]) -> list[str]:
    """The slices present, known ones in their documented order, then any others (a record without one is
    "general")."""
    present = {record.slice or "general" for record in records}
    return [name for name in KNOWN_SLICES if name in present] + sorted(present - set(KNOWN_SLICES))


def format_summary(report: ValidationReport) -> str:
    """A plain-text table: one column per file and one for all files together."""
    by_file = {path: [r for r in report.records if r.path == path] for path in report.files}
    columns = [(Path(path).name, summarize(records)) for path, records in by_file.items()]
    if len(columns) > 1:
        columns.append(("all", summarize(report.records)))

    def share(count: int, total: int) -> str:
        return f"{count} ({count / total:.0%})" if total else "0"

    rows: list[tuple[str, list[str]]] = [("records", [str(s["n"]) for _, s in columns])]
    for label in BARRIERS:
        rows.append((f"barrier {label}", [share(s["barriers"][label], s["n"]) for _, s in columns]))
    rows.append(("no barrier", [share(s["no_barrier"], s["n"]) for _, s in columns]))
    rows.append(("2+ barriers", [share(s["multi_barrier"], s["n"]) for _, s in columns]))
    for label in SENTIMENTS:
        rows.append((f"sentiment {label}", [share(s["sentiment"][label], s["n"]) for _, s in columns]))
    rows.append(("with department", [share(s["with_department"], s["n"]) for _, s in columns]))
    rows.append(("with causes", [share(s["with_causes"], s["n"]) for _, s in columns]))
    for code in CAUSES:
        rows.append((f"cause {code}", [share(s["causes"][code], s["n"]) for _, s in columns]))
    for name in slices_of(report.records):
        rows.append((f"slice {name}", [share(s["slices"].get(name, 0), s["n"]) for _, s in columns]))
    rows.append(
        (
            "length min/median/max",
            [f"{s['length']['min']}/{s['length']['median']}/{s['length']['max']}" for _, s in columns],
        )
    )
    rows.append(("length p10/p90", [f"{s['length']['p10']}/{s['length']['p90']}" for _, s in columns]))

    header = ["", *[name for name, _ in columns]]
    body = [[name, *values] for name, values in rows]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(line))
        for line in [header, *body]
    ]
    return "\n".join(lines)


def problem_lines(problems: list[Problem], *, shown: int = 3, errors_only: bool = False) -> list[str]:
    """The lines to print: every error, and of each repeated warning (same file, same message) the first
    ``shown`` rows and then one summary line, so an optional field missing in 124 rows is 4 lines, not 124."""
    seen: dict[tuple[str, str], list[Problem]] = {}
    for problem in problems:
        if problem.severity == "warning":
            seen.setdefault((problem.path, problem.message), []).append(problem)
    lines, summarised = [], set()
    for problem in problems:
        if problem.severity != "warning":
            lines.append(str(problem))
            continue
        if errors_only:
            continue
        key = (problem.path, problem.message)
        group = seen[key]
        position = next(index for index, item in enumerate(group) if item is problem)
        if position < shown:
            lines.append(str(problem))
        elif key not in summarised:
            summarised.add(key)
            rest = group[shown:]
            where = ", ".join(str(item.line) for item in rest[:5]) + (", …" if len(rest) > 5 else "")
            lines.append(f"{problem.path}: warning: … the same in {len(rest)} more row(s) (lines {where})")
    return lines
