"""The machine's own compute ceiling: GEMM rates with encoder-like shapes, and an encoder's FLOPs per comment."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from feedbackml.artifacts import read_json
from feedbackml.labels import BARRIERS, SENTIMENTS


def encoder_shape(folder: Path) -> dict[str, int]:
    config = read_json(folder / "encoder" / "config.json")
    return {
        key: int(config[key])
        for key in ("num_hidden_layers", "hidden_size", "intermediate_size", "num_attention_heads")
    }


def encoder_flops(tokens: int, shape: dict[str, int]) -> float:
    """Multiply-adds ×2 of one forward over ``tokens`` tokens: per layer the Q, K, V and output projections
    (4·2·L·H²), the feed-forward (2·2·L·H·I), and attention scores and weighted values (2·2·L²·H, summed over
    heads); then the two heads. Embedding lookups, softmax, norms and pooling are a few percent and left out."""
    length, hidden, inner = tokens, shape["hidden_size"], shape["intermediate_size"]
    per_layer = 8 * length * hidden**2 + 4 * length * hidden * inner + 4 * length**2 * hidden
    return float(shape["num_hidden_layers"] * per_layer + 2 * hidden * (len(BARRIERS) + len(SENTIMENTS)))


def _gemm_shapes(shape: dict[str, int], rows: int) -> list[tuple[int, int, int]]:
    """One encoder layer's projections for ``rows`` tokens: Q, K, V, output (H→H), then H→I and I→H."""
    hidden, inner = shape["hidden_size"], shape["intermediate_size"]
    return [(rows, hidden, hidden)] * 4 + [(rows, hidden, inner), (rows, inner, hidden)]


def _rate(run: Callable[[], None], flops: float, min_seconds: float) -> float:
    run()  # warm-up
    repeats, started = 0, time.perf_counter()
    while True:
        run()
        repeats += 1
        elapsed = time.perf_counter() - started
        if elapsed >= min_seconds:
            return flops * repeats / elapsed


def gemm_rates(shape: dict[str, int], *, threads: int, rows: int = 1024, min_seconds: float = 1.0) -> dict[str, Any]:
    """GFLOP/s (GOP/s for int8) of one encoder layer's GEMMs on this machine with ``threads`` threads: torch
    fp32, ONNX Runtime fp32 (MatMul) and ONNX Runtime int8 (MatMulInteger, the kernel of dynamic quantization)."""
    import torch
    from onnx import TensorProto, helper, numpy_helper

    from feedbackml.model.backends import make_session

    shapes = _gemm_shapes(shape, rows)
    flops = float(sum(2 * m * k * n for m, k, n in shapes))
    rng = np.random.default_rng(0)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        pairs = [(torch.randn(m, k), torch.randn(k, n)) for m, k, n in shapes]

        def run_torch() -> None:
            with torch.inference_mode():
                for a, b in pairs:
                    torch.matmul(a, b)

        torch_rate = _rate(run_torch, flops, min_seconds)
    finally:
        torch.set_num_threads(before)

    def ort_rate(int8: bool) -> float:
        nodes, inputs, weights, feeds = [], [], [], {}
        for index, (m, k, n) in enumerate(shapes):
            kind = TensorProto.UINT8 if int8 else TensorProto.FLOAT
            inputs.append(helper.make_tensor_value_info(f"a{index}", kind, [m, k]))
            if int8:
                weight = rng.integers(-127, 128, (k, n), dtype=np.int8)
                feeds[f"a{index}"] = rng.integers(0, 256, (m, k), dtype=np.uint8)
            else:
                weight = rng.standard_normal((k, n), dtype=np.float32)
                feeds[f"a{index}"] = rng.standard_normal((m, k), dtype=np.float32)
            weights.append(numpy_helper.from_array(weight, f"w{index}"))
            nodes.append(
                helper.make_node("MatMulInteger" if int8 else "MatMul", [f"a{index}", f"w{index}"], [f"y{index}"])
            )
        outputs = [
            helper.make_tensor_value_info(f"y{i}", TensorProto.INT32 if int8 else TensorProto.FLOAT, None)
            for i in range(len(shapes))
        ]
        graph = helper.make_graph(nodes, "gemm", inputs, outputs, weights)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        session = make_session(model.SerializeToString(), threads)
        return _rate(lambda: session.run(None, feeds), flops, min_seconds)

    return {
        "shapes": [list(s) for s in shapes],
        "torch_fp32_gflops": round(torch_rate / 1e9, 2),
        "ort_fp32_gflops": round(ort_rate(False) / 1e9, 2),
        "ort_int8_gops": round(ort_rate(True) / 1e9, 2),
    }
