"""The three losses of RTMPose/DWPose training, with the reference reductions kept as they are
(they differ between terms, and the 1.0 gradient clip of distillation makes them matter):

- KLDiscretLoss (ground truth): KL(softmax(label_beta*label) || softmax(beta*pred)) averaged
  over bins, weighted by keypoint weights (and a per-keypoint mask weight), summed over the
  batch, divided by K. RTMPose: beta = label_beta = 10; RTMW: beta 1, label_beta 10, face x0.5
  (each model's settings: `TopdownPoseModel.loss_config`).
- FeatureLoss: alpha * sum over C, H, W of (align(F_s) - F_t)^2, averaged over the batch.
- LogitKDLoss: KL(softmax(beta*T) || softmax(beta*S)) summed over bins and keypoints, averaged
  over the batch, divided by K, times weight; all keypoints, no target weights.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

SimCC = tuple[torch.Tensor, torch.Tensor]


class KLDiscretLoss(nn.Module):
    """mmpose's KLDiscretLoss. `label_beta` scales the labels before their softmax (None: the
    same as `beta`, as the DWPose fork); the keypoints in `mask` have their loss multiplied by
    `mask_weight` (after the target weight, per axis)."""

    def __init__(self, beta: float = 10.0, use_target_weight: bool = True, label_beta: float | None = None,
                 mask: Sequence[int] | None = None, mask_weight: float = 1.0) -> None:
        super().__init__()
        self.beta = beta
        self.label_beta = beta if label_beta is None else label_beta
        self.use_target_weight = use_target_weight
        self.mask = tuple(mask) if mask is not None else None
        self.mask_weight = mask_weight

    @classmethod
    def for_model(cls, model: nn.Module) -> "KLDiscretLoss":
        """The loss a pose model's reference configs train it with (its `loss_config`)."""
        return cls(**getattr(model, "loss_config", {}))

    def forward(self, pred: SimCC, labels: SimCC, weights: torch.Tensor) -> torch.Tensor:
        num_keypoints = pred[0].shape[1]
        keypoint_factor = weights.float() if self.use_target_weight else pred[0].new_ones(pred[0].shape[:2])
        if self.mask is not None:
            mask = keypoint_factor.new_ones(num_keypoints)
            mask[list(self.mask)] = self.mask_weight
            keypoint_factor = keypoint_factor * mask
        loss = pred[0].new_zeros(())
        for logits, label in zip(pred, labels):
            log_q = F.log_softmax(logits.float() * self.beta, dim=-1)
            p = F.softmax(label.float() * self.label_beta, dim=-1)
            kl = F.kl_div(log_q, p, reduction="none").mean(dim=-1)  # (N, K), mean over bins
            loss = loss + (kl * keypoint_factor).sum()
        return loss / num_keypoints


class FeatureLoss(nn.Module):
    """Feature distillation on the last feature the head consumes (RTMPose: backbone stage 4;
    RTMW: the neck output n5), with a 1x1 align conv when the channel counts differ (its
    state-dict name `align` matches the reference distiller)."""

    def __init__(self, student_channels: int, teacher_channels: int, alpha: float = 0.00007) -> None:
        super().__init__()
        self.alpha = alpha
        self.align = nn.Conv2d(student_channels, teacher_channels, 1) if student_channels != teacher_channels else None

    def forward(self, student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
        if self.align is not None:
            student = self.align(student)
        return F.mse_loss(student.float(), teacher.float(), reduction="sum") / student.shape[0] * self.alpha


class LogitKDLoss(nn.Module):
    def __init__(self, weight: float = 0.1, beta: float = 10.0) -> None:
        super().__init__()
        self.weight = weight
        self.beta = beta

    def forward(self, student: SimCC, teacher: SimCC) -> torch.Tensor:
        num_keypoints = student[0].shape[1]
        loss = student[0].new_zeros(())
        for s, t in zip(student, teacher):
            log_s = F.log_softmax(s.float() * self.beta, dim=-1)
            p_t = F.softmax(t.detach().float() * self.beta, dim=-1)
            kl = F.kl_div(log_s, p_t, reduction="none").sum(dim=-1)  # (N, K), sum over bins
            loss = loss + kl.sum(dim=1).mean()
        return self.weight * loss / num_keypoints
