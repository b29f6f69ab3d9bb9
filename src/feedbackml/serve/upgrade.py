"""A better model trained beside the service and swapped in when published (``feedbackml serve --build``).

``make run`` answers within minutes by serving a model that trains in seconds (TF-IDF) while the encoder trains in
a child process; when that process has published its folder, the service reloads it through the same verified
reload as ``POST /v1/admin/reload`` (load, verify, warm, then one swap), so no request fails on the way. Its
output goes to the service log and to a file; stopping the service stops the child.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from feedbackml.serve.errors import ApiError

log = logging.getLogger("feedbackml.serve.upgrade")
UpgradeState = Literal["training", "swapping", "served", "failed"]
STOP_GRACE_S = 10.0


class Reloadable(Protocol):
    """What the upgrade needs of the service (``Service.reload``), without importing it."""

    async def reload(self, folder: Path | None = None) -> Any: ...


@dataclass
class Upgrade:
    """``command`` publishes a model folder at ``target``; its output is appended to ``log_path``."""

    command: list[str]
    target: Path
    log_path: Path
    state: UpgradeState = "training"
    detail: str = ""
    process: asyncio.subprocess.Process | None = None
    stopping: bool = False

    @property
    def pending(self) -> bool:
        return self.state in ("training", "swapping")

    async def run(self, service: Reloadable) -> None:
        """Train, then reload ``target`` into ``service``; any failure leaves the current model serving."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.process = await asyncio.create_subprocess_exec(
            *self.command,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # a terminal's Ctrl-C reaches the service only; the service stops the child
        )
        log.info("training a better model in the background (pid %s), output in %s", self.process.pid, self.log_path)
        output = self.process.stdout
        if output is None:  # cannot happen with stdout=PIPE; says so to the type checker without an assert
            raise RuntimeError("the training process has no output pipe")
        with self.log_path.open("a", encoding="utf-8") as record:
            async for raw in output:
                line = raw.decode("utf-8", "replace").rstrip()
                record.write(line + "\n")
                record.flush()
                if line.strip():
                    log.info("[training] %s", line[-300:])
        code = await self.process.wait()
        if self.stopping:
            self.state, self.detail = "failed", "stopped with the service"
            log.info("background training stopped with the service")
            return
        if code != 0:
            self.state, self.detail = "failed", f"training exited with status {code}; see {self.log_path}"
            log.warning("background %s", self.detail)
            return
        self.state = "swapping"
        try:
            answer = await service.reload(folder=self.target)
        except ApiError as error:
            self.state, self.detail = "failed", error.message
            log.warning("the trained model was not swapped in: %s", error.message)
            return
        self.state, self.detail = "served", f"{answer.previous_version} → {answer.model_version}"
        log.info("now serving the trained model %s from %s", answer.model_version, self.target)

    async def stop(self) -> None:
        """Stop the child with the service (SIGTERM, then SIGKILL after a grace period)."""
        process = self.process
        if process is None or process.returncode is not None:
            return
        self.stopping = True
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), STOP_GRACE_S)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
