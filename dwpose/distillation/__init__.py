"""Two-stage pose distillation (TPD): losses and the distiller."""

from .distiller import PoseDistiller, decay_factor
from .losses import FeatureLoss, KLDiscretLoss, LogitKDLoss

__all__ = ["FeatureLoss", "KLDiscretLoss", "LogitKDLoss", "PoseDistiller", "decay_factor"]
