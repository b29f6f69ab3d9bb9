from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from feedbackml.cli import app
from feedbackml.model import load_model
from feedbackml.model.devices import DeviceError, resolve_device, resolve_precision
from feedbackml.model.folder import default_runtime

TEXTS = ["财务部报销审批要走五个签字，太慢了", "IT部不愿意配合我们上线新系统，每次都推给供应商。", "挺好的"]


def test_auto_is_cuda_only_when_torch_sees_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == "cuda" and resolve_device("cuda") == "cuda" and resolve_device("cpu") == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu"
    with pytest.raises(DeviceError, match="sees no CUDA device"):
        resolve_device("cuda")
    with pytest.raises(DeviceError, match="expected one of auto, cpu, cuda"):
        resolve_device("gpu")


def test_cuda_defaults_to_fp16_and_the_cpu_to_fp32() -> None:
    assert resolve_precision("cuda", None) == "fp16" and resolve_precision("cpu", None) == "fp32"
    assert resolve_precision("cuda", "fp32") == "fp32"
    with pytest.raises(DeviceError, match="unknown precision"):
        resolve_precision("cuda", "int4")


def test_onnx_runtimes_refuse_an_accelerator(tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    with pytest.raises(DeviceError, match="runtime onnx runs on the CPU only"):
        load_model(tiny_model, runtime="onnx", device="cuda")


def test_an_onnx_runtime_asked_for_by_name_runs_on_the_cpu_under_auto(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a GPU machine ``--runtime onnx-int8`` (device left at auto) still works: auto means the CPU for it."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert load_model(tiny_model, runtime="onnx").runtime == "onnx"
    assert default_runtime(tiny_model) == load_model(tiny_model, device="cpu").runtime


def test_half_precision_torch_agrees_with_fp32(tiny_model: Path) -> None:
    """The fp16 path a GPU takes, exercised on the CPU: same network, same decisions within fp16's rounding."""
    full = load_model(tiny_model, runtime="torch", device="cpu")
    half = load_model(tiny_model, device="cpu", precision="fp16")
    assert (full.runtime, half.runtime) == ("torch", "torch-cpu-fp16")
    a, b = full.probabilities(TEXTS), half.probabilities(TEXTS)
    np.testing.assert_allclose(a.barriers, b.barriers, atol=0.02)
    np.testing.assert_allclose(a.sentiment, b.sentiment, atol=0.02)


def test_asking_for_cuda_without_one_is_a_clear_error(tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    result = CliRunner().invoke(app, ["predict", "--model", str(tiny_model), "--device", "cuda", "太慢了"])
    assert result.exit_code == 1
    assert "sees no CUDA device" in result.output and "Traceback" not in result.output


def test_serve_asked_for_cuda_without_one_stops_with_one_line(tiny_model: Path) -> None:
    """FEEDBACKML_DEVICE=cuda on a machine without CUDA (as in CI): exit 1 and the reason, no traceback."""
    from feedbackml.model.devices import cuda_available

    if cuda_available():
        pytest.skip("this machine has CUDA")
    result = CliRunner().invoke(
        app, ["serve", "--model", str(tiny_model)], env={"FEEDBACKML_API_KEYS": "k", "FEEDBACKML_DEVICE": "cuda"}
    )
    assert result.exit_code == 1
    output = result.output.strip()
    assert (
        output.startswith("error: cannot serve") and "sees no CUDA device" in output and len(output.splitlines()) == 1
    )
