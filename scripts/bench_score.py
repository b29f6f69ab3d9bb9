"""Throughput of ``feedbackml score`` against in-process ``predict`` on the same rows, in one run.

    python scripts/bench_score.py --model models/default --input demo/survey_20k.csv --rows 2000 [--no-evidence]

Measures, on the first ``--rows`` rows of the input: (1) ``Classifier.predict`` in this process on the texts, in
the same chunks ``score`` uses; (2) ``score`` with the local engine (reading, checking, writing, checkpointing
included); (3) ``score --workers N`` (N local processes, each loading the model) against ``--workers 1`` run the
same way (loading and verifying its model, as the command does) and against the local engine with the model of
(1) already loaded, and whether the files are byte for byte the same; (4) ``score --engine ray`` with
``--workers`` local workers (Ray start-up included, and reported apart). Prints rows/s and the ratio of each
to (1). The cores may be shared: compare ratios from one run, not runs.
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
import time
from pathlib import Path

from feedbackml.io import iter_rows
from feedbackml.model import load_model
from feedbackml.scoring import LocalEngine, ScoreOptions, make_engine, score


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=Path("models/default"))
    parser.add_argument("--input", type=Path, default=Path("demo/survey_20k.csv"))
    parser.add_argument("--text-col", default="comment")
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--chunk-rows", type=int, default=512)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--evidence", action=argparse.BooleanOptionalAction, default=False)
    parser.add_argument("--runtime", default=None)
    parser.add_argument("--skip-ray", action="store_true")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as folder:
        sample = Path(folder) / "sample.csv"
        rows = [row.data for row, _ in zip(iter_rows(args.input), range(args.rows), strict=False) if row.data]
        with sample.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        texts = [row[args.text_col] for row in rows if row[args.text_col].strip()]

        model = load_model(args.model, runtime=args.runtime, threads=1)
        model.predict(texts[:32], evidence=args.evidence)  # warm-up: lazy initialisation is not throughput
        started = time.perf_counter()
        for start in range(0, len(texts), args.chunk_rows):
            model.predict(texts[start : start + args.chunk_rows], evidence=args.evidence)
        predict_s = time.perf_counter() - started

        def run(engine: str) -> tuple[float, float]:
            """Seconds in all, and seconds after the first chunk came back (start-up excluded)."""
            done: list[float] = []
            options = ScoreOptions(
                input=sample,
                output=Path(folder) / f"scored-{engine}.csv",
                model=args.model,
                text_col=args.text_col,
                evidence=args.evidence,
                runtime=args.runtime,
                chunk_rows=args.chunk_rows,
            )
            began = time.perf_counter()
            if engine == "local":
                runner = LocalEngine(model)
            elif engine == "one":
                runner = make_engine("local", workers=1)  # what `score --workers 1` runs: it loads its model
            elif engine == "processes":
                runner = make_engine("local", workers=args.workers)
            else:
                runner = make_engine(engine, workers=args.workers)
            score(options, engine=runner, restart=True, progress=lambda _: done.append(time.perf_counter()))
            return time.perf_counter() - began, time.perf_counter() - done[0]

        local_s, _ = run("local")
        first_chunk_rows = min(args.chunk_rows, len(rows))
        results = {
            "rows": len(rows),
            "scored_texts": len(texts),
            "evidence": args.evidence,
            "predict_rows_per_s": round(len(rows) / predict_s, 2),
            "score_local_rows_per_s": round(len(rows) / local_s, 2),
            "score_local_vs_predict": round(predict_s / local_s, 3),
        }
        one_s, _ = run("one")
        processes_s, _ = run("processes")
        results |= {
            "workers": args.workers,
            "score_one_rows_per_s": round(len(rows) / one_s, 2),
            "score_workers_rows_per_s": round(len(rows) / processes_s, 2),
            # the figure: `score --workers N` against `score --workers 1` as a user runs them, each
            # loading (and verifying) its model; and against the pre-loaded local engine, start-up excluded there
            "score_workers_vs_one": round(one_s / processes_s, 3),
            "score_workers_vs_preloaded": round(local_s / processes_s, 3),
            "workers_output_equals_one": (Path(folder) / "scored-processes.csv").read_bytes()
            == (Path(folder) / "scored-one.csv").read_bytes()
            == (Path(folder) / "scored-local.csv").read_bytes(),
        }
        if not args.skip_ray:
            import ray

            began = time.perf_counter()
            ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False)
            ray_start_s = time.perf_counter() - began
            ray_s, ray_after_first_s = run("ray")
            ray.shutdown()
            same = (Path(folder) / "scored-ray.csv").read_bytes() == (Path(folder) / "scored-local.csv").read_bytes()
            results |= {
                "ray_workers": args.workers,
                "ray_start_s": round(ray_start_s, 1),
                "score_ray_rows_per_s": round(len(rows) / ray_s, 2),
                "score_ray_vs_predict": round(predict_s / ray_s, 3),
                # steady state: the rows after the first chunk, over the time after it (worker start-up excluded)
                "score_ray_steady_rows_per_s": round((len(rows) - first_chunk_rows) / ray_after_first_s, 2),
                "ray_output_equals_local": same,
            }
    for key, value in results.items():
        print(f"{key:28} {value}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
