"""Named model configs and `create_model`, in the spirit of timm."""

from __future__ import annotations

import os
import re
from typing import Literal

from ..errors import InputError
from .rtmpose import RTMPose, RTMPoseConfig

# (deepen_factor, widen_factor) per size.
_SIZES: dict[str, tuple[float, float]] = {
    "t": (0.167, 0.375),
    "s": (0.33, 0.5),
    "m": (0.67, 0.75),
    "l": (1.0, 1.0),
    "x": (1.33, 1.25),
}
# Name suffix -> input (width, height); mmpose writes sizes as (W, H), names as HxW.
_INPUTS: dict[str, tuple[int, int]] = {"256x192": (192, 256), "384x288": (288, 384)}


def _build_registry() -> dict[str, RTMPoseConfig]:
    registry = {}
    for size, (deepen, widen) in _SIZES.items():
        for input_name, input_size in _INPUTS.items():
            name = f"rtmpose-{size}-{input_name}"
            registry[name] = RTMPoseConfig(name, deepen, widen, input_size)
    return registry


MODEL_CONFIGS: dict[str, RTMPoseConfig] = _build_registry()

# DWPose releases are RTMPose weights distilled with TPD; same architectures.
_ALIASES = {f"dwpose-{size}-{inp}": f"rtmpose-{size}-{inp}" for size in _SIZES for inp in _INPUTS}


def list_models() -> list[str]:
    """Names accepted by `create_model`."""
    return sorted(MODEL_CONFIGS) + sorted(_ALIASES)


_CUSTOM_INPUT = re.compile(r"^(?:rtmpose|dwpose)-([tsmlx])-(\d+)x(\d+)$")


def get_config(name: str) -> RTMPoseConfig:
    """The config of a listed name, or of `rtmpose-<size>-<H>x<W>` with another input size (both
    sides multiples of 32, e.g. `rtmpose-t-128x96` for small synthetic-data runs). Such custom
    sizes are built on request and not listed: no official weights exist for them."""
    key = _ALIASES.get(name, name)
    if key in MODEL_CONFIGS:
        return MODEL_CONFIGS[key]
    match = _CUSTOM_INPUT.match(name)
    if match:
        size, height, width = match.group(1), int(match.group(2)), int(match.group(3))
        if height >= 32 and width >= 32 and height % 32 == 0 and width % 32 == 0:
            return RTMPoseConfig(f"rtmpose-{size}-{height}x{width}", *_SIZES[size], (width, height))
    raise InputError(f"unknown model {name!r}; choose one of: {', '.join(list_models())} "
                     "(or rtmpose-<t|s|m|l|x>-<H>x<W> with H and W multiples of 32)")


def create_model(
    name: str,
    checkpoint: str | os.PathLike | None = None,
    *,
    weights: Literal["default", "ema", "raw"] = "default",
    eval_mode: bool = True,
) -> RTMPose:
    """Build a named RTMPose model, optionally loading weights.

    `checkpoint` may be an mmpose/DWPose `.pth` (bare state dict, mmengine container, or a
    distiller checkpoint) or an ONNX file with the official signature. `weights` picks the
    slot of a training checkpoint: "ema" / "raw" for averaged / non-averaged weights (see
    `dwpose.models.checkpoint.extract_state_dict`).
    """
    model = RTMPose(get_config(name))
    if checkpoint is not None:
        from .checkpoint import load_weights

        load_weights(model, checkpoint, weights=weights)
    return model.eval() if eval_mode else model


def detect_model_name(checkpoint: str | os.PathLike) -> str:
    """The registry name matching a `.pth` or official-signature `.onnx` file's architecture."""
    from pathlib import Path

    from .checkpoint import RTMPOSE_STEM_WIDTHS, CheckpointError, describe_state_dict, pose_state_dict_from_file
    from .onnx_io import onnx_input_and_stem

    path = Path(checkpoint)
    if path.suffix.lower() == ".onnx":
        dims, stem = onnx_input_and_stem(path)
        if stem not in RTMPOSE_STEM_WIDTHS or len(dims) != 4 or not all(isinstance(d, int) for d in dims[2:]):
            raise CheckpointError(f"{path} is not an RTMPose ONNX file this package knows (input {dims})")
        name = f"rtmpose-{RTMPOSE_STEM_WIDTHS[stem]}-{dims[2]}x{dims[3]}"
    else:
        description = describe_state_dict(pose_state_dict_from_file(path))
        name = description.split(",")[0]
    try:
        get_config(name)
    except InputError:
        raise CheckpointError(f"cannot tell the architecture of {path}: {name}") from None
    return name
