"""Building blocks shared by the backbone and the head.

Child-module names (`conv`, `bn`, `depthwise_conv`, `pointwise_conv`, `fc`, `g`, `scale`) follow
the mmcv/mmpose layout so that official checkpoints load with strict key matching.
"""

from __future__ import annotations

import torch
from torch import nn

# The RTMPose configs replace CSPNeXt's BN default with SyncBN(), whose builder keeps PyTorch's
# momentum 0.1 and sets eps 1e-5; inference numerics depend on this eps.
BN_EPS = 1e-5
BN_MOMENTUM = 0.1


class ConvModule(nn.Module):
    """Conv2d (no bias) -> BatchNorm2d -> SiLU, the mmcv ConvModule as RTMPose uses it."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        groups: int = 1,
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(
            in_channels, out_channels, kernel_size, stride=stride,
            padding=kernel_size // 2, groups=groups, bias=False,
        )
        self.bn = nn.BatchNorm2d(out_channels, eps=BN_EPS, momentum=BN_MOMENTUM)
        self.activate = nn.SiLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activate(self.bn(self.conv(x)))


class DepthwiseSeparableConvModule(nn.Module):
    """Depthwise kxk ConvModule followed by a pointwise 1x1 ConvModule."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int) -> None:
        super().__init__()
        self.depthwise_conv = ConvModule(in_channels, in_channels, kernel_size, groups=in_channels)
        self.pointwise_conv = ConvModule(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise_conv(self.depthwise_conv(x))


class ChannelAttention(nn.Module):
    """Squeeze-excitation without reduction: global pool -> 1x1 conv (bias) -> hard sigmoid."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.global_avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Conv2d(channels, channels, 1, bias=True)
        self.act = nn.Hardsigmoid(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.act(self.fc(self.global_avgpool(x)))


class SPPBottleneck(nn.Module):
    """Spatial pyramid pooling: 1x1 reduce, max-pool at several sizes, concat, 1x1 fuse."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel_sizes: tuple[int, ...] = (5, 9, 13)
    ) -> None:
        super().__init__()
        mid = in_channels // 2
        self.conv1 = ConvModule(in_channels, mid, 1)
        self.poolings = nn.ModuleList(
            nn.MaxPool2d(kernel_size=k, stride=1, padding=k // 2) for k in kernel_sizes
        )
        self.conv2 = ConvModule(mid * (len(kernel_sizes) + 1), out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        return self.conv2(torch.cat([x] + [pool(x) for pool in self.poolings], dim=1))


class ScaleNorm(nn.Module):
    """RMS-style norm with one learnable gain: x / max(||x|| * dim^-0.5, eps) * g."""

    def __init__(self, dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.scale = dim ** -0.5  # a constant, not part of the state dict
        self.eps = eps
        self.g = nn.Parameter(torch.ones(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        norm = torch.norm(x, p=2, dim=-1, keepdim=True) * self.scale
        return x / norm.clamp(min=self.eps) * self.g


class Scale(nn.Module):
    """Learnable per-channel scale of the GAU residual shortcut."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale
