"""Gated attention unit (the RTMCC block): self-attention over keypoint tokens with a
squared-ReLU kernel, gated by a SiLU branch."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .layers import Scale, ScaleNorm


class GatedAttentionUnit(nn.Module):
    """RTMCCBlock as configured by RTMPose: self-attention, no relative bias, no dropout.

    Parameter names (`uv`, `o`, `gamma`, `beta`, `ln`, `res_scale`) match mmpose checkpoints.
    """

    def __init__(self, dim: int = 256, expansion_factor: int = 2, s: int = 128) -> None:
        super().__init__()
        self.s = s
        self.e = int(dim * expansion_factor)
        # Registration order = mmpose's state-dict order (gamma, beta, o, uv, ln, res_scale).
        self.o = nn.Linear(self.e, dim, bias=False)
        self.uv = nn.Linear(dim, 2 * self.e + s, bias=False)
        self.gamma = nn.Parameter(torch.rand(2, s))
        self.beta = nn.Parameter(torch.rand(2, s))
        self.ln = ScaleNorm(dim)
        self.res_scale = Scale(dim)
        nn.init.xavier_uniform_(self.uv.weight)
        nn.init.xavier_uniform_(self.o.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = F.silu(self.uv(self.ln(x)))
        u, v, base = torch.split(z, [self.e, self.e, self.s], dim=-1)
        qk = base.unsqueeze(2) * self.gamma + self.beta  # (B, K, 2, s)
        q, k = qk.unbind(dim=2)
        # Squared ReLU of scaled dot products; no softmax and no 1/K normalisation.
        kernel = F.relu(torch.bmm(q, k.transpose(1, 2)) / math.sqrt(self.s)).square()
        return self.res_scale(x) + self.o(u * torch.bmm(kernel, v))
