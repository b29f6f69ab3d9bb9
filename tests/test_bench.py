from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from feedbackml.bench import encoder_flops, format_bench, run_bench
from feedbackml.bench.peer import PlainTransformersPeer
from feedbackml.bench.workers import default_worker_counts
from feedbackml.cli import app
from feedbackml.model import EncoderClassifier, load_model
from feedbackml.text import normalize
from tests.conftest import LABELLED

runner = CliRunner()
KEYS = {
    "model",
    "model_version",
    "workers",
    "n",
    "evidence_n",
    "threads",
    "machine",
    "encoder",
    "tokens_per_comment",
    "gflops_per_comment",
    "gemm",
    "runs",
    "ratios",
    "evidence_cost",
    "quality",
    "f1_loss_vs_torch",
}


def test_encoder_flops_counts_projections_feed_forward_and_attention() -> None:
    shape = {"num_hidden_layers": 12, "hidden_size": 384, "intermediate_size": 1536, "num_attention_heads": 12}
    heads = 2 * 384 * 6
    # one layer of 10 tokens: 8·10·384² + 4·10·384·1536 + 4·10²·384
    assert encoder_flops(10, shape) == 12 * (8 * 10 * 384**2 + 4 * 10 * 384 * 1536 + 4 * 100 * 384) + heads
    # attention grows with the square of the length, the rest linearly
    assert encoder_flops(20, shape) - heads > 2 * (encoder_flops(10, shape) - heads)


def test_quick_bench_measures_every_runtime(tiny_model: Path) -> None:
    result = run_bench(tiny_model, LABELLED / "test.jsonl", quick=True, log=lambda _: None)
    assert set(result) >= KEYS
    assert result["n"] == 16 and result["evidence_n"] == 2
    combos = {(r["runtime"], r["batch"], r["evidence"]) for r in result["runs"]}
    own = {(rt, b, e) for rt in ("torch", "onnx", "onnx-int8") for b in (1, 32) for e in (False, True)}
    assert combos == own | {("transformers", 32, False)}  # the peer, timed in the same rotation
    for row in result["runs"]:
        assert row["comments_per_s"] > 0 and 0 < row["latency_ms_p50"] <= row["latency_ms_p99"]
        assert (row["fp32_ceiling_fraction"] is None) == row["evidence"]
    assert all(value > 0 for key, value in result["gemm"].items() if key != "shapes")
    assert set(result["quality"]) == {"torch", "onnx", "onnx-int8"}
    assert result["f1_loss_vs_torch"]["onnx"] == pytest.approx({"barriers_macro_f1": 0, "sentiment_macro_f1": 0})
    assert all(cost > 1 for cost in result["evidence_cost"].values())  # occlusion adds forwards
    assert result["ratios"]["onnx-int8_vs_transformers_batch32"] > 0
    scaling = result["workers"]
    assert [row["workers"] for row in scaling["runs"]] == [1, 2] and scaling["runs"][0]["vs_first"] == 1
    assert all(row["comments"] >= 16 and row["comments_per_s"] > 0 for row in scaling["runs"])
    table = format_bench(result)
    assert "of fp32 ceiling" in table and "onnx-int8" in table and "2 worker(s)" in table


def test_the_peer_computes_the_same_network(tiny_model: Path) -> None:
    texts = ["财务部报销审批要走五个签字，太慢了", "挺好的", "IT部不愿意配合我们上线新系统，每次都推给供应商。"]
    model = load_model(tiny_model, runtime="torch")
    assert isinstance(model, EncoderClassifier)
    normalized = [normalize(text) for text in texts]  # the peer skips feedbackml's normalisation
    own = model.own_piece_logits(normalized)
    peer = np.array(PlainTransformersPeer(tiny_model)(normalized))
    np.testing.assert_allclose(peer, np.concatenate([own.barriers, own.sentiment], axis=1), atol=1e-4)


def test_worker_counts_double_up_to_the_cores() -> None:
    assert default_worker_counts(1) == [1]
    assert default_worker_counts(2) == [1, 2]
    assert default_worker_counts(6) == [1, 2, 4, 6]
    assert default_worker_counts(16) == [1, 2, 4, 8, 16]


def test_bench_cli_prints_table_and_writes_json(tiny_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = runner.invoke(
        app,
        ["bench", "--model", str(tiny_model), "--data", str(LABELLED / "test.jsonl"), "--quick", "--json", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert "comments/s" in result.stdout and "GEMM ceiling" in result.stdout
    assert set(json.loads(out.read_text(encoding="utf-8"))) >= KEYS
    missing = runner.invoke(app, ["bench", "--model", str(tmp_path / "none"), "--quick"])
    assert missing.exit_code == 1 and "no such model folder" in missing.output
