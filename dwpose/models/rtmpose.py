"""The RTMPose family (DWPose's networks): CSPNeXt backbone + RTMCC head, no neck.

Config table: sizes t/s/m/l/x at 256x192 and 384x288, named `rtmpose-{size}-{HxW}`; the
DWPose releases are RTMPose weights distilled with TPD, so `dwpose-{size}-{HxW}` are aliases.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .cspnext import CSPNeXt
from .registry import register_family
from .release import DWPOSE_LICENCE, Preset, WeightFile
from .rtmcc_head import RTMCCHead
from .topdown import PoseModelConfig, TopdownFamily, TopdownPoseModel

__all__ = ["DEFAULT_DETECTOR", "DEFAULT_POSE", "DWPOSE_PRESET", "DWPOSE_RELEASES", "RTMPOSE_INPUTS", "RTMPOSE_SIZES",
           "RTMPose", "RTMPoseConfig", "RTMPoseFamily"]

RTMPOSE_SIZES = ("t", "s", "m", "l", "x")
RTMPOSE_INPUTS = ("256x192", "384x288")


def _dwpose(filename: str, arch: str, whole_ap: float, size: int | None = None, sha256: str | None = None) -> WeightFile:
    return WeightFile(filename, "yzd-v/DWPose", arch, "pose", size, sha256, whole_ap=whole_ap, licence=DWPOSE_LICENCE)


# The DWPose releases (yzd-v/DWPose on the hub). Sizes and sha256 from the hub's LFS pointers;
# where unknown, the sha256 is printed after the first download. `whole_ap`: the authors'
# COCO-WholeBody v1.0 val whole-body AP (AP_H 56 person boxes, flip test) of the weights in the
# file, from the DWPose README / mmpose model zoo (an ONNX build carries the AP of the checkpoint
# it was exported from). The README's model zoo table is `dwpose models --markdown`.
DWPOSE_RELEASES = (
    _dwpose("dw-ll_ucoco_384.onnx", "rtmpose-l-384x288", 0.665, 134_399_116,
            "724f4ff2439ed61afb86fb8a1951ec39c6220682803b4a8bd4f598cd913b1843"),
    _dwpose("dw-ll_ucoco_384.pth", "rtmpose-l-384x288", 0.665, 406_878_486,
            "0d9408b13cd863c4e95a149dd31232f88f2a12aa6cf8964ed74d7d97748c7a07"),
    _dwpose("dw-ll_ucoco.pth", "rtmpose-l-256x192", 0.631),
    _dwpose("dw-mm_ucoco.pth", "rtmpose-m-256x192", 0.606),
    _dwpose("dw-ss_ucoco.pth", "rtmpose-s-256x192", 0.538),
    _dwpose("dw-tt_ucoco.pth", "rtmpose-t-256x192", 0.485),
)
# DWPose's pipeline: its largest ONNX model with the YOLOX-l detector it ships (a yolox file).
DWPOSE_PRESET = Preset("dw-ll_ucoco_384.onnx", "yolox_l.onnx", None)
DEFAULT_POSE = DWPOSE_PRESET.pose
DEFAULT_DETECTOR = DWPOSE_PRESET.det


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
    released = DWPOSE_RELEASES
    presets = {"dwpose": DWPOSE_PRESET}

    def __init__(self) -> None:
        self.configs = self.make_configs(RTMPOSE_SIZES, RTMPOSE_INPUTS)
        self.aliases = {name.replace("rtmpose-", "dwpose-", 1): name for name in self.configs}


register_family(RTMPoseFamily())
