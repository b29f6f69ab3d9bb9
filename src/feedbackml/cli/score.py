"""``feedbackml score``: a thin command over ``feedbackml.scoring.score`` (and, with ``--report``, the report)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from feedbackml.cli.common import Encoding, HeaderRow, IdCol, Sheet, TextCol, fail, resolve_encoding, user_errors
from feedbackml.cli.report import GroupCol, MinGroupSize, WaveCol
from feedbackml.scoring.options import DEFAULT_EVIDENCE_SAMPLE


def score_command(
    input: Annotated[Path, typer.Argument(help="Survey export: CSV/TSV, Excel, JSONL or Parquet. Never modified.")],
    out: Annotated[
        Path, typer.Option("--out", help="Scored file (.csv, .tsv, .jsonl or .parquet), written atomically.")
    ],
    model: Annotated[Path, typer.Option("--model", help="Model folder.")] = Path("models/default"),
    text_col: TextCol = "text",
    id_col: IdCol = "",
    group_col: GroupCol = None,
    wave_col: WaveCol = None,
    redact: Annotated[
        bool, typer.Option("--redact", help="Mask phone numbers, IDs, e-mails, @mentions in the output text.")
    ] = False,
    evidence: Annotated[
        bool, typer.Option("--evidence/--no-evidence", help="Find the words behind each label.")
    ] = True,
    evidence_sample: Annotated[
        float,
        typer.Option(
            "--evidence-sample",
            min=0.0,
            max=1.0,
            help="Share of rows that get evidence (a fixed sample by row position; 1 for every row): evidence costs "
            "a model pass per word, and a sample is enough for the report's evidence words.",
        ),
    ] = DEFAULT_EVIDENCE_SAMPLE,
    runtime: Annotated[
        str | None, typer.Option("--runtime", help="torch, onnx or onnx-int8 (default: the model folder's choice).")
    ] = None,
    device: Annotated[
        str, typer.Option("--device", help="auto (CUDA when torch sees it, else the CPU), cpu or cuda (torch, fp16).")
    ] = "auto",
    engine: Annotated[str, typer.Option("--engine", help="local, or ray (Ray Data, one model per worker).")] = "local",
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            help="Processes scoring at once, each with its own model and --threads threads (local: 1, the same "
            "bytes whatever the number; ray: 2).",
        ),
    ] = None,
    ray_address: Annotated[
        str | None, typer.Option("--ray-address", help="Ray cluster to join, e.g. ray://head:10001 (default: local).")
    ] = None,
    threads: Annotated[int, typer.Option("--threads", min=1, help="torch threads per worker.")] = 1,
    chunk_rows: Annotated[
        int, typer.Option("--chunk-rows", min=1, help="Rows per checkpointed chunk (part of the resume identity).")
    ] = 512,
    restart: Annotated[bool, typer.Option("--restart", help="Discard a checkpoint left by an earlier run.")] = False,
    raw_cells: Annotated[
        bool,
        typer.Option(
            "--raw-cells",
            help="CSV/TSV: write text cells exactly as read, even those a spreadsheet runs as formulas (starting "
            "with = + - @); by default they get a leading ' so Excel shows them as text. For pipelines only.",
        ),
    ] = False,
    org: Annotated[
        Path | None,
        typer.Option(
            "--org",
            help="org.csv (name, aliases separated by | or 、, optional parent): the department names the about "
            "column writes. Its departments are part of the resume identity.",
        ),
    ] = None,
    report: Annotated[Path | None, typer.Option("--report", help="Also write the HR report to this folder.")] = None,
    min_group_size: MinGroupSize = 10,
    encoding: Encoding = "auto",
    sheet: Sheet = None,
    header_row: HeaderRow = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run summary as JSON.")] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Check the export as score would read it (columns, encoding, sheet, every row) and report what each "
            "row would become, without a model and without writing; exit 1 if any row would be an error.",
        ),
    ] = False,
) -> None:
    """Score every comment of a survey export; keeps every input column and appends labels, probabilities,
    evidence, model_version and a per-row status. Killed and rerun with the same command, it resumes."""
    from feedbackml.artifacts import ModelFolderError
    from feedbackml.scoring import ScoreOptions, estimate_rows, load_org, make_engine, score

    if engine not in ("local", "ray"):
        fail(f"--engine must be local or ray (got '{engine}')")
    if report is not None and report.exists() and (not report.is_dir() or any(report.iterdir())):
        # checked before scoring, not after an hour of it
        fail(f"{report}: exists and is not an empty folder (expected a new folder for --report)")
    options = ScoreOptions(
        input=input,
        output=out,
        model=model,
        text_col=text_col,
        id_col=id_col or None,
        group_col=group_col,
        wave_col=wave_col,
        redact=redact,
        evidence=evidence,
        evidence_sample=evidence_sample,
        runtime=runtime,
        device=device,
        chunk_rows=chunk_rows,
        encoding=resolve_encoding(input, encoding),
        sheet=sheet,
        header_row=header_row,
        threads=threads,
        raw_cells=raw_cells,
        org=org,
    )
    if dry_run:
        _dry_run(options)
        return
    from tqdm import tqdm

    with user_errors():
        load_org(options)  # a bad org file is one line before any work (score reads it again for its run)
    with user_errors():
        try:
            total = estimate_rows(options)
            with tqdm(
                total=total, unit="rows", desc="scoring", disable=not sys.stderr.isatty(), dynamic_ncols=True
            ) as bar:
                summary = score(
                    options,
                    engine=make_engine(engine, workers=workers, address=ray_address),
                    progress=bar.update,
                    restart=restart,
                )
        except ModelFolderError as error:
            fail(str(error))
        except KeyboardInterrupt:
            from feedbackml.scoring import partial_folder

            kept = partial_folder(out)
            fail(
                f"interrupted; run the same command again to resume ({kept} keeps the finished chunks)"
                if kept.exists()
                else "interrupted before any chunk was finished; nothing was written",
                code=130,
            )
    if as_json:
        typer.echo(json.dumps(summary.to_json(), ensure_ascii=False))
    else:
        resumed = (
            f", {summary.resumed_chunks} of {summary.chunks} chunks from the checkpoint"
            if summary.resumed_chunks
            else ""
        )
        typer.echo(
            f"scored {summary.rows:,} rows → {out} ({summary.ok:,} ok, {summary.empty:,} empty, "
            f"{summary.errors:,} errors) in {summary.seconds:.1f} s, {summary.rows_per_second:.1f} rows/s, "
            f"peak memory {summary.peak_rss_mb:.0f} MB{resumed}"
        )
    if report is not None:
        from feedbackml.report import ReportOptions, build_report

        with user_errors():
            built = build_report(
                out,
                report,
                ReportOptions(text_col=text_col, group_col=group_col, wave_col=wave_col, min_group_size=min_group_size),
            )
        typer.echo(f"report written to {built.out_dir / 'report.html'}")
        for line in built.lines(min_group_size, groups=group_col is not None, waves=wave_col is not None)[1:]:
            typer.echo(line)


def _dry_run(options: Any) -> None:
    from feedbackml.scoring import check_input

    with user_errors():
        found = check_input(options)
    counts = found.summary
    typer.echo(
        f"{options.input}: {counts.rows:,} rows would be scored as {counts.ok:,} ok, {counts.empty:,} empty, "
        f"{counts.errors:,} errors (nothing written)"
    )
    if options.group_col:
        typer.echo(f"{options.group_col}: {len(found.groups):,} distinct values")
    if options.wave_col:
        typer.echo(f"{options.wave_col}: {len(found.waves):,} distinct values")
    for line in found.first_errors:
        typer.echo(f"  {line}")
    if counts.errors:
        raise typer.Exit(1)
