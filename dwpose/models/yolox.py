"""YOLOX person detector network (Megvii layout: CSPDarknet + PAFPN + decoupled head).

Module and parameter names follow Megvii's YOLOX so their `.pth` files load strictly. The
head returns the raw export output of the official ONNX files: (B, anchors, 5 + classes) with
box regression raw and objectness / class scores already passed through a sigmoid.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
from torch import nn

from ..errors import InputError


class BaseConv(nn.Module):
    """Conv (no bias) -> BN -> SiLU. YOLOX sets BN eps 1e-3, momentum 0.03."""

    def __init__(self, in_channels: int, out_channels: int, ksize: int, stride: int = 1, groups: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, ksize, stride, (ksize - 1) // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(out_channels, eps=1e-3, momentum=0.03)
        self.act = nn.SiLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


class Bottleneck(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, shortcut: bool = True, expansion: float = 0.5) -> None:
        super().__init__()
        hidden = int(out_channels * expansion)
        self.conv1 = BaseConv(in_channels, hidden, 1)
        self.conv2 = BaseConv(hidden, out_channels, 3)
        self.use_add = shortcut and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv2(self.conv1(x))
        return y + x if self.use_add else y


class CSPLayer(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, n: int = 1, shortcut: bool = True) -> None:
        super().__init__()
        hidden = int(out_channels * 0.5)
        self.conv1 = BaseConv(in_channels, hidden, 1)
        self.conv2 = BaseConv(in_channels, hidden, 1)
        self.conv3 = BaseConv(2 * hidden, out_channels, 1)
        self.m = nn.Sequential(*(Bottleneck(hidden, hidden, shortcut, 1.0) for _ in range(n)))

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


class CSPDarknet(nn.Module):
    def __init__(self, depth: float, width: float) -> None:
        super().__init__()
        base = int(width * 64)
        base_depth = max(round(depth * 3), 1)
        self.stem = Focus(3, base, ksize=3)
        self.dark2 = nn.Sequential(BaseConv(base, base * 2, 3, 2), CSPLayer(base * 2, base * 2, base_depth))
        self.dark3 = nn.Sequential(BaseConv(base * 2, base * 4, 3, 2), CSPLayer(base * 4, base * 4, base_depth * 3))
        self.dark4 = nn.Sequential(BaseConv(base * 4, base * 8, 3, 2), CSPLayer(base * 8, base * 8, base_depth * 3))
        self.dark5 = nn.Sequential(
            BaseConv(base * 8, base * 16, 3, 2), SPPBottleneck(base * 16, base * 16),
            CSPLayer(base * 16, base * 16, base_depth, shortcut=False),
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.dark2(self.stem(x))
        c3 = self.dark3(x)
        c4 = self.dark4(c3)
        return c3, c4, self.dark5(c4)


class YOLOPAFPN(nn.Module):
    def __init__(self, depth: float, width: float) -> None:
        super().__init__()
        c3, c4, c5 = int(256 * width), int(512 * width), int(1024 * width)
        n = round(3 * depth)
        self.backbone = CSPDarknet(depth, width)
        self.upsample = nn.Upsample(scale_factor=2, mode="nearest")
        self.lateral_conv0 = BaseConv(c5, c4, 1)
        self.C3_p4 = CSPLayer(2 * c4, c4, n, False)
        self.reduce_conv1 = BaseConv(c4, c3, 1)
        self.C3_p3 = CSPLayer(2 * c3, c3, n, False)
        self.bu_conv2 = BaseConv(c3, c3, 3, 2)
        self.C3_n3 = CSPLayer(2 * c3, c4, n, False)
        self.bu_conv1 = BaseConv(c4, c4, 3, 2)
        self.C3_n4 = CSPLayer(2 * c4, c5, n, False)


class YOLOXHead(nn.Module):
    def __init__(self, num_classes: int, width: float) -> None:
        super().__init__()
        hidden = int(256 * width)
        in_channels = [int(c * width) for c in (256, 512, 1024)]
        self.strides = (8, 16, 32)
        self.stems = nn.ModuleList(BaseConv(c, hidden, 1) for c in in_channels)
        self.cls_convs = nn.ModuleList(
            nn.Sequential(BaseConv(hidden, hidden, 3), BaseConv(hidden, hidden, 3)) for _ in in_channels)
        self.reg_convs = nn.ModuleList(
            nn.Sequential(BaseConv(hidden, hidden, 3), BaseConv(hidden, hidden, 3)) for _ in in_channels)
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


YOLOX_CONFIGS: dict[str, YOLOXConfig] = {
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
        self.backbone = YOLOPAFPN(config.depth, config.width)
        self.head = YOLOXHead(config.num_classes, config.width)

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


def detect_yolox_name(checkpoint: str | os.PathLike) -> str:
    """The YOLOX size of a Megvii `.pth` or an official-signature ONNX file, from its stem width."""
    from pathlib import Path

    from .checkpoint import YOLOX_STEM_WIDTHS, CheckpointError, read_checkpoint_file
    from .onnx_io import onnx_input_and_stem

    path = Path(checkpoint)
    if path.suffix.lower() == ".onnx":
        _, width = onnx_input_and_stem(path)
    else:
        content = read_checkpoint_file(path)
        state = content.get("model", content) if isinstance(content, dict) else {}
        stem = state.get("backbone.backbone.stem.conv.conv.weight") if isinstance(state, dict) else None
        width = None if stem is None else int(stem.shape[0])
    if width not in YOLOX_STEM_WIDTHS:
        raise CheckpointError(f"cannot tell the YOLOX size of {path} (stem width {width})")
    return YOLOX_STEM_WIDTHS[width]


def create_yolox(name: str | None, checkpoint: str | os.PathLike | None = None) -> YOLOX:
    """Build a YOLOX network; `checkpoint` is a Megvii `.pth` (`{"model": ...}` or bare) or an
    official-signature ONNX file (`images` -> `output`). `name=None` detects the size."""
    if name is None:
        if checkpoint is None:
            raise InputError("create_yolox needs a name or a checkpoint to detect it from")
        name = detect_yolox_name(checkpoint)
    if name not in YOLOX_CONFIGS:
        raise InputError(f"unknown detector {name!r}; choose one of: {', '.join(YOLOX_CONFIGS)}")
    model = YOLOX(YOLOX_CONFIGS[name])
    if checkpoint is not None:
        from pathlib import Path

        from .checkpoint import load_state_dict_strict, read_checkpoint_file

        if Path(checkpoint).suffix.lower() == ".onnx":
            from .onnx_io import import_onnx_convolutions

            import_onnx_convolutions(model, checkpoint)
        else:
            content = read_checkpoint_file(checkpoint)
            state = content.get("model", content) if isinstance(content, dict) else content
            load_state_dict_strict(model, state, source=str(checkpoint))
    return model.eval()
