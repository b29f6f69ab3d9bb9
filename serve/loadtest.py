"""Measure the served throughput and latency against in-process ``predict`` in one run, on this machine.

    .venv/bin/python serve/loadtest.py --model models/default --seconds 30 --users 8

1. in-process: ``Classifier.predict`` on the same test comments, 1 per call and 32 per call, with the server's
   thread count (``FEEDBACKML_THREADS``, default 1);
2. starts ``feedbackml serve`` on 127.0.0.1 (a free port) with a throw-away key;
3. runs locust headless against it, SingleComment (--users) then Batch32 (--batch-users), each bounded by
   --seconds;
4. prints comments/s, p50 and p99 latency, failures, and served / in-process throughput; writes --json.
With ``--workers 1,2`` steps 2–4 run once per worker count (``FEEDBACKML_WORKERS``), and the ratio of each
count's served throughput to the first's is printed: the scaling, measured in one run.
Loopback only; the server is stopped at the end whatever happens.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def in_process(model_dir: Path, seconds: float, threads: int) -> dict[str, float]:
    import torch

    from feedbackml.model import load_model

    torch.set_num_threads(threads)
    texts = [json.loads(line)["text"] for line in (ROOT / "data/labelled/test.jsonl").read_text("utf-8").splitlines()]
    model = load_model(model_dir)
    model.predict(texts[:8])
    rates = {}
    for batch in (1, 32):
        done, started, position = 0, time.perf_counter(), 0
        while time.perf_counter() - started < seconds:
            chunk = [texts[(position + i) % len(texts)] for i in range(batch)]
            model.predict(chunk)
            done += batch
            position += batch
        rates[f"batch{batch}"] = done / (time.perf_counter() - started)
    return rates


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=2) as response:  # noqa: S310 - loopback only
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit("server did not become ready")


def run_locust(
    user: str, url: str, users: int, seconds: int, key: str, folder: Path, rate: float = 0.0
) -> dict[str, float]:
    prefix = folder / user
    completed = subprocess.run(
        [
            str(BIN / "locust"),
            "-f",
            str(ROOT / "serve/locustfile.py"),
            "--headless",
            "-u",
            str(users),
            "-r",
            str(users),
            "-t",
            f"{seconds}s",
            "--host",
            url,
            "--csv",
            str(prefix),
            "--only-summary",
            user,
        ],
        check=False,
        env={**os.environ, "FEEDBACKML_LOADTEST_KEY": key, "FEEDBACKML_LOADTEST_RATE": str(rate) if rate > 0 else ""},
        capture_output=True,
        timeout=seconds + 60,
        text=True,
    )
    if not Path(f"{prefix}_stats.csv").is_file():
        raise SystemExit(f"locust ran no {user} scenario: {completed.stderr.strip()[-2000:]}")
    with Path(f"{prefix}_stats.csv").open(encoding="utf-8") as handle:
        row = next(r for r in csv.DictReader(handle) if r["Name"] != "Aggregated")
    per_request = 32 if user == "Batch32" else 1
    with Path(f"{prefix}_failures.csv").open(encoding="utf-8") as handle:
        reasons = {r["Error"]: int(r["Occurrences"]) for r in csv.DictReader(handle)}
    return {
        "failure_reasons": reasons,  # type: ignore[dict-item]
        "requests": float(row["Request Count"]),
        "failures": float(row["Failure Count"]),
        "requests_per_s": float(row["Requests/s"]),
        "comments_per_s": float(row["Requests/s"]) * per_request,
        "p50_ms": float(row["50%"]),
        "p99_ms": float(row["99%"]),
    }


def serve_and_load(args: argparse.Namespace, threads: int, workers: int) -> dict[str, dict[str, float]]:
    """Start ``feedbackml serve`` with ``workers`` inference workers, run the scenarios, stop it. HalfLoad paces
    the single-comment users at half the rate SingleComment just saturated at: the latency a service sees when
    it is sized with headroom."""
    key, port = secrets.token_hex(16), free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "FEEDBACKML_API_KEYS": key,
        "FEEDBACKML_THREADS": str(threads),
        "FEEDBACKML_WORKERS": str(workers),
        "FEEDBACKML_MAX_IN_FLIGHT": str(max(32, args.users * 2)),
    }
    server = subprocess.Popen(
        [str(BIN / "feedbackml"), "serve", "--model", str(args.model), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_ready(url)
        with tempfile.TemporaryDirectory() as folder:
            rows = {"SingleComment": run_locust("SingleComment", url, args.users, args.seconds, key, Path(folder))}
            rate = rows["SingleComment"]["requests_per_s"] / 2 / args.users
            rows["HalfLoad"] = run_locust("HalfLoad", url, args.users, args.seconds, key, Path(folder), rate)
            rows["Batch32"] = run_locust("Batch32", url, args.batch_users, args.seconds, key, Path(folder))
            for row in rows.values():
                row["p99_over_p50"] = round(row["p99_ms"] / row["p50_ms"], 2) if row["p50_ms"] else 0.0
            return rows
    finally:
        server.terminate()
        server.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=ROOT / "models/default")
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--users", type=int, default=8, help="concurrent users posting one comment each")
    parser.add_argument("--batch-users", type=int, default=2, help="concurrent users posting 32 comments each")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--workers", default="1", help="worker counts to serve with in turn, e.g. 1,2")
    args = parser.parse_args()
    threads = int(os.environ.get("FEEDBACKML_THREADS", "1"))

    local = in_process(args.model, min(args.seconds, 20), threads)
    served_by_workers: dict[int, dict[str, dict[str, float]]] = {}
    for workers in [int(part) for part in args.workers.split(",")]:
        served_by_workers[workers] = serve_and_load(args, threads, workers)
    first = next(iter(served_by_workers))
    served = served_by_workers[first]

    result = {
        "workers": {str(w): rows for w, rows in served_by_workers.items()},
        "threads": threads,
        "users": args.users,
        "batch_users": args.batch_users,
        "seconds": args.seconds,
        "in_process": local,
        "served": served,
    }
    print(f"in-process predict: {local['batch1']:.1f} comments/s (1 per call), {local['batch32']:.1f} (32 per call)")
    print(
        f"{'workers':<8}{'scenario':<14}{'comments/s':>12}{'p50 ms':>9}{'p99 ms':>9}{'p99/p50':>9}{'failures':>10}"
        f"{'served/in-process':>19}"
    )
    baselines = {"SingleComment": local["batch1"], "HalfLoad": local["batch1"], "Batch32": local["batch32"]}
    for workers, rows in served_by_workers.items():
        for user, row in rows.items():
            print(
                f"{workers:<8}{user:<14}{row['comments_per_s']:>12.1f}{row['p50_ms']:>9.0f}{row['p99_ms']:>9.0f}"
                f"{row['p99_over_p50']:>9.2f}{row['failures']:>10.0f}{row['comments_per_s'] / baselines[user]:>19.2f}"
            )
    for workers, rows in served_by_workers.items():
        for user, row in rows.items():
            if row["failures"]:
                print(f"workers={workers} {user} failures: {row['failure_reasons']}")
    if len(served_by_workers) > 1:
        saturating = ("SingleComment", "Batch32")
        print(f"{'workers':<9}" + "".join(f"{user + ' comments/s':>26}{'× ' + str(first):>8}" for user in saturating))
        for workers, rows in served_by_workers.items():
            rates = {user: rows[user]["comments_per_s"] for user in saturating}
            cells = "".join(f"{rates[u]:>26.1f}{rates[u] / served[u]['comments_per_s']:>8.2f}" for u in saturating)
            print(f"{workers:<9}{cells}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
