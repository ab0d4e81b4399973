"""Training: typed recipes, optimiser/schedule/EMA, and the trainer."""

from .config import DataConfig, DistillConfig, TrainConfig, ValConfig, load_config
from .optim import ExpMomentumEMA, lr_factor, param_groups
from .trainer import Trainer

__all__ = ["DataConfig", "DistillConfig", "ExpMomentumEMA", "TrainConfig", "Trainer", "ValConfig",
           "load_config", "lr_factor", "param_groups"]
