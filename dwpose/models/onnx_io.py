"""ONNX export with the official I/O signatures (the reverse, importing an ONNX file's weights,
is `onnx_import.py`; reading what a file holds is `onnx_probe.py`)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import torch
from torch import nn

INPUT_NAME = "input"
OUTPUT_NAMES = ("simcc_x", "simcc_y")
# The official YOLOX files (Megvii export): `images` -> `output`.
YOLOX_IO_NAMES = ("images", ("output",))


def export_onnx(
    model: nn.Module,
    path: str | os.PathLike,
    *,
    dynamic_batch: bool = True,
    opset: int = 11,
    batch_size: int = 1,
    input_name: str = INPUT_NAME,
    output_names: tuple[str, ...] = OUTPUT_NAMES,
) -> Path:
    """Write `model` as ONNX with the official signature: for RTMPose `input` [batch,3,H,W]
    (normalised RGB) -> `simcc_x`, `simcc_y`; pass `*YOLOX_IO_NAMES` for YOLOX."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    width, height = model.input_size
    dummy = torch.zeros(batch_size, 3, height, width)
    dynamic_axes = {name: {0: "batch"} for name in (input_name, *output_names)} if dynamic_batch else None
    was_training = model.training
    model.eval()
    tmp = path.with_name(path.name + ".tmp")
    try:
        with torch.no_grad(), warnings.catch_warnings():
            # opset 11 (the official files' opset) needs the TorchScript exporter, which warns.
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(
                model, (dummy,), str(tmp), input_names=[input_name], output_names=list(output_names),
                dynamic_axes=dynamic_axes, opset_version=opset, dynamo=False, do_constant_folding=True,
            )
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
        model.train(was_training)
    return path
