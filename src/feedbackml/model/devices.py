"""Where torch runs: the CPU, or a CUDA accelerator when torch sees one. ``auto`` picks CUDA when present, so a
GPU server uses its GPU with no setting at all; ``cuda`` insists and says clearly when there is none.

On CUDA an encoder runs in torch (the ONNX files are built and checked for the CPU) in fp16 unless asked for
fp32: ``feedbackml bench`` on a GPU machine measures what fp16 costs in macro-F1 against fp32.
"""

from __future__ import annotations

DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("fp16", "fp32")


class DeviceError(ValueError):
    """A device that this machine does not have, or a runtime that cannot run on it."""


def cuda_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def resolve_device(device: str) -> str:
    """``cpu`` or ``cuda`` for a device setting."""
    if device not in DEVICES:
        raise DeviceError(f"unknown device {device!r} (expected one of {', '.join(DEVICES)})")
    if device == "auto":
        return "cuda" if cuda_available() else "cpu"
    if device == "cuda" and not cuda_available():
        raise DeviceError("device cuda was asked for, but torch sees no CUDA device here (use cpu or auto)")
    return device


def resolve_precision(device: str, precision: str | None) -> str:
    """fp16 on CUDA and fp32 on the CPU unless ``precision`` says otherwise."""
    if precision is None:
        return "fp16" if device == "cuda" else "fp32"
    if precision not in PRECISIONS:
        raise DeviceError(f"unknown precision {precision!r} (expected one of {', '.join(PRECISIONS)})")
    return precision


def device_report() -> dict[str, object]:
    """What ``bench`` records about accelerators: whether torch sees CUDA, and which device."""
    import torch

    if not torch.cuda.is_available():
        return {"cuda": False}
    return {"cuda": True, "name": torch.cuda.get_device_name(0), "count": torch.cuda.device_count()}
