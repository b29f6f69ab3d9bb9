"""Options and error handling every command shares, so flags mean the same thing everywhere."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from feedbackml.data.records import Columns
from feedbackml.io import InputError

TextCol = Annotated[str, typer.Option("--text-col", help="Column holding the comment text.")]
IdCol = Annotated[str, typer.Option("--id-col", help="Column holding the record id.")]
BarriersCol = Annotated[
    str, typer.Option("--barriers-col", help="Column holding barrier labels (a list, or 'a|b' in flat files).")
]
SentimentCol = Annotated[str, typer.Option("--sentiment-col", help="Column holding the sentiment label.")]
SourceCol = Annotated[str, typer.Option("--source-col", help="Column holding where the comment came from.")]
DepartmentCol = Annotated[str, typer.Option("--department-col", help="Column holding the writer's department.")]
Encoding = Annotated[
    str,
    typer.Option(
        "--encoding",
        help="Encoding of CSV/TSV files: auto (UTF-8, or GB18030 when the file is not UTF-8 but is valid GB18030, "
        "as Chinese Excel saves it; said when chosen), or a name such as utf-8 or gb18030.",
    ),
]


def resolve_encoding(path: Path, encoding: str) -> str:
    """The encoding to read ``path`` with; ``auto`` is decided here, once, and said when it is not UTF-8."""
    if encoding != "auto":
        return encoding
    from feedbackml.io import sniff_encoding

    found = sniff_encoding(path) if path.suffix.lower() in (".csv", ".tsv", ".txt") else "utf-8"
    if found != "utf-8":
        typer.echo(f"note: {path} is not UTF-8; reading it as {found.upper()} (--encoding chooses)", err=True)
    return found


Sheet = Annotated[str | None, typer.Option("--sheet", help="Excel sheet name (default: the first).")]
HeaderRow = Annotated[int, typer.Option("--header-row", min=1, help="Excel row holding the column names.")]


def make_columns(text: str, id: str, barriers: str, sentiment: str, source: str, department: str) -> Columns:
    return Columns(id=id, text=text, barriers=barriers, sentiment=sentiment, source=source, department=department)


def read_options(encoding: str, sheet: str | None, header_row: int) -> dict[str, Any]:
    return {"encoding": encoding, "sheet": sheet, "header_row": header_row}


def fail(message: str, code: int = 1) -> None:
    """Print a one-line error to stderr and exit non-zero, with no traceback."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the errors a user can fix (bad files, bad values) into one clear line and exit code 1."""
    try:
        yield
    except InputError as error:
        fail(str(error))
    except ValueError as error:
        fail(str(error))
