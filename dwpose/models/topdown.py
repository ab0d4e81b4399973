"""What the top-down SimCC pose families (RTMPose, RTMW) share: the config type, the network
contract (input size, normalisation, `forward` -> SimCC logits, features for distillation), the
input-size table, and the family behaviour (checkpoint filter with distiller conversion,
architecture detection from the family's own config table)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from .checkpoint import (WeightsSlot, convert_distiller_state_dict, extract_state_dict, is_distiller_state_dict,
    pose_state_dict)
from .cspnext import CSPNEXT_SIZES, stem_width
from .onnx_io import INPUT_NAME, OUTPUT_NAMES
from .onnx_probe import OnnxSummary
from .registry import Architecture, ModelFamily

from ..errors import CheckpointError
# ImageNet statistics in RGB order, on the 0..255 scale (mmpose PoseDataPreprocessor).
RGB_MEAN = (123.675, 116.28, 103.53)
RGB_STD = (58.395, 57.12, 57.375)

# Name suffix -> input (width, height); mmpose writes sizes as (W, H), names as HxW.
INPUT_SIZES: dict[str, tuple[int, int]] = {"256x192": (192, 256), "384x288": (288, 384)}


def input_name(input_size: tuple[int, int]) -> str:
    """'HxW' as model names write it, e.g. (288, 384) -> '384x288'."""
    return f"{input_size[1]}x{input_size[0]}"


@dataclass(frozen=True)
class PoseModelConfig:
    """Architecture of one pose model. `input_size` is (width, height) as mmpose writes it;
    `deepen_factor` / `widen_factor` scale the CSPNeXt backbone (see `cspnext.CSPNEXT_SIZES`)."""

    name: str
    deepen_factor: float
    widen_factor: float
    input_size: tuple[int, int]
    num_keypoints: int = 133
    simcc_split_ratio: float = 2.0

    @property
    def simcc_bins(self) -> tuple[int, int]:
        """Number of SimCC bins (x, y): the widths of `head.cls_x` / `head.cls_y`."""
        width, height = self.input_size
        return int(width * self.simcc_split_ratio), int(height * self.simcc_split_ratio)


class TopdownPoseModel(nn.Module):
    """`forward(x)` takes a normalised NCHW RGB batch of size `input_size` and returns the raw
    SimCC logits `(simcc_x (B, K, W*2), simcc_y (B, K, H*2))`, like the official ONNX files.

    Attributes `input_size`, `mean`, `std` (RGB, 0..255 scale) and `simcc_split_ratio` tell
    callers how to prepare crops and decode outputs. For training and distillation:
    `extract_features` = what the head consumes (mmpose's `extract_feat`), `forward_head`
    turns those into logits, `forward_features` / `feature_channels` = the last of them, the
    feature-distillation target.

    `loss_config` is the SimCC loss the family's reference configs train with (the arguments
    of `dwpose.distillation.KLDiscretLoss`); its `beta` is also the logit-KD temperature when
    the model is a distillation student.
    """

    # RTMPose: predictions and labels both scaled by 10 before their softmaxes.
    loss_config: ClassVar[Mapping[str, Any]] = {"beta": 10.0, "label_beta": 10.0}

    def __init__(self, config: PoseModelConfig) -> None:
        super().__init__()
        self.config = config
        # Non-persistent: official checkpoints carry no normalisation buffers.
        self.register_buffer("mean", torch.tensor(RGB_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(RGB_STD).view(1, 3, 1, 1), persistent=False)

    @property
    def input_size(self) -> tuple[int, int]:
        """(width, height) of the network input."""
        return self.config.input_size

    @property
    def num_keypoints(self) -> int:
        return self.config.num_keypoints

    @property
    def simcc_split_ratio(self) -> float:
        return self.config.simcc_split_ratio

    @property
    def feature_channels(self) -> int:
        """Channels of `forward_features` (the last feature the head consumes)."""
        raise NotImplementedError

    def normalize(self, rgb: torch.Tensor) -> torch.Tensor:
        """Turn an RGB batch on the 0..255 scale (uint8 or float, NCHW) into network input."""
        return (rgb.to(self.mean.dtype) - self.mean) / self.std

    def extract_features(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        raise NotImplementedError

    def forward_head(self, features: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The last feature the head consumes (B, C, H/32, W/32): the feature-distillation target."""
        return self.extract_features(x)[-1]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.forward_head(self.extract_features(x))


class TopdownFamily(ModelFamily):
    """Family behaviour of the CSPNeXt + SimCC pose models. Subclasses set `name`,
    `model_class`, `config_class`, `has_neck` and `keypoints_key` (a head weight whose first
    dimension is the number of keypoints), and fill `configs` / `aliases`."""

    kind = "pose"
    onnx_io_names = (INPUT_NAME, OUTPUT_NAMES)
    config_class: ClassVar[type[PoseModelConfig]]
    has_neck: ClassVar[bool]
    keypoints_key: ClassVar[str]

    def make_configs(self, sizes: tuple[str, ...], inputs: tuple[str, ...]) -> dict[str, PoseModelConfig]:
        """The config table `{family}-{size}-{HxW}` for CSPNeXt sizes x input sizes."""
        configs = {}
        for size in sizes:
            deepen, widen = CSPNEXT_SIZES[size]
            for inp in inputs:
                name = f"{self.name}-{size}-{inp}"
                configs[name] = self.config_class(name, deepen, widen, INPUT_SIZES[inp])
        return configs

    def custom_config(self, name: str) -> PoseModelConfig | None:
        """`{family}-{size}-{H}x{W}` with an input size outside the table (both sides multiples of
        32, the backbone's stride), e.g. `rtmpose-t-128x96` for small synthetic-data runs."""
        match = re.fullmatch(rf"{re.escape(self.name)}-([a-z]+)-(\d+)x(\d+)", name)
        if match is None or not any(c.startswith(f"{self.name}-{match.group(1)}-") for c in self.configs):
            return None
        height, width = int(match.group(2)), int(match.group(3))
        if not (32 <= height <= 2048 and 32 <= width <= 2048 and height % 32 == 0 and width % 32 == 0):
            return None
        deepen, widen = CSPNEXT_SIZES[match.group(1)]
        return self.config_class(name, deepen, widen, (width, height))

    def state_dict_from_checkpoint(
        self, checkpoint: Any, weights: WeightsSlot = "default", distill_stage: int | None = None
    ) -> dict[str, torch.Tensor]:
        """mmpose / DWPose / dwpose checkpoints: containers, EMA slots, distillers converted."""
        return pose_state_dict(checkpoint, weights, distill_stage)

    def detect_checkpoint(self, checkpoint: Any) -> Architecture | None:
        # A distiller's final architecture is its student's in both stages (stage 2 trains a
        # head of the same architecture on the teacher's features), so the stage is irrelevant.
        try:
            state = extract_state_dict(checkpoint)
            if is_distiller_state_dict(state):
                state = convert_distiller_state_dict(state, 1)
        except CheckpointError:
            return None
        return self.detect_state_dict(state)

    def _match(self, stem: int | None, input_size: tuple[int, int] | None, keypoints: int | None) -> Architecture:
        """The registered config with these facts, or a description of what fits none."""
        for name, config in self.configs.items():
            if (stem == stem_width(config.widen_factor) and input_size == config.input_size
                    and keypoints in (None, config.num_keypoints)):
                return Architecture(self.name, name, f"{name}, {config.num_keypoints} keypoints", input_size)
        size = next((s for s, (_, widen) in CSPNEXT_SIZES.items() if stem_width(widen) == stem), None)
        size_text = size or f"?(stem width {stem})"
        input_text = input_name(input_size) if input_size else "?"
        custom = self.custom_config(f"{self.name}-{size}-{input_text}") if size and input_size else None
        if custom is not None and keypoints in (None, custom.num_keypoints):
            return Architecture(self.name, custom.name, f"{custom.name}, {custom.num_keypoints} keypoints (custom input size)",
                                input_size)
        keypoints_text = f", {keypoints} keypoints" if keypoints else ""
        return Architecture(self.name, None,
                            f"{self.name}-{size_text}-{input_text}{keypoints_text} (no registered {self.name} model)",
                            input_size)

    def detect_state_dict(self, state_dict: Mapping[str, torch.Tensor]) -> Architecture | None:
        stem = state_dict.get("backbone.stem.0.conv.weight")
        cls_x, cls_y = state_dict.get("head.cls_x.weight"), state_dict.get("head.cls_y.weight")
        keypoints = state_dict.get(self.keypoints_key)
        has_neck = any(k.startswith("neck.") for k in state_dict)
        if stem is None or has_neck != self.has_neck:
            return None
        if not any(k.startswith("head.") for k in state_dict):  # e.g. a pretrained backbone
            size = next((s for s, (_, widen) in CSPNEXT_SIZES.items() if stem_width(widen) == int(stem.shape[0])), "?")
            parts = "backbone and neck" if self.has_neck else "backbone"
            return Architecture(self.name, None,
                                f"a CSPNeXt-{size} {parts} without the {self.model_class.__name__} head (no head.* weights)")
        if cls_x is None or cls_y is None or keypoints is None:
            return None
        # Bins -> input size, with the split ratio of the family's configs (2 for all of them).
        ratio = next(iter(self.configs.values())).simcc_split_ratio
        input_size = (round(cls_x.shape[0] / ratio), round(cls_y.shape[0] / ratio))
        return self._match(int(stem.shape[0]), input_size, int(keypoints.shape[0]))

    def detect_onnx(self, summary: OnnxSummary) -> Architecture | None:
        # Pose files have two outputs (simcc_x, simcc_y); a neck shows as its nearest upsampling.
        if len(summary.outputs) != 2 or summary.input_hw is None:
            return None
        if ("Resize" in summary.op_counts) != self.has_neck:
            return None
        height, width = summary.input_hw
        keypoints = summary.outputs[0][1][1] if len(summary.outputs[0][1]) == 3 else None
        return self._match(summary.first_conv_channels, (width, height), keypoints)
