"""``feedbackml serve`` as a real uvicorn process: SIGTERM lets in-flight requests finish, then exits."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

KEY = "drain-test-key"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited early with {process.returncode}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("server did not become ready")


@pytest.mark.slow
def test_sigterm_drains_in_flight_requests(tiny_model: Path, tmp_path: Path) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "FEEDBACKML_API_KEYS": KEY,
        "FEEDBACKML_BATCH_MAX_SIZE": "1",
        "FEEDBACKML_REQUEST_TIMEOUT_S": "120",
    }
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "feedbackml", "serve", "--model", str(tiny_model), "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        try:
            _wait_ready(url, process)
            # Long comments with evidence, one per model batch: seconds of work, so SIGTERM lands mid-request.
            body = {
                "items": [
                    {"id": str(i), "text": "审批流程要走五级签字,没人拍板,采购部门总说与我无关。" * 3}
                    for i in range(64)
                ],
                "options": {"evidence": True},
            }
            answer: dict[str, httpx.Response] = {}

            def post() -> None:
                answer["response"] = httpx.post(
                    f"{url}/v1/classify", json=body, headers={"Authorization": f"Bearer {KEY}"}, timeout=120
                )

            worker = threading.Thread(target=post)
            worker.start()
            deadline = time.monotonic() + 30
            while "feedbackml_in_flight 1.0" not in httpx.get(f"{url}/metrics").text:  # the request is being worked
                assert worker.is_alive() and time.monotonic() < deadline, "the request never was in flight"
                time.sleep(0.01)
            process.send_signal(signal.SIGTERM)
            worker.join(timeout=120)
            returncode = process.wait(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    response = answer["response"]
    assert response.status_code == 200, response.text
    assert len(response.json()["results"]) == 64
    # uvicorn re-raises the signal once it has drained, so process managers see a terminated-by-SIGTERM exit
    assert returncode in (0, -signal.SIGTERM)
    log_text = log_path.read_text(encoding="utf-8", errors="replace")
    assert "Waiting for" in log_text or "Shutting down" in log_text
    assert "审批" not in log_text  # the log never carries comment text
