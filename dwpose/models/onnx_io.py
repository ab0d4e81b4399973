"""ONNX export with the official I/O signatures (the reverse, importing an ONNX file's weights,
is `onnx_import.py`; reading what a file holds is `onnx_probe.py`)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import torch
from torch import nn

from ..errors import ExportError
from ..fileio import atomic_path
from .onnx_import import onnxruntime_mismatch

INPUT_NAME = "input"
OUTPUT_NAMES = ("simcc_x", "simcc_y")
# The official YOLOX files (Megvii export): `images` -> `output`.
YOLOX_IO_NAMES = ("images", ("output",))
DEFAULT_OPSET = 11  # the official files' opset
# Opsets that export and run, found by trying every opset with torch 2.13 (TorchScript exporter)
# and onnxruntime 1.32: below 7 onnxruntime rejects the graph (Cast/BatchNormalization of old
# opsets), YOLOX's strided slicing needs 10, above 23 the exporter refuses. A torch that
# exports fewer opsets lowers the top (its own limit), and every export is checked anyway.
_OPSET_RANGES = {"pose": (7, 23), "detector": (10, 23)}


def supported_opsets(kind: str = "pose") -> range:
    """Opsets `export_onnx` accepts for a pose model or a detector ("detector")."""
    low, high = _OPSET_RANGES[kind]
    try:  # the installed exporter's own ceiling, where it says
        from torch.onnx import _constants

        high = min(high, int(_constants.ONNX_MAX_OPSET))
    except (ImportError, AttributeError):
        pass
    return range(low, high + 1)


def check_opset(opset: int, kind: str = "pose") -> None:
    allowed = supported_opsets(kind)
    if opset not in allowed:
        what = "a YOLOX detector" if kind == "detector" else "a pose model"
        raise ExportError(f"opset {opset} is not supported for {what}: use {allowed[0]}..{allowed[-1]} (what the "
                          f"installed torch exporter writes and onnxruntime runs; the official files use {DEFAULT_OPSET})")


def export_onnx(
    model: nn.Module,
    path: str | os.PathLike,
    *,
    dynamic_batch: bool = True,
    opset: int = DEFAULT_OPSET,
    batch_size: int = 1,
    input_name: str = INPUT_NAME,
    output_names: tuple[str, ...] = OUTPUT_NAMES,
) -> Path:
    """Write `model` as ONNX with the official signature: for RTMPose `input` [batch,3,H,W]
    (normalised RGB) -> `simcc_x`, `simcc_y`; pass `*YOLOX_IO_NAMES` for YOLOX. The file is
    written under a temporary name, loaded in onnxruntime and compared with the model on a
    random input (two images with a dynamic batch) before it gets its name."""
    check_opset(opset, "detector" if input_name == YOLOX_IO_NAMES[0] else "pose")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    width, height = model.input_size
    dummy = torch.zeros(batch_size, 3, height, width)
    dynamic_axes = {name: {0: "batch"} for name in (input_name, *output_names)} if dynamic_batch else None
    was_training = model.training
    model.eval()
    try:
        with atomic_path(path) as tmp:
            with torch.no_grad(), warnings.catch_warnings():
                # opset 11 (the official files' opset) needs the TorchScript exporter, which warns.
                warnings.simplefilter("ignore", DeprecationWarning)
                try:
                    torch.onnx.export(
                        model, (dummy,), str(tmp), input_names=[input_name], output_names=list(output_names),
                        dynamic_axes=dynamic_axes, opset_version=opset, dynamo=False, do_constant_folding=True,
                    )
                except RuntimeError as exc:
                    if "opset" not in str(exc).lower():
                        raise
                    raise ExportError(f"the installed torch cannot export opset {opset}: {exc}") from None
            _check_export(model, tmp, opset, batch=2 if dynamic_batch else batch_size)
    finally:
        model.train(was_training)
    return path


def _check_export(model: nn.Module, path: Path, opset: int, batch: int) -> None:
    try:
        mismatch = onnxruntime_mismatch(model, path, batch)
    except Exception as exc:  # onnxruntime's own exception types derive from Exception only
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExportError(f"onnxruntime cannot run the opset-{opset} export ({first_line}); nothing was written") from None
    if mismatch is not None:
        raise ExportError(f"the opset-{opset} export does not reproduce the model in onnxruntime ({mismatch}); "
                          "nothing was written")
