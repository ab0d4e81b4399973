"""The top-down RTMPose / DWPose network: CSPNeXt backbone + RTMCC head."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .cspnext import CSPNeXt
from .rtmcc_head import RTMCCHead

# ImageNet statistics in RGB order, on the 0..255 scale (mmpose PoseDataPreprocessor).
RGB_MEAN = (123.675, 116.28, 103.53)
RGB_STD = (58.395, 57.12, 57.375)


@dataclass(frozen=True)
class RTMPoseConfig:
    """Architecture of one named model. `input_size` is (width, height) as mmpose writes it."""

    name: str
    deepen_factor: float
    widen_factor: float
    input_size: tuple[int, int]
    num_keypoints: int = 133
    simcc_split_ratio: float = 2.0


class RTMPose(nn.Module):
    """`forward(x)` takes a normalised NCHW RGB batch of size `input_size` and returns the raw
    SimCC logits `(simcc_x (B, K, W*2), simcc_y (B, K, H*2))`, like the official ONNX files.

    Attributes `input_size`, `mean`, `std` (RGB, 0..255 scale) and `simcc_split_ratio` tell
    callers how to prepare crops and decode outputs.
    """

    def __init__(self, config: RTMPoseConfig) -> None:
        super().__init__()
        self.config = config
        self.backbone = CSPNeXt(config.deepen_factor, config.widen_factor)
        self.head = RTMCCHead(
            self.backbone.out_channels,
            config.num_keypoints,
            config.input_size,
            simcc_split_ratio=config.simcc_split_ratio,
        )
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

    def normalize(self, rgb: torch.Tensor) -> torch.Tensor:
        """Turn an RGB batch on the 0..255 scale (uint8 or float, NCHW) into network input."""
        return (rgb.to(self.mean.dtype) - self.mean) / self.std

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Stage-4 backbone feature (B, C, H/32, W/32): the feature-distillation target."""
        return self.backbone(x)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.head(self.backbone(x))
