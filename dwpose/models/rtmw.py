"""The RTMW family (mmpose `rtmw-*_cocktail14` configs): CSPNeXt backbone returning strides
8/16/32, CSPNeXtPAFPN neck, RTMW head.

Config table: sizes m/l/x at 256x192 and 384x288, named `rtmw-{size}-{HxW}`. mmpose publishes
no RTMW-m 384x288 config; `rtmw-m-384x288` is the m widths with the 384x288 head, built by
analogy. Any other size can be built from `RTMWConfig` directly (the tests build RTMPose-t
widths with RTMW's neck and head that way).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..skeleton import PARTS
from .cspnext import CSPNeXt
from .cspnext_pafpn import CSPNeXtPAFPN
from .registry import register_family
from .release import MMPOSE_LICENCE, MMPOSE_URL, Preset, WeightFile, sdk_zip
from .rtmw_head import RTMWHead
from .topdown import PoseModelConfig, TopdownFamily, TopdownPoseModel

__all__ = ["RTMLIB_MODES", "RTMW", "RTMWConfig", "RTMWFamily", "RTMW_INPUTS", "RTMW_RELEASES", "RTMW_SIZES"]

RTMW_SIZES = ("m", "l", "x")
RTMW_INPUTS = ("256x192", "384x288")


def _mmpose_pth(filename: str, arch: str, whole_ap: float | None = None) -> WeightFile:
    """A released mmpose RTMW checkpoint (architecture_rtmw.md §9); sizes/hashes not known here."""
    return WeightFile(filename, f"{MMPOSE_URL}/rtmw/{filename}", arch, "pose", whole_ap=whole_ap,
                      licence=MMPOSE_LICENCE)


# mmpose's cocktail14 releases; "dw" = distilled with TPD from the next size up. `whole_ap`: the
# authors' COCO-WholeBody v1.0 val whole-body AP from mmpose `rtmw_cocktail14.yml` (an ONNX build
# carries the AP of the checkpoint it was exported from).
RTMW_RELEASES = (
    _mmpose_pth("rtmw-dw-l-m_simcc-cocktail14_270e-256x192-20231122.pth", "rtmw-m-256x192", 0.582),
    _mmpose_pth("rtmw-dw-x-l_simcc-cocktail14_270e-256x192-20231122.pth", "rtmw-l-256x192", 0.660),
    _mmpose_pth("rtmw-x_simcc-cocktail14_pt-ucoco_270e-256x192-13a2546d_20231208.pth", "rtmw-x-256x192", 0.672),
    _mmpose_pth("rtmw-dw-x-l_simcc-cocktail14_270e-384x288-20231122.pth", "rtmw-l-384x288", 0.701),
    _mmpose_pth("rtmw-x_simcc-cocktail14_pt-ucoco_270e-384x288-f840f204_20231122.pth", "rtmw-x-384x288", 0.702),
    # The ONNX builds of rtmlib's Wholebody modes (their detectors are yolox files).
    sdk_zip("rtmw", "rtmw-dw-x-l_simcc-cocktail14_270e-384x288_20231122", "rtmw-l-384x288", "pose", 0.701),
    sdk_zip("rtmw", "rtmw-dw-x-l_simcc-cocktail14_270e-256x192_20231122", "rtmw-l-256x192", "pose", 0.660),
    sdk_zip("rtmw", "rtmw-dw-l-m_simcc-cocktail14_270e-256x192_20231122", "rtmw-m-256x192", "pose", 0.582),
)
# rtmlib's `Wholebody.MODE` (rtmlib/tools/solution/wholebody.py): the same ONNX SDK builds and
# detector input sizes (the pose input size is the file's own: 384x288 or 256x192).
RTMLIB_MODES: dict[str, Preset] = {
    "performance": Preset("rtmw-dw-x-l_simcc-cocktail14_270e-384x288_20231122.onnx",
                          "yolox_m_8xb8-300e_humanart-c2c7a14a.onnx", (640, 640)),
    "lightweight": Preset("rtmw-dw-l-m_simcc-cocktail14_270e-256x192_20231122.onnx",
                          "yolox_tiny_8xb8-300e_humanart-6f3252f9.onnx", (416, 416)),
    "balanced": Preset("rtmw-dw-x-l_simcc-cocktail14_270e-256x192_20231122.onnx",
                       "yolox_m_8xb8-300e_humanart-c2c7a14a.onnx", (640, 640)),
}


@dataclass(frozen=True)
class RTMWConfig(PoseModelConfig):
    """Architecture of one RTMW model (fields: see `PoseModelConfig`); `neck_csp_blocks` CSP
    blocks per neck layer (2 in every official config: they do not scale with depth)."""

    neck_csp_blocks: int = 2


class RTMW(TopdownPoseModel):
    """CSPNeXt (C3, C4, C5) -> CSPNeXtPAFPN (n4, n5) -> RTMW head. See `TopdownPoseModel` for
    the contract; `forward_features` is the neck's n5, the head's stride-32 input."""

    # mmpose's RTMW configs: raw logits (beta 1) against softmax(10 * label), face keypoints x0.5.
    loss_config = {"beta": 1.0, "label_beta": 10.0, "mask": tuple(range(*PARTS["face"])), "mask_weight": 0.5}

    def __init__(self, config: RTMWConfig) -> None:
        super().__init__(config)
        self.backbone = CSPNeXt(config.deepen_factor, config.widen_factor, out_indices=(2, 3, 4))
        self.neck = CSPNeXtPAFPN(self.backbone.out_channels, num_csp_blocks=config.neck_csp_blocks)
        self.head = RTMWHead(
            self.neck.out_channels[-1],
            config.num_keypoints,
            config.input_size,
            simcc_split_ratio=config.simcc_split_ratio,
        )

    @property
    def feature_channels(self) -> int:
        return self.neck.out_channels[-1]

    def extract_features(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(n4, n5): the neck's stride-16 and stride-32 outputs."""
        return self.neck(self.backbone(x))

    def forward_head(self, features: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, torch.Tensor]:
        return self.head(features)


class RTMWFamily(TopdownFamily):
    name = "rtmw"
    model_class = RTMW
    config_class = RTMWConfig
    has_neck = True
    keypoints_key = "head.final_layer.conv.weight"  # RTMW head: a ConvModule (conv + BN + ReLU)
    released = RTMW_RELEASES
    presets = RTMLIB_MODES

    def __init__(self) -> None:
        self.configs = self.make_configs(RTMW_SIZES, RTMW_INPUTS)
        self.aliases = {}


register_family(RTMWFamily())
