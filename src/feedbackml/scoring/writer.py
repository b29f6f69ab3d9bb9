"""Output files: one chunk of output rows written atomically in the output's format, and the chunks assembled into
the final file (CSV/TSV with a BOM and one header; Parquet with the input's schema). CSV/TSV cells that a
spreadsheet would run as formulas are neutralised (``spreadsheet_safe``) unless ``raw_cells`` asks for raw values."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

from feedbackml.io import InputError, OutputError, atomic_path, file_format, spreadsheet_safe
from feedbackml.labels import BARRIERS, CAUSES, SENTIMENTS
from feedbackml.scoring.options import ADDED_COLUMNS, OUTPUT_FORMATS


def output_format(path: Path) -> str:
    try:
        kind = file_format(path)
    except InputError:
        kind = ""
    if kind not in OUTPUT_FORMATS:
        raise InputError(
            path,
            f"cannot write '{path.suffix or '(none)'}' output (expected .csv, .tsv, .jsonl, .parquet or .xlsx)",
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

    def __init__(
        self, kind: str, input_columns: list[str], input_schema: Any = None, *, raw_cells: bool = False
    ) -> None:
        self.kind = kind
        self.input_columns = input_columns
        self.columns = [*input_columns, *ADDED_COLUMNS]
        self.input_schema = input_schema
        self.raw_cells = raw_cells

    def _cell(self, value: Any) -> str:
        """A CSV/TSV cell: flattened, then made safe to open in a spreadsheet (the analysts' way in)."""
        text = _flat(value)
        return text if self.raw_cells else spreadsheet_safe(text)

    def suffix(self) -> str:
        # an Excel output is assembled from JSONL chunks (typed, streamable); only the final file is a workbook
        return {"csv": ".csv", "tsv": ".tsv", "jsonl": ".jsonl", "parquet": ".parquet", "xlsx": ".jsonl"}[self.kind]

    def write(self, path: Path, records: list[dict[str, Any]]) -> None:
        with atomic_path(path) as temporary:
            if self.kind == "parquet":
                self._write_parquet(temporary, records)
            elif self.kind in ("jsonl", "xlsx"):
                with temporary.open("w", encoding="utf-8") as handle:
                    for record in records:
                        handle.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
            else:
                with temporary.open("w", encoding="utf-8", newline="") as handle:
                    writer = csv.writer(handle, delimiter="\t" if self.kind == "tsv" else ",", lineterminator="\r\n")
                    for record in records:
                        writer.writerow([self._cell(record.get(column)) for column in self.columns])

    def schema(self) -> Any:
        import pyarrow as pa

        added = {
            "source_line": pa.int64(),
            "needs_review": pa.bool_(),
            "uncertainty": pa.float64(),
            **{f"p_{label}": pa.float64() for label in (*BARRIERS, *SENTIMENTS, *CAUSES)},
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
            if self.kind == "xlsx":
                self._write_xlsx(temporary, chunks, destination)
                return
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
                    names = [self._cell(column) for column in self.columns]  # a header cell is a cell too
                    header = _header_line(names, "\t" if self.kind == "tsv" else ",")
                    out.write(header.encode("utf-8"))
                for chunk in chunks:
                    with chunk.open("rb") as handle:
                        shutil.copyfileobj(handle, out)

    def _xlsx_cell(self, value: Any) -> Any:
        """A workbook cell: numbers and booleans typed; text without the control characters a workbook cannot
        hold, cut at Excel's 32,767 characters, and neutralised like a CSV cell unless ``raw_cells``."""
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        if value is None or isinstance(value, bool | int | float):
            return value
        text = value if isinstance(value, str) else _flat(value)
        text = ILLEGAL_CHARACTERS_RE.sub("", text)[:XLSX_MAX_CELL]
        return text if self.raw_cells else spreadsheet_safe(text)

    def _write_xlsx(self, temporary: Path, chunks: list[Path], destination: Path) -> None:
        from openpyxl import Workbook

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("评分结果 scored")
        sheet.append([self._xlsx_cell(column) for column in self.columns])
        rows = 0
        for chunk in chunks:
            with chunk.open(encoding="utf-8") as handle:
                for line in handle:
                    rows += 1
                    if rows >= XLSX_MAX_ROWS:
                        raise OutputError(
                            destination,
                            f"has more than {XLSX_MAX_ROWS - 1:,} rows, more than an Excel sheet holds (expected "
                            ".csv or .parquet for a file this large; the scored chunks stay in the checkpoint)",
                        )
                    record = json.loads(line)
                    sheet.append([self._xlsx_cell(record.get(column)) for column in self.columns])
        workbook.save(temporary)


XLSX_MAX_ROWS = 1_048_576  # an Excel sheet's rows, the header included
XLSX_MAX_CELL = 32_767  # characters an Excel cell holds


def _header_line(columns: list[str], delimiter: str) -> str:
    import io

    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerow(columns)
    return buffer.getvalue()
