"""CSPNeXt backbone (arch P5) of RTMPose and RTMW."""

from __future__ import annotations

import torch
from torch import nn

from ..errors import InputError
from .layers import ConvModule, CSPLayer, SPPBottleneck
from .release import MMPOSE_LICENCE, MMPOSE_URL, WeightFile

# (in, out, num_blocks, add_identity, use_spp) per stage before width/depth scaling.
_ARCH_P5 = (
    (64, 128, 3, True, False),
    (128, 256, 6, True, False),
    (256, 512, 6, True, False),
    (512, 1024, 3, False, True),
)

# (deepen_factor, widen_factor) of the published sizes; RTMPose and RTMW share them.
CSPNEXT_SIZES: dict[str, tuple[float, float]] = {
    "t": (0.167, 0.375),
    "s": (0.33, 0.5),
    "m": (0.67, 0.75),
    "l": (1.0, 1.0),
    "x": (1.33, 1.25),
}


_MMDET_RSB = "https://download.openmmlab.com/mmdetection/v3.0/rtmdet/cspnext_rsb_pretrain"
_UBODY = "https://download.openmmlab.com/mmpose/v1/wholebody_2d_keypoint/rtmpose/ubody"


def _backbone(alias: str, url: str, arch: str) -> WeightFile:
    """A CSPNeXt checkpoint whose `backbone.*` tensors start a recipe's training (mmpose's
    `init_cfg=dict(type='Pretrained', prefix='backbone.')`); sizes/hashes not known here."""
    return WeightFile(url.rsplit("/", 1)[1], url, arch, "backbone", licence=MMPOSE_LICENCE, alias=alias)


# Backbones of the training recipes (`pretrained_backbone = "<alias>"`), as mmpose's configs
# use them (architecture.md §1, architecture_rtmw.md §2; URLs from mmpose's
# projects/rtmpose/README.md and the RTMW configs): CSPNeXt pose models pretrained with UDP
# heatmaps on AIC+COCO (t/s/m/l) or Body7 (x) for the RTMPose recipes ...
CSPNEXT_BACKBONES = (
    _backbone("cspnext-t-udp", f"{MMPOSE_URL}/rtmpose/cspnext-tiny_udp-aic-coco_210e-256x192-cbed682d_20230130.pth",
              "cspnext-t"),
    _backbone("cspnext-s-udp", f"{MMPOSE_URL}/rtmpose/cspnext-s_udp-aic-coco_210e-256x192-92f5a029_20230130.pth",
              "cspnext-s"),
    _backbone("cspnext-m-udp", f"{MMPOSE_URL}/rtmpose/cspnext-m_udp-aic-coco_210e-256x192-f2f7d6f6_20230130.pth",
              "cspnext-m"),
    _backbone("cspnext-l-udp", f"{MMPOSE_URL}/rtmpose/cspnext-l_udp-aic-coco_210e-256x192-273b7631_20230130.pth",
              "cspnext-l"),
    _backbone("cspnext-x-udp", f"{MMPOSE_URL}/rtmposev1/cspnext-x_udp-body7_210e-384x288-d28b58e6_20230529.pth",
              "cspnext-x"),
    # ... the whole-body RTMPose/DWPose checkpoints the RTMW recipes start from ...
    _backbone("rtmw-m-init", f"{MMPOSE_URL}/rtmposev1/rtmpose-m_simcc-ucoco_dw-ucoco_270e-256x192-c8b76419_20230728.pth",
              "cspnext-m"),
    _backbone("rtmw-l-init", f"{MMPOSE_URL}/rtmposev1/rtmpose-l_simcc-ucoco_dw-ucoco_270e-256x192-4d6dfc62_20230728.pth",
              "cspnext-l"),
    _backbone("rtmw-x-256-init", f"{_UBODY}/rtmpose-x_simcc-ucoco_pt-aic-coco_270e-256x192-05f5bcb7_20230822.pth",
              "cspnext-x"),
    _backbone("rtmw-x-384-init", f"{_UBODY}/rtmpose-x_simcc-ucoco_pt-aic-coco_270e-384x288-f5b50679_20230822.pth",
              "cspnext-x"),
    # ... and the ImageNet classification CSPNeXt (mmdet's RSB pretraining), from which mmpose's
    # UDP pretraining starts: an alternative start for a recipe of your own.
    _backbone("cspnext-t-imagenet", f"{_MMDET_RSB}/cspnext-tiny_imagenet_600e-3a2dd350.pth", "cspnext-t"),
    _backbone("cspnext-s-imagenet", f"{_MMDET_RSB}/cspnext-s_imagenet_600e-ea671761.pth", "cspnext-s"),
    _backbone("cspnext-m-imagenet", f"{_MMDET_RSB}/cspnext-m_8xb256-rsb-a1-600e_in1k-ecb3bbd9.pth", "cspnext-m"),
    _backbone("cspnext-l-imagenet", f"{_MMDET_RSB}/cspnext-l_8xb256-rsb-a1-600e_in1k-6a760974.pth", "cspnext-l"),
    _backbone("cspnext-x-imagenet", f"{_MMDET_RSB}/cspnext-x_8xb256-rsb-a1-600e_in1k-b3f78edd.pth", "cspnext-x"),
)


def stem_width(widen_factor: float) -> int:
    """Output channels of the first stem convolution (`backbone.stem.0.conv.weight` rows):
    the cheapest fact that tells the sizes apart in a checkpoint or an ONNX graph."""
    return int(_ARCH_P5[0][0] * widen_factor) // 2


def stage_channels(widen_factor: float) -> tuple[int, ...]:
    """Output channels of (stem, stage1, ..., stage4)."""
    return (int(_ARCH_P5[0][0] * widen_factor),) + tuple(int(stage[1] * widen_factor) for stage in _ARCH_P5)


class CSPNeXt(nn.Module):
    """CSPNeXt-P5. `forward` returns the tuple of outputs listed in `out_indices` (0 = stem,
    1..4 = stages): RTMPose takes (4,) (stride 32 only), RTMW (2, 3, 4) (strides 8, 16, 32)."""

    def __init__(self, deepen_factor: float, widen_factor: float, out_indices: tuple[int, ...] = (4,)) -> None:
        super().__init__()
        increasing = list(out_indices) == sorted(set(out_indices))
        if not out_indices or not increasing or not 0 <= out_indices[0] <= out_indices[-1] <= len(_ARCH_P5):
            raise InputError(f"CSPNeXt out_indices must be increasing, within 0..4, got {out_indices}")
        channels = stage_channels(widen_factor)
        self.stem = nn.Sequential(
            ConvModule(3, channels[0] // 2, 3, stride=2),
            ConvModule(channels[0] // 2, channels[0] // 2, 3),
            ConvModule(channels[0] // 2, channels[0], 3),
        )
        for i, (_, _, n, add_identity, use_spp) in enumerate(_ARCH_P5, start=1):
            cin, cout = channels[i - 1], channels[i]
            num_blocks = max(round(n * deepen_factor), 1)
            layers: list[nn.Module] = [ConvModule(cin, cout, 3, stride=2)]
            if use_spp:
                layers.append(SPPBottleneck(cout, cout))
            layers.append(CSPLayer(cout, cout, num_blocks, add_identity))
            self.add_module(f"stage{i}", nn.Sequential(*layers))
        self.out_indices = tuple(out_indices)
        self.out_channels = tuple(channels[i] for i in self.out_indices)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        outputs = []
        for i, layer in enumerate((self.stem, self.stage1, self.stage2, self.stage3, self.stage4)):
            x = layer(x)
            if i in self.out_indices:
                outputs.append(x)
            if i == max(self.out_indices):
                break
        return tuple(outputs)
