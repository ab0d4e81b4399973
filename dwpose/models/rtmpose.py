"""The RTMPose family (DWPose's networks): CSPNeXt backbone + RTMCC head, no neck.

Config table: sizes t/s/m/l/x at 256x192 and 384x288, named `rtmpose-{size}-{HxW}`; the
DWPose releases are RTMPose weights distilled with TPD, so `dwpose-{size}-{HxW}` are aliases.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .cspnext import CSPNeXt
from .registry import register_family
from .rtmcc_head import RTMCCHead
from .topdown import RGB_MEAN, RGB_STD, PoseModelConfig, TopdownFamily, TopdownPoseModel

__all__ = ["RGB_MEAN", "RGB_STD", "RTMPOSE_INPUTS", "RTMPOSE_SIZES", "RTMPose", "RTMPoseConfig", "RTMPoseFamily"]

RTMPOSE_SIZES = ("t", "s", "m", "l", "x")
RTMPOSE_INPUTS = ("256x192", "384x288")


@dataclass(frozen=True)
class RTMPoseConfig(PoseModelConfig):
    """Architecture of one RTMPose model (fields: see `PoseModelConfig`)."""


class RTMPose(TopdownPoseModel):
    """CSPNeXt (stride-32 output only) + RTMCC head. See `TopdownPoseModel` for the contract."""

    def __init__(self, config: PoseModelConfig) -> None:
        super().__init__(config)
        self.backbone = CSPNeXt(config.deepen_factor, config.widen_factor, out_indices=(4,))
        self.head = RTMCCHead(
            self.backbone.out_channels[-1],
            config.num_keypoints,
            config.input_size,
            simcc_split_ratio=config.simcc_split_ratio,
        )

    @property
    def feature_channels(self) -> int:
        return self.backbone.out_channels[-1]

    def extract_features(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(stage-4 backbone feature,)."""
        return self.backbone(x)

    def forward_head(self, features: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, torch.Tensor]:
        return self.head(features[-1])


class RTMPoseFamily(TopdownFamily):
    name = "rtmpose"
    model_class = RTMPose
    config_class = RTMPoseConfig
    has_neck = False
    keypoints_key = "head.final_layer.weight"  # RTMCC head: a plain biased conv

    def __init__(self) -> None:
        self.configs = self.make_configs(RTMPOSE_SIZES, RTMPOSE_INPUTS)
        self.aliases = {name.replace("rtmpose-", "dwpose-", 1): name for name in self.configs}


register_family(RTMPoseFamily())
