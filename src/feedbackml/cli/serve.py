"""``feedbackml serve``: run the classify service with uvicorn; SIGHUP reloads the model, SIGTERM drains."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from pathlib import Path
from typing import Annotated, Any

import typer

from feedbackml.cli.common import fail


def serve_command(
    model: Annotated[Path | None, typer.Option("--model", help="Model folder (FEEDBACKML_MODEL_DIR).")] = None,
    host: Annotated[str | None, typer.Option("--host", help="Bind address (FEEDBACKML_HOST).")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port (FEEDBACKML_PORT).")] = None,
    dev: Annotated[bool, typer.Option("--dev", help="Allow running without API keys (local use only).")] = False,
) -> None:
    """Serve POST /v1/classify and the probes. Every limit is an environment variable (see README)."""
    import uvicorn
    from pydantic import ValidationError

    from feedbackml.artifacts import ModelFolderError
    from feedbackml.serve import ServeSettings, create_app

    overrides: dict[str, Any] = {k: v for k, v in {"model_dir": model, "host": host, "port": port}.items() if v}
    if dev:
        overrides["dev_mode"] = True
    try:
        settings = ServeSettings(**overrides)
        app = create_app(settings)
    except ValidationError as error:
        fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()))
    except ValueError as error:
        fail(str(error))
    import torch

    torch.set_num_threads(settings.threads)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    class DrainingServer(uvicorn.Server):
        """SIGTERM/SIGINT: report not-ready at once, then let uvicorn finish in-flight requests and exit."""

        def handle_exit(self, sig: int, frame: Any) -> None:
            with contextlib.suppress(AttributeError):
                app.state.service.draining = True
            super().handle_exit(sig, frame)

        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            loop = asyncio.get_running_loop()
            reloads: set[asyncio.Task[None]] = set()

            def on_hangup() -> None:
                async def reload() -> None:
                    with contextlib.suppress(Exception):  # a failed reload keeps the old model and is logged
                        await app.state.reload()

                task = loop.create_task(reload())
                reloads.add(task)
                task.add_done_callback(reloads.discard)

            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signal.SIGHUP, on_hangup)

    config = uvicorn.Config(app, host=settings.host, port=settings.port, log_level="info", timeout_graceful_shutdown=30)
    try:
        DrainingServer(config).run()
    except ModelFolderError as error:
        fail(str(error))
