"""AdamW with the RTMPose no-decay rules, the warm-up / flat / cosine LR schedule, and the
exponential-momentum EMA (mmdet ExpMomentumEMA)."""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

_NORM_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm, nn.GroupNorm, nn.LayerNorm)


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """No decay for norm-layer weights/biases and for any other parameter named `bias`;
    everything else (including GAU gamma/beta, residual scale and ScaleNorm gains) decays."""
    decay, no_decay, seen = [], [], set()
    for module in model.modules():
        for name, param in module.named_parameters(recurse=False):
            if not param.requires_grad or id(param) in seen:
                continue
            seen.add(id(param))
            (no_decay if isinstance(module, _NORM_TYPES) or name == "bias" else decay).append(param)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def lr_factor(iteration: int, iters_per_epoch: int, warmup_iters: int, warmup_factor: float,
              cosine_start_epoch: int, schedule_epochs: int, eta_min_factor: float) -> float:
    """Multiplier of the base LR at a global iteration: linear warm-up from `warmup_factor`,
    flat, then per-iteration cosine to `eta_min_factor` between cosine_start and the end."""
    factor = 1.0
    if iteration < warmup_iters:
        factor = warmup_factor + (1.0 - warmup_factor) * iteration / warmup_iters
    start = cosine_start_epoch * iters_per_epoch
    length = (schedule_epochs - cosine_start_epoch) * iters_per_epoch
    if iteration >= start and length > 0:
        progress = min((iteration - start) / length, 1.0)
        factor *= eta_min_factor + (1 - eta_min_factor) * (1 + math.cos(math.pi * progress)) / 2
    return factor


class ExpMomentumEMA:
    """Averaged copy of a model: m_t = (1 - m) exp(-(1 + t) / gamma) + m; ema <- lerp(ema, p, m_t)
    for every floating parameter and buffer; at t = 0 a plain copy."""

    def __init__(self, model: nn.Module, momentum: float = 0.0002, gamma: float = 2000.0) -> None:
        self.module = copy.deepcopy(model).eval()
        for p in self.module.parameters():
            p.requires_grad_(False)
        self.momentum = momentum
        self.gamma = gamma
        self.steps = 0

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        source = model.state_dict()
        if self.steps == 0:
            for key, value in self.module.state_dict().items():
                value.copy_(source[key])
        else:
            m = (1 - self.momentum) * math.exp(-(1 + self.steps) / self.gamma) + self.momentum
            for key, value in self.module.state_dict().items():
                if value.dtype.is_floating_point:
                    value.lerp_(source[key].to(value.dtype), m)
        self.steps += 1

    def state_dict(self) -> dict:
        return {"module": self.module.state_dict(), "steps": self.steps}

    def load_state_dict(self, state: dict) -> None:
        self.module.load_state_dict(state["module"])
        self.steps = int(state["steps"])
