"""The report's tables as files: one CSV each (UTF-8 with a BOM, for dashboards) and ``aggregates.xlsx`` holding
them all, one sheet each named in Chinese and English. Text cells a spreadsheet would run as formulas are
neutralised in both (``spreadsheet_safe``, shared with the scored file)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from feedbackml.io import spreadsheet_safe

Table = tuple[str, list[dict[str, Any]], list[str]]  # file name, rows, columns
SHEETS = {  # sheet names: at most 31 characters, none of : \\ / ? * [ ]
    "groups.csv": "分组 groups",
    "barrier_sentiment.csv": "障碍×情感 barrier_sentiment",
    "waves.csv": "批次 waves",
    "group_waves.csv": "分组×批次 group_waves",
    "evidence_words.csv": "证据词 evidence_words",
    "causes.csv": "原因 causes",
    "pairs.csv": "部门对 pairs",
    "departments.csv": "内部客户 departments",
}
WORKBOOK = "aggregates.xlsx"


def _safe(value: Any) -> Any:
    if isinstance(value, str):
        return spreadsheet_safe(value)
    return "" if value is None else value


def write_tables(tables: list[Table], folder: Path) -> list[str]:
    """Write each table as CSV and all of them as one workbook; returns the file names written."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    written = []
    for name, rows, columns in tables:
        with (folder / name).open("w", encoding="utf-8-sig", newline="") as handle:  # the BOM lets Excel read it
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            for row in rows:
                writer.writerow({column: _safe(row.get(column)) for column in columns})
        written.append(name)
        sheet = workbook.create_sheet(SHEETS.get(name, Path(name).stem)[:31])
        sheet.append([_safe(column) for column in columns])
        for row in rows:
            sheet.append([None if row.get(column) is None else _safe(row.get(column)) for column in columns])
    workbook.save(folder / WORKBOOK)
    return [*written, WORKBOOK]
