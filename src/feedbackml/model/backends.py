"""What computes an encoder's logits, composed into ``EncoderClassifier``: torch, or ONNX Runtime on the
exported fp32 or int8 graph. Tokenization, batching, splitting, calibration and evidence never differ."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np

from feedbackml.artifacts import ModelFolderError
from feedbackml.model.devices import DeviceError

RUNTIMES = ("torch", "onnx", "onnx-int8")
AUTO_RUNTIME = "auto"
ONNX_DIR = "onnx"
ONNX_FILES = {"onnx": f"{ONNX_DIR}/model.onnx", "onnx-int8": f"{ONNX_DIR}/model.int8.onnx"}
ONNX_INPUTS = ("input_ids", "attention_mask")
ONNX_OUTPUTS = ("barrier_logits", "sentiment_logits", "cause_logits")  # the last only with a cause head
Logits = tuple[np.ndarray, np.ndarray, np.ndarray]


class Backend(Protocol):
    name: str

    def forward(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> Logits:
        """Barrier, sentiment and cause logits of one padded batch (int64 arrays of shape (batch, sequence));
        cause logits are (batch, 0) for a network without a cause head."""
        ...


class TorchBackend:
    """The trained network itself; the only backend that holds weights and can be saved or exported. On an
    accelerator (or in fp16) its name says so: ``torch-cuda-fp16``."""

    def __init__(self, net: Any, *, device: str = "cpu", precision: str = "fp32") -> None:
        self.net = net
        self.name = "torch" if (device, precision) == ("cpu", "fp32") else f"torch-{device}-{precision}"

    def forward(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> Logits:
        import torch

        device = next(self.net.parameters()).device  # an accelerator while training, else the CPU
        with torch.inference_mode():
            outputs = self.net(torch.from_numpy(input_ids).to(device), torch.from_numpy(attention_mask).to(device))
        barrier, sentiment, causes = (output.float().cpu().numpy() for output in outputs)
        return barrier, sentiment, causes


class OnnxBackend:
    """An exported graph run by ONNX Runtime on the CPU."""

    def __init__(self, session: Any, name: str) -> None:
        self.session = session
        self.name = name
        self.outputs = [output.name for output in session.get_outputs() if output.name in ONNX_OUTPUTS]

    def forward(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> Logits:
        found = self.session.run(self.outputs, {"input_ids": input_ids, "attention_mask": attention_mask})
        causes = found[2] if len(found) > 2 else np.zeros((len(input_ids), 0), dtype=np.float32)
        return found[0], found[1], causes


def make_session(model: Path | bytes, threads: int = 1) -> Any:
    """One ONNX Runtime session for a model file (or serialized model): sequential execution, ``threads``
    intra-op threads, all graph optimizations."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only; ORT's optimizer notes are not the user's business
    source = model if isinstance(model, bytes) else str(model)
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])


def load_backend(
    folder: Path, runtime: str, *, pooling: str, threads: int = 1, device: str = "cpu", precision: str = "fp32"
) -> Backend:
    """The backend ``runtime`` of an encoder model folder (already verified); torch on ``device`` (resolved:
    cpu or cuda) in ``precision``."""
    if runtime == "torch":
        from feedbackml.model.network import FeedbackNet

        net = FeedbackNet.load(folder, pooling=pooling).to(device)
        return TorchBackend(net.half() if precision == "fp16" else net, device=device, precision=precision)
    if device != "cpu":
        raise DeviceError(f"runtime {runtime} runs on the CPU only; on {device} use runtime torch or auto")
    if runtime not in ONNX_FILES:
        raise ValueError(f"unknown runtime {runtime!r} (expected one of {AUTO_RUNTIME}, {', '.join(RUNTIMES)})")
    path = folder / ONNX_FILES[runtime]
    if not path.is_file():
        raise ModelFolderError(
            f"{folder}: no {ONNX_FILES[runtime]} (run 'feedbackml export --model {folder}', or use runtime torch)"
        )
    return OnnxBackend(make_session(path, threads), runtime)
