"""``feedbackml report``: a thin command over ``feedbackml.report.build_report``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from feedbackml.cli.common import Encoding, HeaderRow, Sheet, TextCol, resolve_encoding, user_errors

GroupCol = Annotated[
    str | None, typer.Option("--group-col", help="Column naming the group (e.g. department); small groups are hidden.")
]
WaveCol = Annotated[
    str | None, typer.Option("--wave-col", help="Column naming the survey wave or date, for the trend section.")
]
MinGroupSize = Annotated[
    int, typer.Option("--min-group-size", min=2, help="Groups and cells with fewer rows are suppressed.")
]


def report_command(
    scored: Annotated[
        list[Path],
        typer.Argument(
            help="Files written by 'feedbackml score' (CSV, JSONL, xlsx, Parquet). Several files are several "
            "surveys, oldest first: each is one wave and changes are marked against the one before."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder for report.html, aggregates.json and the CSV files.")],
    text_col: TextCol = "text",
    group_col: GroupCol = None,
    wave_col: WaveCol = None,
    min_group_size: MinGroupSize = 10,
    samples_per_barrier: Annotated[
        int, typer.Option("--samples-per-barrier", min=0, help="Representative comments shown per barrier.")
    ] = 5,
    title: Annotated[str | None, typer.Option("--title", help="Heading of the report.")] = None,
    encoding: Encoding = "auto",
    sheet: Sheet = None,
    header_row: HeaderRow = 1,
    force: Annotated[bool, typer.Option("--force", help="Replace a non-empty --out folder.")] = False,
    previous: Annotated[
        Path | None,
        typer.Option("--previous", help="The previous survey's scored file: the report marks changes against it."),
    ] = None,
) -> None:
    """Write the HR report of a scored file: HTML (opens offline), aggregates.json and CSVs, with small groups
    suppressed everywhere."""
    from feedbackml.report import ReportOptions, build_report

    with user_errors():
        options = ReportOptions(
            text_col=text_col,
            group_col=group_col,
            wave_col=wave_col,
            min_group_size=min_group_size,
            samples_per_barrier=samples_per_barrier,
            encoding=resolve_encoding((previous or scored[0]), encoding),  # one encoding for every file
            sheet=sheet,
            header_row=header_row,
            **({"title": title} if title else {}),
        )
        files = [previous, *scored] if previous is not None else scored
        summary = build_report(files, out, options, overwrite=force)
    typer.echo(f"report written to {summary.out_dir / 'report.html'} ({', '.join(summary.files[1:])} beside it)")
    several = len(scored) + (previous is not None) > 1
    for line in summary.lines(min_group_size, groups=group_col is not None, waves=wave_col is not None or several):
        typer.echo(line)
