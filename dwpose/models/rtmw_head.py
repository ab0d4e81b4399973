"""RTMW head: the RTMCC head extended to two feature levels. The stride-32 map gives one
token per keypoint directly; a PixelShuffle-upsampled, convolved copy of it, concatenated with
the stride-16 map, gives a second one; the two (128 each) are joined, mixed across keypoints
by the GAU and classified into SimCC x / y bins."""

from __future__ import annotations

import torch
from torch import nn

from .gau import GatedAttentionUnit
from .layers import ConvModule, ScaleNorm


class RTMWHead(nn.Module):
    """`forward((n4, n5))` -> raw logits `(simcc_x (B, K, W*r), simcc_y (B, K, H*r))`, with n5
    of `in_channels` C at stride 32 and n4 of C/2 at stride 16. Child names (`conv_dec`,
    `final_layer`, `final_layer2`, `mlp`, `mlp2`, `gau`, `cls_x`, `cls_y`) match mmpose."""

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
        tokens_top = (width // 32) * (height // 32)  # F: one value per stride-32 location
        tokens_bottom = 4 * tokens_top                  # stride 16
        kernel = final_layer_kernel_size

        def conv(cin: int, cout: int) -> ConvModule:
            return ConvModule(cin, cout, kernel, activation="relu")

        self.ps = nn.PixelShuffle(2)
        self.conv_dec = conv(in_channels // 4, in_channels // 4)
        self.final_layer = conv(in_channels, num_keypoints)
        self.final_layer2 = conv(in_channels // 4 + in_channels // 2, num_keypoints)
        self.mlp = nn.Sequential(ScaleNorm(tokens_top), nn.Linear(tokens_top, hidden_dims // 2, bias=False))
        self.mlp2 = nn.Sequential(ScaleNorm(tokens_bottom), nn.Linear(tokens_bottom, hidden_dims // 2, bias=False))
        self.gau = GatedAttentionUnit(hidden_dims)
        self.cls_x = nn.Linear(hidden_dims, int(width * simcc_split_ratio), bias=False)
        self.cls_y = nn.Linear(hidden_dims, int(height * simcc_split_ratio), bias=False)
        self.init_weights()

    def init_weights(self) -> None:
        """mmpose's effective init for training from scratch: the ConvModules re-initialise
        their convs Kaiming-normal (fan_out, ReLU gain) after the head's own init_cfg, so the
        N(0, 0.001) listed there never applies to them; every Linear N(0, 0.01)."""
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, 0.0, 0.01)

    def forward(self, features: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        enc_b, enc_t = features
        # Stride-32 branch first: the module call order is the ONNX importer's canonical order.
        top = self.mlp(self.final_layer(enc_t).flatten(2))                 # (B, K, 128)
        decoded = self.conv_dec(self.ps(enc_t))                             # (B, C/4, 2h, 2w)
        bottom = self.final_layer2(torch.cat((decoded, enc_b), dim=1))      # (B, K, 2h, 2w)
        bottom = self.mlp2(bottom.flatten(2))                               # (B, K, 128)
        tokens = self.gau(torch.cat((top, bottom), dim=-1))
        return self.cls_x(tokens), self.cls_y(tokens)
