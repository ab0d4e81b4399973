"""CSPNeXt backbone (arch P5) of RTMPose and RTMW."""

from __future__ import annotations

import torch
from torch import nn

from ..errors import InputError
from .layers import ConvModule, CSPLayer, SPPBottleneck

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
