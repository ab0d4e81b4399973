"""CSPNeXtPAFPN neck of RTMW: a top-down path (stride 32 -> 8) and a bottom-up path
(stride 8 -> 32) of CSP layers over the backbone's (C3, C4, C5), returning (n4, n5).

Module names (`reduce_layers`, `top_down_blocks`, `downsamples`, `bottom_up_blocks`) follow
mmpose/mmdet so official checkpoints load strictly. With `out_channels=None` (RTMW's setting)
there are no output convolutions.
"""

from __future__ import annotations

import torch
from torch import nn

from .layers import ConvModule, CSPLayer


class CSPNeXtPAFPN(nn.Module):
    def __init__(
        self,
        in_channels: tuple[int, int, int],
        num_csp_blocks: int = 2,
        expand_ratio: float = 0.5,
    ) -> None:
        super().__init__()
        c3, c4, c5 = in_channels
        self.in_channels = tuple(in_channels)

        def csp(cin: int, cout: int) -> CSPLayer:
            # Neck CSP layers: no identity shortcut, no channel attention, depth not scaled.
            return CSPLayer(cin, cout, num_csp_blocks, add_identity=False, channel_attention=False,
                            expand_ratio=expand_ratio)

        self.upsample = nn.Upsample(scale_factor=2, mode="nearest")
        self.reduce_layers = nn.ModuleList((ConvModule(c5, c4, 1), ConvModule(c4, c3, 1)))
        self.top_down_blocks = nn.ModuleList((csp(2 * c4, c4), csp(2 * c3, c3)))
        self.downsamples = nn.ModuleList((ConvModule(c3, c3, 3, stride=2), ConvModule(c4, c4, 3, stride=2)))
        self.bottom_up_blocks = nn.ModuleList((csp(2 * c3, c4), csp(2 * c4, c5)))
        self.out_channels = (c4, c5)

    def forward(self, features: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, torch.Tensor]:
        """(c3, c4, c5) at strides (8, 16, 32) -> (n4, n5) at strides (16, 32). In every concat
        the resampled map comes first; the bottom-up laterals are the reduced maps p4, p5."""
        c3, c4, c5 = features
        p5 = self.reduce_layers[0](c5)
        t4 = self.top_down_blocks[0](torch.cat((self.upsample(p5), c4), dim=1))
        p4 = self.reduce_layers[1](t4)
        n3 = self.top_down_blocks[1](torch.cat((self.upsample(p4), c3), dim=1))
        n4 = self.bottom_up_blocks[0](torch.cat((self.downsamples[0](n3), p4), dim=1))
        n5 = self.bottom_up_blocks[1](torch.cat((self.downsamples[1](n4), p5), dim=1))
        return n4, n5
