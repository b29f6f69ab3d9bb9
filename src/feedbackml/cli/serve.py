"""``feedbackml serve``: run the classify service with uvicorn; SIGHUP reloads the model, SIGTERM drains."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import typer

from feedbackml.cli.common import fail, user_errors


def serve_command(
    model: Annotated[Path | None, typer.Option("--model", help="Model folder (FEEDBACKML_MODEL_DIR).")] = None,
    host: Annotated[str | None, typer.Option("--host", help="Bind address (FEEDBACKML_HOST).")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port (FEEDBACKML_PORT).")] = None,
    dev: Annotated[bool, typer.Option("--dev", help="Allow running without API keys (local use only).")] = False,
    build: Annotated[
        Path | None,
        typer.Option(
            "--build",
            help="A training config: when --model holds no model yet, serve a TF-IDF model trained in seconds "
            "(kept in MODEL-quick), train this config into --model in the background and swap it in when published.",
        ),
    ] = None,
) -> None:
    """Serve POST /v1/classify and the probes. Every limit is an environment variable (see README)."""
    from pydantic import ValidationError

    from feedbackml.serve import ServeSettings, create_app

    overrides: dict[str, Any] = {k: v for k, v in {"model_dir": model, "host": host, "port": port}.items() if v}
    if dev:
        overrides["dev_mode"] = True
    try:
        settings = ServeSettings(**overrides)
    except ValidationError as error:
        fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()))
    except ValueError as error:
        fail(str(error))
    import torch

    from feedbackml.about import OrgFileError
    from feedbackml.serve.server import DrainingServer, server_config
    from feedbackml.serve.service import load_and_warm, load_org

    torch.set_num_threads(settings.threads)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:  # FEEDBACKML_ORG_FILE checked before the model loads: a bad file is one line naming file, row and field
        load_org(settings)
    except OrgFileError as error:
        fail(f"cannot serve: {error}")
    # Loaded (manifest verified, warmed) before uvicorn starts, so a bad folder is one line and exit 1 rather
    # than a lifespan traceback.
    upgrade = None
    if build is not None and not (settings.model_dir / "manifest.json").is_file():
        settings, upgrade = _first_answer_then_upgrade(settings, build)
    try:
        served = load_and_warm(settings)
    except Exception as error:  # any failure to load is the folder's: one line, no traceback
        detail = str(error).splitlines()[0] if str(error) else type(error).__name__
        fail(f"cannot serve {settings.model_dir}: {detail}")
    app = create_app(settings, model=served, upgrade=upgrade)
    DrainingServer(server_config(settings, app), app).run()


def _first_answer_then_upgrade(settings: Any, build: Path) -> tuple[Any, Any]:
    """Settings that serve the quick TF-IDF model (trained now unless MODEL-quick already holds one) and the
    background training of ``build`` into the requested folder."""
    import sys

    from feedbackml.artifacts import ModelFolderError
    from feedbackml.config import ConfigError, load_config
    from feedbackml.model import load_model
    from feedbackml.serve.upgrade import Upgrade
    from feedbackml.trainer import train

    target = settings.model_dir
    quick = target.with_name(f"{target.name}-quick")
    try:
        load_model(quick)
        typer.echo(f"serving the quick model in {quick} while {target} is trained", err=True)
    except (ModelFolderError, ValueError, OSError):
        typer.echo(f"{target} holds no model yet: training a TF-IDF model into {quick} first (seconds)", err=True)
        try:
            quick_config = load_config(build, ["kind=tfidf", f"out={quick}"])
        except ConfigError as error:
            fail(str(error))
        with user_errors():
            train(quick_config, log=lambda line: typer.echo(line, err=True), progress=False)
    command = [sys.executable, "-m", "feedbackml", "train", "--config", str(build), "--out", str(target)]
    if target.exists():
        command.append("--force")  # a folder without a manifest (an interrupted copy): replaced once complete
    upgrade = Upgrade(command=command, target=target, log_path=target.with_name(f"{target.name}-training.log"))
    return settings.model_copy(update={"model_dir": quick}), upgrade
