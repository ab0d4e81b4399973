"""CSPNeXt backbone (arch P5) of RTMPose."""

from __future__ import annotations

import torch
from torch import nn

from .layers import ChannelAttention, ConvModule, DepthwiseSeparableConvModule, SPPBottleneck

# (in, out, num_blocks, add_identity, use_spp) per stage before width/depth scaling.
_ARCH_P5 = (
    (64, 128, 3, True, False),
    (128, 256, 6, True, False),
    (256, 512, 6, True, False),
    (512, 1024, 3, False, True),
)


class CSPNeXtBlock(nn.Module):
    """3x3 conv then depthwise-separable 5x5 conv, with an optional identity shortcut."""

    def __init__(self, channels: int, add_identity: bool) -> None:
        super().__init__()
        self.conv1 = ConvModule(channels, channels, 3)
        self.conv2 = DepthwiseSeparableConvModule(channels, channels, 5)
        self.add_identity = add_identity

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2(self.conv1(x))
        return out + x if self.add_identity else out


class CSPLayer(nn.Module):
    """Cross-stage-partial layer: a block path and a shortcut path, concatenated, re-weighted
    by channel attention and fused by a 1x1 conv."""

    def __init__(self, channels: int, num_blocks: int, add_identity: bool) -> None:
        super().__init__()
        mid = int(channels * 0.5)
        self.main_conv = ConvModule(channels, mid, 1)
        self.short_conv = ConvModule(channels, mid, 1)
        self.final_conv = ConvModule(2 * mid, channels, 1)
        self.blocks = nn.Sequential(*(CSPNeXtBlock(mid, add_identity) for _ in range(num_blocks)))
        self.attention = ChannelAttention(2 * mid)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Main path is evaluated first so the module call order follows the concat order
        # (the ONNX importer relies on that canonical order).
        main = self.blocks(self.main_conv(x))
        short = self.short_conv(x)
        return self.final_conv(self.attention(torch.cat((main, short), dim=1)))


class CSPNeXt(nn.Module):
    """CSPNeXt-P5 returning only the stride-32 feature of the last stage."""

    def __init__(self, deepen_factor: float, widen_factor: float) -> None:
        super().__init__()
        stem_channels = int(_ARCH_P5[0][0] * widen_factor)
        self.stem = nn.Sequential(
            ConvModule(3, stem_channels // 2, 3, stride=2),
            ConvModule(stem_channels // 2, stem_channels // 2, 3),
            ConvModule(stem_channels // 2, stem_channels, 3),
        )
        for i, (cin, cout, n, add_identity, use_spp) in enumerate(_ARCH_P5, start=1):
            cin, cout = int(cin * widen_factor), int(cout * widen_factor)
            num_blocks = max(round(n * deepen_factor), 1)
            layers: list[nn.Module] = [ConvModule(cin, cout, 3, stride=2)]
            if use_spp:
                layers.append(SPPBottleneck(cout, cout))
            layers.append(CSPLayer(cout, num_blocks, add_identity))
            self.add_module(f"stage{i}", nn.Sequential(*layers))
        self.out_channels = int(_ARCH_P5[-1][1] * widen_factor)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        x = self.stage1(x)
        x = self.stage2(x)
        x = self.stage3(x)
        return self.stage4(x)
