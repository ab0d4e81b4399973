"""YOLOX person detector network (Megvii layout: CSPDarknet + PAFPN + decoupled head).

Module and parameter names follow Megvii's YOLOX so their `.pth` files load strictly. The
head returns the raw export output of the official ONNX files: (B, anchors, 5 + classes) with
box regression raw and objectness / class scores already passed through a sigmoid.

Config table: Megvii's yolox-s/m/l/x (640x640) and the light yolox-tiny (416x416) and
yolox-nano (416x416, depthwise-separable 3x3 convolutions).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .checkpoint import WeightsSlot, extract_state_dict
from .onnx_io import YOLOX_IO_NAMES
from .onnx_probe import OnnxSummary
from .registry import Architecture, ModelFamily, register_family
from ..errors import CheckpointError


class BaseConv(nn.Module):
    """Conv (no bias) -> BN -> SiLU. YOLOX sets BN eps 1e-3, momentum 0.03."""

    def __init__(self, in_channels: int, out_channels: int, ksize: int, stride: int = 1, groups: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, ksize, stride, (ksize - 1) // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(out_channels, eps=1e-3, momentum=0.03)
        self.act = nn.SiLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


class DWConv(nn.Module):
    """Depthwise kxk BaseConv then pointwise 1x1 BaseConv (yolox-nano's 3x3 convolutions)."""

    def __init__(self, in_channels: int, out_channels: int, ksize: int, stride: int = 1) -> None:
        super().__init__()
        self.dconv = BaseConv(in_channels, in_channels, ksize, stride, groups=in_channels)
        self.pconv = BaseConv(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pconv(self.dconv(x))


def conv3x3(in_channels: int, out_channels: int, stride: int = 1, depthwise: bool = False) -> nn.Module:
    """The 3x3 convolution of the backbone, neck and head: depthwise-separable in yolox-nano."""
    return DWConv(in_channels, out_channels, 3, stride) if depthwise else BaseConv(in_channels, out_channels, 3, stride)


class Bottleneck(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, shortcut: bool = True, expansion: float = 0.5,
                 depthwise: bool = False) -> None:
        super().__init__()
        hidden = int(out_channels * expansion)
        self.conv1 = BaseConv(in_channels, hidden, 1)
        self.conv2 = conv3x3(hidden, out_channels, depthwise=depthwise)
        self.use_add = shortcut and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv2(self.conv1(x))
        return y + x if self.use_add else y


class CSPLayer(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, n: int = 1, shortcut: bool = True,
                 depthwise: bool = False) -> None:
        super().__init__()
        hidden = int(out_channels * 0.5)
        self.conv1 = BaseConv(in_channels, hidden, 1)
        self.conv2 = BaseConv(in_channels, hidden, 1)
        self.conv3 = BaseConv(2 * hidden, out_channels, 1)
        self.m = nn.Sequential(*(Bottleneck(hidden, hidden, shortcut, 1.0, depthwise) for _ in range(n)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Block path first: module call order = concat order (see models/onnx_io.py).
        main = self.m(self.conv1(x))
        return self.conv3(torch.cat((main, self.conv2(x)), dim=1))


class SPPBottleneck(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, kernel_sizes: tuple[int, ...] = (5, 9, 13)) -> None:
        super().__init__()
        hidden = in_channels // 2
        self.conv1 = BaseConv(in_channels, hidden, 1)
        self.m = nn.ModuleList(nn.MaxPool2d(k, stride=1, padding=k // 2) for k in kernel_sizes)
        self.conv2 = BaseConv(hidden * (len(kernel_sizes) + 1), out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        return self.conv2(torch.cat([x] + [pool(x) for pool in self.m], dim=1))


class Focus(nn.Module):
    """Space-to-depth (2x2 pixel groups to channels) then a conv."""

    def __init__(self, in_channels: int, out_channels: int, ksize: int = 3) -> None:
        super().__init__()
        self.conv = BaseConv(in_channels * 4, out_channels, ksize)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        top_left, top_right = x[..., ::2, ::2], x[..., ::2, 1::2]
        bot_left, bot_right = x[..., 1::2, ::2], x[..., 1::2, 1::2]
        return self.conv(torch.cat((top_left, bot_left, top_right, bot_right), dim=1))


def stem_width(width: float) -> int:
    """Output channels of the Focus stem conv: the fact that tells the sizes apart."""
    return int(width * 64)


class CSPDarknet(nn.Module):
    def __init__(self, depth: float, width: float, depthwise: bool = False) -> None:
        super().__init__()
        base = stem_width(width)
        base_depth = max(round(depth * 3), 1)
        dw = depthwise
        self.stem = Focus(3, base, ksize=3)
        self.dark2 = nn.Sequential(conv3x3(base, base * 2, 2, dw),
                                   CSPLayer(base * 2, base * 2, base_depth, depthwise=dw))
        self.dark3 = nn.Sequential(conv3x3(base * 2, base * 4, 2, dw),
                                   CSPLayer(base * 4, base * 4, base_depth * 3, depthwise=dw))
        self.dark4 = nn.Sequential(conv3x3(base * 4, base * 8, 2, dw),
                                   CSPLayer(base * 8, base * 8, base_depth * 3, depthwise=dw))
        self.dark5 = nn.Sequential(
            conv3x3(base * 8, base * 16, 2, dw), SPPBottleneck(base * 16, base * 16),
            CSPLayer(base * 16, base * 16, base_depth, shortcut=False, depthwise=dw),
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.dark2(self.stem(x))
        c3 = self.dark3(x)
        c4 = self.dark4(c3)
        return c3, c4, self.dark5(c4)


class YOLOPAFPN(nn.Module):
    def __init__(self, depth: float, width: float, depthwise: bool = False) -> None:
        super().__init__()
        c3, c4, c5 = int(256 * width), int(512 * width), int(1024 * width)
        n = round(3 * depth)
        dw = depthwise
        self.backbone = CSPDarknet(depth, width, depthwise)
        self.upsample = nn.Upsample(scale_factor=2, mode="nearest")
        self.lateral_conv0 = BaseConv(c5, c4, 1)
        self.C3_p4 = CSPLayer(2 * c4, c4, n, False, dw)
        self.reduce_conv1 = BaseConv(c4, c3, 1)
        self.C3_p3 = CSPLayer(2 * c3, c3, n, False, dw)
        self.bu_conv2 = conv3x3(c3, c3, 2, dw)
        self.C3_n3 = CSPLayer(2 * c3, c4, n, False, dw)
        self.bu_conv1 = conv3x3(c4, c4, 2, dw)
        self.C3_n4 = CSPLayer(2 * c4, c5, n, False, dw)


class YOLOXHead(nn.Module):
    def __init__(self, num_classes: int, width: float, depthwise: bool = False) -> None:
        super().__init__()
        hidden = int(256 * width)
        in_channels = [int(c * width) for c in (256, 512, 1024)]
        self.strides = (8, 16, 32)

        def branch() -> nn.Sequential:
            return nn.Sequential(conv3x3(hidden, hidden, 1, depthwise), conv3x3(hidden, hidden, 1, depthwise))

        self.stems = nn.ModuleList(BaseConv(c, hidden, 1) for c in in_channels)
        self.cls_convs = nn.ModuleList(branch() for _ in in_channels)
        self.reg_convs = nn.ModuleList(branch() for _ in in_channels)
        self.cls_preds = nn.ModuleList(nn.Conv2d(hidden, num_classes, 1) for _ in in_channels)
        self.reg_preds = nn.ModuleList(nn.Conv2d(hidden, 4, 1) for _ in in_channels)
        self.obj_preds = nn.ModuleList(nn.Conv2d(hidden, 1, 1) for _ in in_channels)

    def level(self, k: int, x: torch.Tensor) -> torch.Tensor:
        """(B, 5 + classes, h, w) for one pyramid level: box, objectness, classes."""
        x = self.stems[k](x)
        reg_feat = self.reg_convs[k](x)
        box, obj = self.reg_preds[k](reg_feat), self.obj_preds[k](reg_feat)
        cls = self.cls_preds[k](self.cls_convs[k](x))
        return torch.cat((box, obj.sigmoid(), cls.sigmoid()), dim=1)


@dataclass(frozen=True)
class YOLOXConfig:
    name: str
    depth: float
    width: float
    num_classes: int = 80
    input_size: tuple[int, int] = (640, 640)  # (width, height)
    depthwise: bool = False


YOLOX_CONFIGS: dict[str, YOLOXConfig] = {
    "yolox-nano": YOLOXConfig("yolox-nano", 0.33, 0.25, input_size=(416, 416), depthwise=True),
    "yolox-tiny": YOLOXConfig("yolox-tiny", 0.33, 0.375, input_size=(416, 416)),
    "yolox-s": YOLOXConfig("yolox-s", 0.33, 0.50),
    "yolox-m": YOLOXConfig("yolox-m", 0.67, 0.75),
    "yolox-l": YOLOXConfig("yolox-l", 1.0, 1.0),
    "yolox-x": YOLOXConfig("yolox-x", 1.33, 1.25),
}


class YOLOX(nn.Module):
    """`forward(x)`: BGR 0..255 float batch (B, 3, H, W) -> (B, anchors, 5 + classes)."""

    def __init__(self, config: YOLOXConfig) -> None:
        super().__init__()
        self.config = config
        self.backbone = YOLOPAFPN(config.depth, config.width, config.depthwise)
        self.head = YOLOXHead(config.num_classes, config.width, config.depthwise)

    @property
    def input_size(self) -> tuple[int, int]:
        return self.config.input_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Evaluated in the order an ONNX graph is walked from its output (each level's head
        # right after the feature it needs), so the structural ONNX importer can pair convs.
        fpn = self.backbone
        c3, c4, c5 = fpn.backbone(x)
        fpn_out0 = fpn.lateral_conv0(c5)
        f_out0 = fpn.C3_p4(torch.cat((fpn.upsample(fpn_out0), c4), dim=1))
        fpn_out1 = fpn.reduce_conv1(f_out0)
        pan_out2 = fpn.C3_p3(torch.cat((fpn.upsample(fpn_out1), c3), dim=1))
        level0 = self.head.level(0, pan_out2)
        pan_out1 = fpn.C3_n3(torch.cat((fpn.bu_conv2(pan_out2), fpn_out1), dim=1))
        level1 = self.head.level(1, pan_out1)
        pan_out0 = fpn.C3_n4(torch.cat((fpn.bu_conv1(pan_out1), fpn_out0), dim=1))
        level2 = self.head.level(2, pan_out0)
        return torch.cat([lv.flatten(start_dim=2) for lv in (level0, level1, level2)], dim=2).permute(0, 2, 1)


# mmdet's YOLOX (CSPDarknet + YOLOXPAFPN + YOLOXHead: what mmdet/mmpose/rtmlib users hold) has
# the same layers under other names. The neck's lists are built from the deepest level up
# (reduce_layers.0 is c5 -> c4), as Megvii's named layers are; mmdet keeps the head's 1x1
# stems in the neck (out_convs).
_MMDET_STAGES = {"stem": "stem", "stage1": "dark2", "stage2": "dark3", "stage3": "dark4", "stage4": "dark5"}
_MMDET_NECK = {
    "reduce_layers.0": "lateral_conv0", "reduce_layers.1": "reduce_conv1",
    "top_down_blocks.0": "C3_p4", "top_down_blocks.1": "C3_p3",
    "downsamples.0": "bu_conv2", "downsamples.1": "bu_conv1",
    "bottom_up_blocks.0": "C3_n3", "bottom_up_blocks.1": "C3_n4",
}
_MMDET_HEAD = {
    "multi_level_cls_convs": "cls_convs", "multi_level_reg_convs": "reg_convs",
    "multi_level_conv_cls": "cls_preds", "multi_level_conv_reg": "reg_preds", "multi_level_conv_obj": "obj_preds",
}
# Inside a block: CSPLayer main/short/final conv and blocks = Megvii's conv1/conv2/conv3 and m
# (the main path conv1 -> blocks is concatenated first in both); yolox-nano's
# depthwise-separable convs.
_MMDET_BLOCK = ((r"\.main_conv\.", ".conv1."), (r"\.short_conv\.", ".conv2."), (r"\.final_conv\.", ".conv3."),
                (r"\.blocks\.", ".m."), (r"\.depthwise_conv\.", ".dconv."), (r"\.pointwise_conv\.", ".pconv."))


def is_mmdet_yolox_state_dict(state_dict: Mapping[str, Any]) -> bool:
    return any(k.startswith(("bbox_head.multi_level_conv_cls.", "neck.reduce_layers.")) for k in state_dict)


def mmdet_yolox_state_dict(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """An mmdet YOLOX state dict (`backbone.stage1...`, `neck.reduce_layers...`,
    `bbox_head.multi_level_*`) renamed to this module's (Megvii's) names; the tensors are the
    same objects. A key that no rule covers raises a CheckpointError naming it."""
    renamed: dict[str, torch.Tensor] = {}
    for key, value in state_dict.items():
        new = _mmdet_key(key)
        if new is None:
            raise CheckpointError(f"mmdet YOLOX checkpoint: key {key!r} is not a layer of mmdet's YOLOX")
        renamed[new] = value
    return renamed


def _mmdet_key(key: str) -> str | None:
    if (match := re.match(r"neck\.out_convs\.(\d+)(\..*)$", key)):
        return f"head.stems.{match.group(1)}{match.group(2)}"
    if (match := re.match(r"bbox_head\.(\w+)(\..*)$", key)) and match.group(1) in _MMDET_HEAD:
        return f"head.{_MMDET_HEAD[match.group(1)]}{match.group(2)}"
    if (match := re.match(r"backbone\.(\w+)(\..*)$", key)) and match.group(1) in _MMDET_STAGES:
        prefix = f"backbone.backbone.{_MMDET_STAGES[match.group(1)]}"
    elif (match := re.match(r"neck\.(\w+\.\d+)(\..*)$", key)) and match.group(1) in _MMDET_NECK:
        prefix = f"backbone.{_MMDET_NECK[match.group(1)]}"
    else:
        return None
    rest = match.group(2)
    for pattern, replacement in _MMDET_BLOCK:
        rest = re.sub(pattern, replacement, rest)
    return prefix + rest


class YOLOXFamily(ModelFamily):
    """Megvii YOLOX: `.pth` files `{"model": state_dict, ...}` (or bare), ONNX `images` -> `output`;
    mmdet's YOLOX `.pth` (mmengine container or bare) is renamed to Megvii's names on loading."""

    name = "yolox"
    kind = "detector"
    model_class = YOLOX
    onnx_io_names = YOLOX_IO_NAMES

    def __init__(self) -> None:
        self.configs = YOLOX_CONFIGS
        self.aliases = {}

    def _match(self, stem: int | None, depthwise: bool | None, classes: int | None) -> Architecture:
        for name, config in self.configs.items():
            if (stem == stem_width(config.width) and depthwise in (None, config.depthwise)
                    and classes in (None, config.num_classes)):
                return Architecture(self.name, name, f"{name}, {config.num_classes} classes", config.input_size)
        description = f"yolox-?(stem width {stem}, {classes} classes) (no registered yolox model)"
        return Architecture(self.name, None, description)

    def state_dict_from_checkpoint(
        self, checkpoint: Any, weights: WeightsSlot = "default", distill_stage: int | None = None
    ) -> dict[str, torch.Tensor]:
        state = extract_state_dict(checkpoint, weights)
        return mmdet_yolox_state_dict(state) if is_mmdet_yolox_state_dict(state) else state

    def detect_state_dict(self, state_dict: Mapping[str, torch.Tensor]) -> Architecture | None:
        stem = state_dict.get("backbone.backbone.stem.conv.conv.weight")
        classes = state_dict.get("head.cls_preds.0.weight")
        if stem is None or classes is None:
            return None
        depthwise = "backbone.backbone.dark2.0.dconv.conv.weight" in state_dict
        return self._match(int(stem.shape[0]), depthwise, int(classes.shape[0]))

    def detect_onnx(self, summary: OnnxSummary) -> Architecture | None:
        # One output (B, anchors, 5 + classes); the stem width alone tells the sizes apart.
        if len(summary.outputs) != 1 or len(summary.outputs[0][1]) != 3:
            return None
        last = summary.outputs[0][1][2]
        return self._match(summary.first_conv_channels, None, None if last is None else last - 5)


register_family(YOLOXFamily())
