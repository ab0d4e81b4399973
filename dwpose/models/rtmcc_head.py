"""RTMCC head: 7x7 conv to one map per keypoint, per-keypoint MLP, GAU across keypoints,
then two linear SimCC classifiers (x bins and y bins)."""

from __future__ import annotations

import torch
from torch import nn

from .gau import GatedAttentionUnit
from .layers import ScaleNorm


class RTMCCHead(nn.Module):
    def __init__(
        self,
        in_channels: int,
        num_keypoints: int,
        input_size: tuple[int, int],
        simcc_split_ratio: float = 2.0,
        hidden_dims: int = 256,
        final_layer_kernel_size: int = 7,
    ) -> None:
        super().__init__()
        width, height = input_size
        feature_size = (width // 32) * (height // 32)
        self.final_layer = nn.Conv2d(
            in_channels, num_keypoints, final_layer_kernel_size,
            padding=final_layer_kernel_size // 2,
        )
        self.mlp = nn.Sequential(ScaleNorm(feature_size), nn.Linear(feature_size, hidden_dims, bias=False))
        self.gau = GatedAttentionUnit(hidden_dims)
        self.cls_x = nn.Linear(hidden_dims, int(width * simcc_split_ratio), bias=False)
        self.cls_y = nn.Linear(hidden_dims, int(height * simcc_split_ratio), bias=False)
        self.init_weights()

    def init_weights(self) -> None:
        """mmpose's head init: convs N(0, 0.001), every Linear N(0, 0.01), biases 0."""
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.normal_(module.weight, 0.0, 0.001 if isinstance(module, nn.Conv2d) else 0.01)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def forward(self, feature: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        tokens = self.final_layer(feature).flatten(2)  # (B, K, h*w)
        tokens = self.gau(self.mlp(tokens))
        return self.cls_x(tokens), self.cls_y(tokens)
