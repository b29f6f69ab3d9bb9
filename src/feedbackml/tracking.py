"""Optional experiment tracking with MLflow: ``train`` (``mlflow=`` in its config, ``--mlflow`` on the command line)
and ``evaluate --mlflow`` log parameters, figures and report files to a tracking folder or server.

Nothing here runs unless asked, and nothing but this module imports ``mlflow``. A folder (``--mlflow mlruns``)
uses MLflow's file store, which MLflow 3 keeps in maintenance mode behind ``MLFLOW_ALLOW_FILE_STORE``; naming a
folder is taken as that opt-in. A URI with a scheme (``http://…``, ``sqlite:///…``) is passed through.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

EXPERIMENT = "feedbackml"


class TrackingUnavailableError(ValueError):
    """``--mlflow`` without the package installed (a ValueError: the command's one-line error)."""


def require_mlflow() -> Any:
    """The mlflow module, checked before any long work starts."""
    try:
        import mlflow
    except ImportError:
        raise TrackingUnavailableError("--mlflow needs the mlflow package (pip install mlflow-skinny)") from None
    return mlflow


def tracking_uri(target: str) -> str:
    """A folder becomes a ``file:`` URI (absolute, so runs from any folder land in one place)."""
    if "://" in target or target.startswith("file:"):
        return target
    return Path(target).resolve().as_uri()


def flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested settings or figures as ``a.b.c`` keys (MLflow takes flat ones); lists become strings."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def numeric(values: Mapping[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in values.items() if isinstance(v, int | float) and not isinstance(v, bool)}


def log_run(
    target: str,
    *,
    run_name: str,
    params: Mapping[str, Any],
    metrics: Mapping[str, float],
    artifacts: Iterable[Path] = (),
    tags: Mapping[str, str] | None = None,
) -> str:
    """Log one run and return its id. Parameters longer than MLflow's limit are cut, never dropped silently."""
    mlflow = require_mlflow()
    uri = tracking_uri(target)
    if uri.startswith("file:"):
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")  # the folder named is the user's choice
    client = mlflow.MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    experiment_id = experiment.experiment_id if experiment else client.create_experiment(EXPERIMENT)
    run = client.create_run(experiment_id, run_name=run_name, tags=dict(tags or {}))
    run_id = run.info.run_id
    status = "FAILED"
    try:
        for key, value in params.items():
            client.log_param(run_id, key, str(value)[:6000])
        for key, value in metrics.items():
            client.log_metric(run_id, key, float(value))
        for path in artifacts:
            if path.is_file():
                client.log_artifact(run_id, str(path))
        status = "FINISHED"
    finally:
        client.set_terminated(run_id, status)
    return run_id


def evaluation_run(
    target: str, report: Mapping[str, Any], *, model: Path, data: Iterable[Path], out: Path, version: str
) -> str:
    """One MLflow run for an ``evaluate``: the headline figures with their intervals and the report files."""
    metrics: dict[str, float] = {"n": float(report["n"])}
    for head, keys in (("barriers", ("macro_f1", "micro_f1")), ("sentiment", ("macro_f1",)), ("causes", ("micro_f1",))):
        part = report.get(head) or {}
        for key in keys:
            if isinstance(part.get(key), int | float):
                metrics[f"{head}.{key}"] = float(part[key])
                interval = part.get(f"{key}_ci95")
                if interval:
                    metrics[f"{head}.{key}.low"], metrics[f"{head}.{key}.high"] = map(float, interval)
    return log_run(
        target,
        run_name=f"evaluate {model.name}",
        params={"model": str(model), "model_version": version, "data": ",".join(map(str, data))},
        metrics=metrics,
        artifacts=[out / "report.json", out / "report.md"],
        tags={"feedbackml.command": "evaluate", "feedbackml.model_version": version},
    )


def training_run(config: Any, dev_metrics: Mapping[str, Any], seconds: float, epochs: int) -> str:
    """One MLflow run for a ``train``: every setting, the dev figures, the card, config and manifest of the folder."""
    settings = config.model_dump(mode="json", exclude={"mlflow"})
    out = Path(config.out)
    return log_run(
        str(config.mlflow),
        run_name=f"train {out.name}",
        params=flatten(settings),
        metrics={**numeric(flatten(dev_metrics, "dev.")), "train_seconds": seconds, "epochs": float(epochs)},
        artifacts=[out / "README.md", out / "config.json", out / "manifest.json"],
        tags={"feedbackml.command": "train", "feedbackml.model_folder": str(out)},
    )
