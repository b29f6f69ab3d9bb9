"""The ``feedbackml`` command: a thin layer that parses arguments, calls library functions and prints."""

from __future__ import annotations

from typing import Annotated

import typer

from feedbackml import __version__
from feedbackml.cli.base import base_app
from feedbackml.cli.data import data_app
from feedbackml.cli.model import (
    compare_command,
    evaluate_command,
    predict_command,
    robustness_command,
    train_command,
)
from feedbackml.cli.report import report_command
from feedbackml.cli.review import review_app
from feedbackml.cli.score import score_command
from feedbackml.cli.serve import serve_command
from feedbackml.cli.speed import bench_command, export_command


def _print_version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit()


app = typer.Typer(
    name="feedbackml",
    help="Collaboration barriers and sentiment in Chinese employee feedback.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(data_app, name="data")
app.add_typer(base_app, name="base")
app.add_typer(review_app, name="review")
app.command("train")(train_command)
app.command("evaluate")(evaluate_command)
app.command("compare")(compare_command)
app.command("robustness")(robustness_command)
app.command("predict")(predict_command)
app.command("score")(score_command)
app.command("serve")(serve_command)
app.command("export")(export_command)
app.command("bench")(bench_command)
app.command("report")(report_command)


@app.callback()
def options(
    show_version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Collaboration barriers, their causes and sentiment in Chinese employee feedback."""


@app.command()
def version() -> None:
    """Print the feedbackml version."""
    typer.echo(__version__)


def main() -> None:
    app()
