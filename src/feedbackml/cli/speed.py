"""``feedbackml export | bench``: thin commands over ``feedbackml.export.export_folder`` and
``feedbackml.bench.run_bench``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from feedbackml.cli.common import user_errors
from feedbackml.io import atomic_path

Threads = Annotated[int, typer.Option("--threads", min=1, help="Threads per runtime (1: one per worker).")]


def export_command(
    model: Annotated[Path, typer.Option("--model", help="An encoder model folder written by 'feedbackml train'.")],
    dev: Annotated[
        list[Path] | None,
        typer.Option("--dev", help="Labelled dev file(s) to measure on (default: those the model was calibrated on)."),
    ] = None,
    threads: Threads = 1,
    per_channel: Annotated[
        bool, typer.Option("--per-channel/--per-tensor", help="int8 weight scales per output channel (default).")
    ] = True,
) -> None:
    """Add ONNX fp32 and int8 runtimes to a model folder, measure them on dev, record the default (atomic)."""
    from feedbackml.export import export_folder

    with user_errors():  # ModelFolderError and ExportError are ValueErrors: one line, exit 1
        record = export_folder(
            model,
            dev=list(dev) if dev else None,
            threads=threads,
            quantization={"per_channel": per_channel},
            log=typer.echo,
        )
    typer.echo(f"default runtime: {record['default']} (recorded in {model / 'config.json'})")


def worker_counts(text: str | None) -> list[int] | None:
    """``1,4,16`` as a list; a clear error for anything else."""
    if text is None:
        return None
    try:
        counts = [int(part) for part in text.split(",")]
    except ValueError:
        counts = []
    if not counts or min(counts) < 1:
        raise typer.BadParameter(f"expected worker counts such as 1,4,16, got {text!r}", param_hint="--workers")
    return counts


def bench_command(
    model: Annotated[Path, typer.Option("--model", help="An exported encoder model folder.")] = Path("models/default"),
    data: Annotated[Path, typer.Option("--data", help="Labelled comments to time and score.")] = Path(
        "data/labelled/test.jsonl"
    ),
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the results as JSON here.")] = None,
    quick: Annotated[bool, typer.Option("--quick", help="16 comments, 2 with evidence, short GEMM timing.")] = False,
    rows: Annotated[int | None, typer.Option("--rows", min=1, help="Use only the first N comments.")] = None,
    evidence_rows: Annotated[
        int | None, typer.Option("--evidence-rows", min=1, help="Comments timed with evidence (default 48).")
    ] = None,
    threads: Threads = 1,
    workers: Annotated[
        str | None,
        typer.Option("--workers", help="Worker counts to time, e.g. 1,4,16 (default 1, 2, 4, … up to the cores)."),
    ] = None,
) -> None:
    """Time torch fp32, ONNX fp32 and ONNX int8 on the same comments (batch 1 and 32, with and without evidence)
    against this machine's GEMM ceiling and plain transformers, score each runtime's macro-F1, and time the
    default runtime on 1, 2, … worker processes."""
    from feedbackml.bench import format_bench, run_bench

    with user_errors():
        result = run_bench(
            model,
            data,
            quick=quick,
            rows=rows,
            evidence_rows=evidence_rows,
            threads=threads,
            workers=worker_counts(workers),
            log=typer.echo,
        )
    typer.echo(format_bench(result))
    if json_out:
        with atomic_path(json_out) as temporary:
            temporary.write_text(json.dumps(result, indent=1), encoding="utf-8")
        typer.echo(f"json: {json_out}")
