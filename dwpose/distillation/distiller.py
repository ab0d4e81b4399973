"""Two-stage pose distillation (TPD) for any teacher/student pair of the pose registry
(RTMPose -> RTMPose as DWPose, RTMW -> RTMW as the released RTMW-l/m, RTMW -> RTMPose, ...).

Stage 1: a frozen teacher, run online on the same batch, supervises a student:
GT loss + r * feature loss + r * logit KD, r = 1 - epoch / max_epochs. The
feature loss acts on the last feature each head consumes (`forward_features`: the backbone's
stage 4 for RTMPose, the neck's n5 for RTMW), through a 1x1 align conv where the widths
differ. The GT loss is the student's own (`KLDiscretLoss.for_model`) and the KD temperature
follows its beta (10 for RTMPose, 1 for RTMW students), as mmpose's `DWPoseDistiller`.
`gt_loss=False` distils from the teacher alone (labels may then be None); see the class for
the other label-free options (stored teacher logits, no feature loss, no decay).
Stage 2: head-only self-distillation: a fresh student head is trained on the frozen features
of the teacher (the trained model itself; backbone, and neck where the model has one) with the
logit KD loss only; teacher and student are the same architecture. State-dict layout
(`teacher.*`, `student.*`, `distill_losses.loss_fea.align.*`) matches the reference distiller
checkpoints."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from ..errors import InputError
from ..models import TopdownPoseModel, create_model
from ..models.checkpoint import convert_distiller_state_dict
from .losses import FeatureLoss, KLDiscretLoss, LogitKDLoss


def _check_same_body(teacher: TopdownPoseModel, student: TopdownPoseModel) -> None:
    """Stage 2 runs the student's head on the teacher's backbone (and neck), and the converted
    model is that body with the head: both must be one architecture."""
    def body(model: TopdownPoseModel) -> dict[str, tuple[int, ...]]:
        return {k: tuple(v.shape) for k, v in model.state_dict().items() if not k.startswith("head.")}

    if type(teacher) is not type(student) or body(teacher) != body(student):
        raise InputError(f"stage 2 trains a head on the teacher's own features: teacher and student must be the same "
                         f"architecture, got {teacher.config.name} and {student.config.name}")


def decay_factor(epoch: int, max_epochs: int) -> float:
    """r = 1 - epoch / max_epochs (0-based epoch) = the paper's 1 - (t - 1) / t_max."""
    return 1.0 - epoch / max_epochs


class PoseDistiller(nn.Module):
    """Stage 1 options beyond the reference: `gt_loss=False` drops the ground-truth term (the
    paper's "teacher logits only" setting: label-free distillation), `feature_loss=False` the
    feature term, `decay=False` the r(t) factor. `teacher=None` (stage 1 only) distils from
    logits handed to `forward` (`teacher_logits`, e.g. stored by `dwpose label`)."""

    def __init__(
        self,
        teacher: TopdownPoseModel | None,
        student: TopdownPoseModel,
        stage: Literal[1, 2],
        alpha_fea: float = 0.00007,
        kd_weight: float | None = None,
        beta: float | None = None,
        teacher_bn_mode: Literal["train", "eval"] = "train",
        gt_loss: bool = True,
        feature_loss: bool = True,
        decay: bool = True,
    ) -> None:
        super().__init__()
        if stage not in (1, 2):
            raise InputError(f"distillation stage must be 1 or 2, got {stage}")
        if teacher is None and (stage != 1 or feature_loss):
            raise InputError("without a teacher model (stored logits) only stage 1 without the feature loss works")
        if teacher is not None and teacher.input_size != student.input_size:
            raise InputError(f"teacher input {teacher.input_size} and student input {student.input_size} differ")
        if teacher_bn_mode not in ("train", "eval"):
            raise InputError("teacher_bn_mode must be 'train' (reference) or 'eval'")
        if stage == 2:
            _check_same_body(teacher, student)
        self.stage = stage
        self.teacher = teacher
        self.student = student
        # Reference: teacher BN follows model.train() (batch statistics); "eval" freezes them.
        self.teacher_bn_mode = teacher_bn_mode
        self.use_gt_loss = gt_loss
        self.decay = decay
        for p in self.teacher.parameters() if teacher is not None else ():
            p.requires_grad_(False)
        losses: dict[str, nn.Module] = {}
        if stage == 1:
            if feature_loss:
                losses["loss_fea"] = FeatureLoss(student.feature_channels, teacher.feature_channels, alpha_fea)
        else:  # the student's own backbone (and neck) is never run in stage 2
            for name, p in self.student.named_parameters():
                if not name.startswith("head."):
                    p.requires_grad_(False)
        # The student's own GT loss; its beta is the KD temperature (mmpose: head.loss_module.beta).
        self.gt_loss = KLDiscretLoss.for_model(student)
        kd_beta = self.gt_loss.beta if beta is None else beta
        losses["loss_logit"] = LogitKDLoss(kd_weight if kd_weight is not None else (0.1 if stage == 1 else 1.0), kd_beta)
        self.distill_losses = nn.ModuleDict(losses)

    @classmethod
    def build(cls, stage: int, student_arch: str, teacher_arch: str | None, teacher_checkpoint: str | None,
              **kwargs) -> "PoseDistiller":
        """`teacher_arch=None`: no teacher model (logits come with every batch)."""
        teacher = None if teacher_arch is None else create_model(teacher_arch, checkpoint=teacher_checkpoint,
                                                                  eval_mode=False)
        student = create_model(student_arch, eval_mode=False)
        return cls(teacher, student, stage, **kwargs)

    def train(self, mode: bool = True) -> "PoseDistiller":
        super().train(mode)
        if self.teacher_bn_mode == "eval" and self.teacher is not None:
            self.teacher.eval()
        return self

    @property
    def input_size(self) -> tuple[int, int]:
        return self.student.input_size

    @property
    def kd_beta(self) -> float:
        """The temperature (logit multiplier) of the logit KD loss."""
        return float(self.distill_losses["loss_logit"].beta)

    def forward(self, images: torch.Tensor, labels: tuple[torch.Tensor, torch.Tensor] | None,
                weights: torch.Tensor | None, epoch: int, max_epochs: int,
                teacher_logits: tuple[torch.Tensor, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        """The loss terms of one batch (keys starting with `loss` are trained on, the others
        logged). `labels` / `weights` may be None when the GT loss is off (`gt_loss=False`);
        `teacher_logits` given (stored ones) replace the teacher's forward pass."""
        teacher_features = None
        if teacher_logits is None:
            if self.teacher is None:
                raise InputError("this distiller has no teacher model: pass the stored teacher_logits")
            with torch.no_grad():
                teacher_features = self.teacher.extract_features(images)
                teacher_logits = self.teacher.forward_head(teacher_features)
        has_labels = labels is not None and weights is not None
        if self.stage == 1:
            if self.use_gt_loss and not has_labels:
                raise InputError("the GT loss needs labels and keypoint weights (or gt_loss=False)")
            r = decay_factor(epoch, max_epochs) if self.decay else 1.0
            student_features = self.student.extract_features(images)
            student_logits = self.student.forward_head(student_features)
            losses = {"loss_kpt": self.gt_loss(student_logits, labels, weights)} if self.use_gt_loss else {}
            if "loss_fea" in self.distill_losses:
                losses["loss_fea"] = r * self.distill_losses["loss_fea"](student_features[-1], teacher_features[-1])
            losses["loss_logit"] = r * self.distill_losses["loss_logit"](student_logits, teacher_logits)
            return losses
        student_logits = self.student.forward_head(teacher_features)
        losses = {"loss_logit": self.distill_losses["loss_logit"](student_logits, teacher_logits)}
        if has_labels:
            with torch.no_grad():  # logged, not trained on (reference behaviour)
                losses["gt_kpt"] = self.gt_loss(student_logits, labels, weights)
        return losses

    def deploy_state_dict(self, state_dict: dict[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        """Plain pose weights: stage 1 the student; stage 2 teacher backbone (+ neck) + student head."""
        return convert_distiller_state_dict(state_dict if state_dict is not None else self.state_dict(), self.stage)
