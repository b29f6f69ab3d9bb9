"""``feedbackml data …``: validate, split and measure agreement of labelled files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from feedbackml.cli.common import (
    BarriersCol,
    DepartmentCol,
    Encoding,
    HeaderRow,
    IdCol,
    SentimentCol,
    Sheet,
    SourceCol,
    TextCol,
    fail,
    make_columns,
    read_options,
    user_errors,
)
from feedbackml.data.agreement import compare_passes, format_agreement
from feedbackml.data.dedup import DEFAULT_THRESHOLD
from feedbackml.data.records import load_labelled
from feedbackml.data.split import DEFAULT_RATIOS, SPLIT_NAMES, split_records
from feedbackml.data.validate import DEFAULT_MIN_SHARE, format_summary, problem_lines, summarize, validate_files
from feedbackml.io import write_jsonl

data_app = typer.Typer(help="Check, split and compare labelled data.", no_args_is_help=True)

Files = Annotated[list[Path], typer.Argument(help="Labelled files: .jsonl, .csv, .tsv, .xlsx or .parquet.")]
NearDup = Annotated[
    float,
    typer.Option(
        "--near-dup-threshold",
        min=0.01,
        max=1.0,
        help="Character-bigram Jaccard from which two texts count as near duplicates.",
    ),
]


@data_app.command("validate")
def validate_command(
    files: Files,
    text_col: TextCol = "text",
    id_col: IdCol = "id",
    barriers_col: BarriersCol = "barriers",
    sentiment_col: SentimentCol = "sentiment",
    source_col: SourceCol = "source",
    department_col: DepartmentCol = "department",
    encoding: Encoding = "auto",
    sheet: Sheet = None,
    header_row: HeaderRow = 1,
    near_dup_threshold: NearDup = DEFAULT_THRESHOLD,
    min_label_share: Annotated[
        float, typer.Option("--min-label-share", min=0.0, max=1.0, help="Warn when a label is rarer than this.")
    ] = DEFAULT_MIN_SHARE,
    quiet_warnings: Annotated[bool, typer.Option("--no-warnings", help="Print errors only.")] = False,
) -> None:
    """Check labelled files: schema, labels, empty texts, duplicate ids, duplicate and near-duplicate texts
    within and across files, label balance and lengths. Exit 1 if any error is found."""
    columns = make_columns(text_col, id_col, barriers_col, sentiment_col, source_col, department_col)
    report = validate_files(
        [str(path) for path in files],
        columns,
        near_duplicate_threshold=near_dup_threshold,
        min_label_share=min_label_share,
        **read_options(encoding, sheet, header_row),
    )
    for line in problem_lines(report.problems, errors_only=quiet_warnings):
        typer.echo(line)
    if report.problems:
        typer.echo("")
    if report.records:
        typer.echo(format_summary(report))
        typer.echo("")
    typer.echo(
        f"{len(report.records)} valid records in {len(files)} file(s); "
        f"{len(report.errors)} error(s), {len(report.warnings)} warning(s)"
    )
    if not report.ok:
        raise typer.Exit(1)


@data_app.command("split")
def split_command(
    files: Files,
    out: Annotated[Path, typer.Option("--out", help="Folder to write train/dev/test .jsonl into.")],
    ratios: Annotated[str, typer.Option("--ratios", help="train,dev,test shares.")] = ",".join(
        str(r) for r in DEFAULT_RATIOS
    ),
    seed: Annotated[int, typer.Option("--seed", help="Seed for a reproducible split.")] = 13,
    near_dup_threshold: NearDup = DEFAULT_THRESHOLD,
    text_col: TextCol = "text",
    id_col: IdCol = "id",
    barriers_col: BarriersCol = "barriers",
    sentiment_col: SentimentCol = "sentiment",
    source_col: SourceCol = "source",
    department_col: DepartmentCol = "department",
    encoding: Encoding = "auto",
    sheet: Sheet = None,
    header_row: HeaderRow = 1,
) -> None:
    """Split labelled files into train/dev/test, stratified on every label, keeping near duplicates together."""
    try:
        shares = [float(part) for part in ratios.split(",")]
    except ValueError:
        fail(f"--ratios must be numbers separated by commas (got '{ratios}')")
    destinations = [out / f"{name}.jsonl" for name in SPLIT_NAMES]
    inputs = {path.resolve() for path in files}
    if any(destination.resolve() in inputs for destination in destinations):
        fail(f"--out {out} would overwrite an input file; choose another folder")
    columns = make_columns(text_col, id_col, barriers_col, sentiment_col, source_col, department_col)
    with user_errors():
        records = load_labelled([str(path) for path in files], columns, **read_options(encoding, sheet, header_row))
        ids = [record.id for record in records]
        if len(set(ids)) != len(ids):
            fail("duplicate ids in the input (run 'feedbackml data validate' to list them)")
        parts = split_records(records, shares, seed=seed, near_duplicate_threshold=near_dup_threshold)
    for name, destination in zip(SPLIT_NAMES, destinations, strict=True):
        write_jsonl(destination, (record.to_json() for record in parts[name]))
    typer.echo(f"{'split':<8}{'records':>8}{'subj':>7}{'obj':>7}{'role':>7}{'none':>7}{'neg':>7}{'neu':>7}{'pos':>7}")
    for name, destination in zip(SPLIT_NAMES, destinations, strict=True):
        s = summarize(parts[name])
        typer.echo(
            f"{name:<8}{s['n']:>8}"
            + "".join(f"{v:>7}" for v in [*s["barriers"].values(), s["no_barrier"], *s["sentiment"].values()])
            + f"  → {destination}"
        )


@data_app.command("agreement")
def agreement_command(
    first: Annotated[Path, typer.Argument(help="First labelling pass (corpus schema).")],
    second: Annotated[Path, typer.Argument(help="Second, independent pass over the same ids.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Cohen's kappa per barrier label, for the barrier set and for sentiment, and the list of disagreements."""
    with user_errors():
        report = compare_passes(load_labelled([str(first)]), load_labelled([str(second)]))
    if as_json:
        typer.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        typer.echo(format_agreement(report, first.name, second.name))


@data_app.command("about-eval")
def about_eval_command(
    files: Files,
    org: Annotated[
        Path | None, typer.Option("--org", help="org.csv: name, aliases (| or 、), optional parent.")
    ] = None,
    resamples: Annotated[int, typer.Option("--resamples", min=10, help="Bootstrap resamples.")] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help="Print the scores as JSON.")] = False,
) -> None:
    """Precision, recall and F1 of the rule-based `about` detector against the files' `about` field, with
    bootstrap 95% intervals (micro over department mentions, names compared canonically)."""
    from feedbackml.about import Organisation, about_scores

    with user_errors():
        organisation = Organisation.load(org) if org is not None else None
        results = {
            str(path): about_scores(load_labelled([str(path)]), organisation, resamples=resamples) for path in files
        }
    if as_json:
        typer.echo(json.dumps(results, ensure_ascii=False, indent=2))
        return
    typer.echo(f"{'file':<32}{'records':>8}{'precision':>22}{'recall':>22}{'F1':>22}")
    for path, scores in results.items():
        cells = "".join(
            f"{scores[m]['value']:>8.3f} [{scores[m]['low']:.3f}, {scores[m]['high']:.3f}]"
            for m in ("precision", "recall", "f1")
        )
        typer.echo(f"{path:<32}{scores['n_records']:>8}{cells}")


@data_app.command("export")
def export_command(
    out: Annotated[Path, typer.Argument(help="Folder to write (datasets.load_from_disk reads it).")],
    export_format: Annotated[str, typer.Option("--format", help="hf: a Hugging Face DatasetDict.")] = "hf",
    split: Annotated[
        list[str] | None,
        typer.Option("--split", help="NAME=FILE, repeatable (default: data/labelled/*.jsonl and data/ood/test.jsonl)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace OUT if it exists.")] = False,
) -> None:
    """Write the corpus as a typed DatasetDict (ClassLabel sentiment, Sequence(ClassLabel) barriers and causes)."""
    from feedbackml.data.hf import export_hf

    if export_format != "hf":
        fail(f"--format must be hf (got {export_format[:40]!r})", code=2)
    if out.exists() and not force:
        fail(f"{out}: exists (expected a new folder; --force replaces it)")
    files: dict[str, list[Path]] = {}
    for entry in split or []:
        name, separator, path = entry.partition("=")
        if not separator or not name or not path:
            fail(f"--split {entry[:60]!r} is not NAME=FILE (e.g. --split train=data/labelled/train.jsonl)", code=2)
        files.setdefault(name, []).append(Path(path))
    try:
        with user_errors():  # no --split: data/labelled/<split>.jsonl and data/ood/test.jsonl of this folder
            corpus = export_hf(out, files or None)
    except ImportError as error:
        fail(str(error))
    typer.echo(f"wrote {', '.join(f'{name} {len(ds)}' for name, ds in corpus.items())} to {out}")
