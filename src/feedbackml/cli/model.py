"""``feedbackml train | evaluate | compare | predict``: thin commands over trainer, evaluate and model."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from feedbackml.artifacts import ModelFolderError
from feedbackml.cli.common import (
    BarriersCol,
    Encoding,
    IdCol,
    SentimentCol,
    Sheet,
    TextCol,
    fail,
    make_columns,
    read_options,
    user_errors,
)
from feedbackml.config import ConfigError, load_config, not_applicable
from feedbackml.data.records import load_labelled
from feedbackml.labels import BARRIER_NAMES_ZH, SENTIMENT_NAMES_ZH

ModelDir = Annotated[Path, typer.Option("--model", help="A model folder written by 'feedbackml train'.")]
Threads = Annotated[
    int | None,
    typer.Option("--threads", min=1, help="torch or ONNX Runtime threads (default: torch's choice; ONNX Runtime 1)."),
]
Runtime = Annotated[
    str,
    typer.Option(
        "--runtime",
        help="torch, onnx, onnx-int8, or auto: the fastest runtime within 0.5 point of torch's dev macro-F1, as "
        "measured and recorded by 'feedbackml export' (torch when the folder has no export).",
    ),
]
Device = Annotated[
    str,
    typer.Option("--device", help="auto (CUDA when torch sees it, else the CPU), cpu or cuda (torch, fp16)."),
]


DEFAULT_CONFIG = Path("training/default.yaml")


def _load(path: Path, threads: int | None = None, runtime: str = "auto", device: str = "auto"):  # type: ignore[no-untyped-def]
    from feedbackml.model import load_model

    if threads:
        import torch

        torch.set_num_threads(threads)
    try:
        return load_model(path, runtime=runtime, threads=threads, device=device)
    except (ModelFolderError, ValueError) as error:
        fail(str(error))


def train_command(
    overrides: Annotated[
        list[str] | None, typer.Argument(help="Settings to override, e.g. epochs=3 kind=tfidf.")
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="YAML training config (default: training/default.yaml if present).")
    ] = None,
    base_model: Annotated[
        str | None, typer.Option("--base-model", help="Local HF folder (or hub name, where online) to fine-tune.")
    ] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="Model kind: encoder or tfidf.")] = None,
    model: Annotated[
        str | None, typer.Option("--model", hidden=True, help="Old name of --kind (--model is a folder elsewhere).")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Folder to publish the model to.")] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing model folder (only once the new one is complete).")
    ] = False,
    mlflow: Annotated[
        str | None, typer.Option("--mlflow", help="Log the run to this MLflow folder or tracking URI.")
    ] = None,
) -> None:
    """Train a model on labelled data and publish it (calibrated on dev) to a new folder, atomically."""
    from feedbackml.trainer import train

    extra = [*(overrides or [])]
    if base_model:
        extra.append(f"base_model={base_model}")
    if model:
        typer.echo("warning: train --model is now --kind (elsewhere --model names a model folder)", err=True)
        kind = kind or model
    if kind:
        extra.append(f"kind={kind}")
    if out:
        extra.append(f"out={out}")
    if mlflow:
        extra.append(f"mlflow={mlflow}")
    try:
        if config is None and DEFAULT_CONFIG.is_file():
            config = DEFAULT_CONFIG
        settings = load_config(config, extra)
    except ConfigError as error:
        fail(str(error))
    for name in not_applicable(settings):
        typer.echo(f"warning: {name} does not apply to a {settings.kind} model (ignored)", err=True)
    if settings.out.exists() and any(settings.out.iterdir()) and not force:
        fail(f"{settings.out}: exists and is not empty (expected a new folder; --force replaces it when done)")
    with user_errors():
        result = train(settings, log=typer.echo)
    typer.echo(f"model written to {result.path}")


def evaluate_command(
    model: ModelDir,
    data: Annotated[list[Path], typer.Option("--data", help="Labelled file(s) to evaluate on.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for report.json, report.md, charts, errors.")],
    resamples: Annotated[int, typer.Option("--resamples", min=100, help="Bootstrap resamples.")] = 1000,
    threads: Threads = None,
    text_col: TextCol = "text",
    id_col: IdCol = "id",
    barriers_col: BarriersCol = "barriers",
    sentiment_col: SentimentCol = "sentiment",
    encoding: Encoding = "auto",
    sheet: Sheet = None,
    runtime: Runtime = "auto",
    device: Device = "auto",
    mlflow: Annotated[
        str | None, typer.Option("--mlflow", help="Log the figures and report files to this MLflow folder or URI.")
    ] = None,
) -> None:
    """Evaluate a model: per-label P/R/F1 with bootstrap intervals, sentiment, calibration, slices, errors."""
    from feedbackml.evaluate import evaluate
    from feedbackml.model import load_baseline

    if mlflow:
        from feedbackml.tracking import require_mlflow

        with user_errors():
            require_mlflow()  # before the work, not after it
    classifier = _load(model, threads, runtime, device)
    with user_errors():
        columns = make_columns(text_col, id_col, barriers_col, sentiment_col, "source", "department")
        records = load_labelled([str(p) for p in data], columns, **read_options(encoding, sheet, 1))
        report = evaluate(classifier, records, out, resamples=resamples, baseline=load_baseline(model, verify=False))
    b, s = report["barriers"], report["sentiment"]
    typer.echo(
        f"{report['n']} comments: barrier macro-F1 {b['macro_f1']:.3f} "
        f"[{b['macro_f1_ci95'][0]:.3f}, {b['macro_f1_ci95'][1]:.3f}], sentiment macro-F1 {s['macro_f1']:.3f} "
        f"[{s['macro_f1_ci95'][0]:.3f}, {s['macro_f1_ci95'][1]:.3f}]"
    )
    if versus := report.get("versus_baseline"):
        for key in ("barriers.macro_f1", "sentiment.macro_f1"):
            row = versus[key]
            typer.echo(
                f"  vs TF-IDF baseline {key}: {row['a']:.3f} → {row['b']:.3f} ({row['difference']:+.3f}, "
                f"p={row['p_value']:.3f})"
            )
    typer.echo(f"report: {out / 'report.md'} and {out / 'report.json'}; errors: {out / 'errors.jsonl'}")
    if mlflow:
        from feedbackml.tracking import evaluation_run

        with user_errors():
            run_id = evaluation_run(mlflow, report, model=model, data=data, out=out, version=classifier.version)
        typer.echo(f"logged to MLflow ({mlflow}), run {run_id}")


def compare_command(
    models: Annotated[list[Path], typer.Option("--model", help="Give twice: --model A --model B.")],
    data: Annotated[list[Path], typer.Option("--data", help="Labelled file(s) both models are scored on.")],
    resamples: Annotated[int, typer.Option("--resamples", min=100)] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    threads: Threads = None,
    text_col: TextCol = "text",
    id_col: IdCol = "id",
    barriers_col: BarriersCol = "barriers",
    sentiment_col: SentimentCol = "sentiment",
    encoding: Encoding = "auto",
    sheet: Sheet = None,
) -> None:
    """Compare two models on the same comments, with paired-bootstrap p-values (is B better than A?)."""
    from feedbackml.evaluate import compare, format_comparison

    if len(models) != 2:
        fail("give exactly two models: --model A --model B")
    first, second = _load(models[0], threads), _load(models[1], threads)
    with user_errors():
        columns = make_columns(text_col, id_col, barriers_col, sentiment_col, "source", "department")
        records = load_labelled([str(p) for p in data], columns, **read_options(encoding, sheet, 1))
        result = compare(first, second, records, resamples=resamples)
    typer.echo(json.dumps(result, indent=1) if as_json else format_comparison(result))


def predict_command(
    texts: Annotated[
        list[str], typer.Argument(help="Comment text(s) to classify; '-' reads one comment per line from stdin.")
    ],
    model: ModelDir = Path("models/default"),
    evidence: Annotated[
        bool, typer.Option("--evidence/--no-evidence", help="Find the words behind each label.")
    ] = True,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON line per comment, shaped like an item of the API's results.")
    ] = False,
    threads: Threads = None,
    runtime: Runtime = "auto",
    device: Device = "auto",
) -> None:
    """Classify comments given on the command line (or on stdin with '-') and show probabilities and evidence."""
    if texts == ["-"]:
        texts = [line.rstrip("\r\n") for line in sys.stdin if line.strip()]
        if not texts:
            fail("no comments on standard input (expected one comment per line)")
    classifier = _load(model, threads, runtime, device)
    for number, (text, prediction) in enumerate(
        zip(texts, classifier.predict(list(texts), evidence=evidence), strict=True), start=1
    ):
        if as_json:
            from feedbackml.about import detect_about
            from feedbackml.serve.schemas import ItemResult

            result = ItemResult.from_prediction(str(number), prediction, truncated=False, about=detect_about(text))
            typer.echo(json.dumps(result.model_dump(mode="json"), ensure_ascii=False))
            continue
        barriers = ", ".join(f"{label} {BARRIER_NAMES_ZH[label]}" for label in prediction.barriers) or "none 无障碍"
        typer.echo(f"{text}\n  barriers:  {barriers}")
        typer.echo("  probs:     " + "  ".join(f"{k} {v:.2f}" for k, v in prediction.barrier_probs.items()))
        typer.echo(
            f"  sentiment: {prediction.sentiment} {SENTIMENT_NAMES_ZH[prediction.sentiment]}  ("
            + "  ".join(f"{k} {v:.2f}" for k, v in prediction.sentiment_probs.items())
            + ")"
        )
        if prediction.needs_review:
            typer.echo("  needs review: the model is unsure")
        for item in prediction.evidence:
            typer.echo(f"  evidence:  {item.word} [{item.start}:{item.end}] → {item.label} (+{item.weight:.2f})")


def robustness_command(
    model: ModelDir,
    data: Annotated[list[Path], typer.Option("--data", help="Labelled file(s) to draw the comments from.")],
    comments: Annotated[int, typer.Option("--comments", min=1, help="How many comments to perturb.")] = 300,
    seed: Annotated[int, typer.Option("--seed", help="Which comments and which prefixes/suffixes.")] = 0,
    threads: Threads = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """How often predictions flip under label-preserving edits (prefix, suffix, width, 繁體, typo, emoji, English)."""
    from feedbackml.robustness import format_robustness, robustness_report

    classifier = _load(model, threads)
    with user_errors():
        records = load_labelled([str(p) for p in data])
        report = robustness_report(classifier, records, comments=comments, seed=seed)
    typer.echo(json.dumps(report, ensure_ascii=False, indent=1) if as_json else format_robustness(report))
