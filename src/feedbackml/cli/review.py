"""``feedbackml review …``: the labelling loop's two ends (tasks out, labels in)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from feedbackml.cli.common import TextCol, fail, user_errors
from feedbackml.data.validate import problem_lines
from feedbackml.review import TASK_FORMATS, export_tasks, import_labels, write_records

review_app = typer.Typer(help="Export uncertain comments for labelling; import the labels back.", no_args_is_help=True)


@review_app.command("export")
def export_command(
    scored: Annotated[Path, typer.Argument(help="A file written by 'feedbackml score'.")],
    out: Annotated[Path, typer.Option("--out", help="The tasks file (.json for the tools, .csv for a spreadsheet).")],
    task_format: Annotated[str, typer.Option("--format", help=f"One of: {', '.join(TASK_FORMATS)}.")] = "label-studio",
    top: Annotated[int, typer.Option("--top", min=1, help="How many comments, most uncertain first.")] = 200,
    text_col: TextCol = "text",
    id_col: Annotated[
        str | None, typer.Option("--id-col", help="Column with the comment id (default: line-N of the input).")
    ] = None,
    group_col: Annotated[
        str | None, typer.Option("--group-col", help="Column with the writer's department, carried into the task.")
    ] = None,
    redact_text: Annotated[
        bool, typer.Option("--redact", help="Mask phone numbers, IDs, e-mails and @names in the task text.")
    ] = False,
) -> None:
    """Write the comments the model is least sure of as labelling tasks, its labels as pre-annotations."""
    if task_format not in TASK_FORMATS:
        fail(f"--format must be one of: {', '.join(TASK_FORMATS)} (got {task_format[:40]!r})", code=2)
    with user_errors():
        written = export_tasks(
            scored,
            out,
            task_format=task_format,  # type: ignore[arg-type]
            top=top,
            text_col=text_col,
            id_col=id_col,
            group_col=group_col,
            redact_text=redact_text,
        )
    for path in written:
        typer.echo(f"wrote {path}")


@review_app.command("import")
def import_command(
    export: Annotated[Path, typer.Argument(help="The tool's export: Label Studio JSON, Argilla records or the CSV.")],
    out: Annotated[Path, typer.Option("--out", help="Corpus JSONL to write (feedbackml data validate reads it).")],
    source_format: Annotated[str, typer.Option("--format", help="auto, label-studio, argilla or csv.")] = "auto",
    id_prefix: Annotated[
        str, typer.Option("--id-prefix", help="Put before every id, so a week's batch cannot collide with the corpus.")
    ] = "",
    force: Annotated[bool, typer.Option("--force", help="Replace --out if it exists.")] = False,
) -> None:
    """Read labels back into the corpus schema (barriers, causes, sentiment); any problem is FILE:LINE and exit 1."""
    if source_format not in ("auto", *TASK_FORMATS):
        fail(f"--format must be auto or one of: {', '.join(TASK_FORMATS)} (got {source_format[:40]!r})", code=2)
    if out.exists() and not force:
        fail(f"{out}: exists (expected a new file; --force replaces it)")
    if out.resolve() == export.resolve():
        fail(f"{out}: is the export itself (expected a new file)")
    with user_errors():
        result = import_labels(export, source_format=source_format, id_prefix=id_prefix)  # type: ignore[arg-type]
    if result.problems:
        for line in problem_lines(result.problems):
            typer.echo(line, err=True)
        fail(f"{len(result.problems)} problem(s) in {export}; nothing written")
    with user_errors():
        count = write_records(result, out)
    typer.echo(f"wrote {count} labelled records to {out} ({result.unlabelled} tasks without labels skipped)")
