"""Typed training configuration, read from small TOML recipe files (see `configs/`)."""

from __future__ import annotations

import dataclasses
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..errors import DWPoseError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class ConfigError(DWPoseError, ValueError):
    """A recipe file that is missing, malformed or has wrong fields."""


@dataclass
class DataConfig:
    """Training sources. COCO-WholeBody: `coco_ann` + `coco_images`; UBody: `ubody_root`
    (+ `ubody_split` to exclude the intra-scene test videos)."""

    coco_ann: str | None = None
    coco_images: str | None = None
    ubody_root: str | None = None
    ubody_split: str | None = None
    ubody_scenes: list[str] | None = None


@dataclass
class ValConfig:
    ann_file: str
    images: str
    det_file: str | None = None     # detection results; None = ground-truth boxes
    flip_test: bool = True
    use_area: bool = True
    batch_size: int = 32


@dataclass
class DistillConfig:
    stage: int
    teacher_model: str
    teacher_checkpoint: str | None
    alpha_fea: float = 0.00007
    kd_weight: float | None = None          # default 0.1 (stage 1), 1.0 (stage 2)
    teacher_bn_mode: Literal["train", "eval"] = "train"


@dataclass
class TrainConfig:
    model: str
    data: DataConfig
    val: ValConfig | None = None
    distill: DistillConfig | None = None
    name: str = "run"
    epochs: int = 270
    batch_size: int = 64                    # per process (the loss sums over it, as the reference)
    lr: float = 4e-3
    weight_decay: float = 0.05
    warmup_iters: int = 1000
    warmup_factor: float = 1e-5
    # The LR schedule and pipeline switch are computed for `schedule_epochs` (default: epochs).
    # Stage 2 of the reference inherits 270 here in a 60-epoch run (LR flat, no switch).
    schedule_epochs: int | None = None
    cosine_start_epoch: int | None = None   # default schedule_epochs // 2
    eta_min_factor: float = 0.05
    switch_epoch: int | None = None         # default schedule_epochs - 30
    scale_factor: tuple[float, float] = (0.6, 1.4)
    rotate_factor: float = 80.0
    augment: bool = True                    # false: plain crops (debugging, overfitting checks)
    ema_momentum: float = 0.0002
    ema_gamma: float = 2000.0
    clip_grad: float | None = None
    amp: Literal["none", "bf16", "fp16"] = "none"
    workers: int = 4
    seed: int = 21
    val_interval: int = 10
    checkpoint_every_iters: int = 500
    pretrained_backbone: str | None = None
    max_iters: int | None = None            # stop early (quick runs, tests)
    log_every: int = 10
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def effective_schedule_epochs(self) -> int:
        return self.schedule_epochs or self.epochs

    @property
    def effective_switch_epoch(self) -> int:
        return self.switch_epoch if self.switch_epoch is not None else self.effective_schedule_epochs - 30

    @property
    def effective_cosine_start(self) -> int:
        return self.cosine_start_epoch if self.cosine_start_epoch is not None else self.effective_schedule_epochs // 2


def _build(cls, values: dict, where: str):
    if not isinstance(values, dict):
        raise ConfigError(f"{where}: expected a table")
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(values) - set(names)
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}; allowed: {', '.join(names)}")
    kwargs = {}
    for key, value in values.items():
        nested = {"data": DataConfig, "val": ValConfig, "distill": DistillConfig}.get(key) if cls is TrainConfig else None
        if nested is not None:
            value = _build(nested, value, f"{where}.{key}")
        elif key in ("scale_factor",) and isinstance(value, list):
            value = tuple(float(v) for v in value)
        kwargs[key] = value
    missing = [f.name for f in names.values()
               if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING and f.name not in kwargs]
    if missing:
        raise ConfigError(f"{where}: missing field(s) {', '.join(missing)}")
    return cls(**kwargs)


def load_config(path: str | os.PathLike, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Read a TOML recipe; relative data paths are taken from the current directory.
    `overrides` maps dotted names (e.g. "val.det_file") to values."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config not found: {path}")
    try:
        values = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    for dotted, value in (overrides or {}).items():
        node = values
        *parents, last = dotted.split(".")
        for parent in parents:
            node = node.setdefault(parent, {})
        node[last] = value
    values.setdefault("name", path.stem)
    config = _build(TrainConfig, values, str(path))
    from ..models.registry import get_family

    for name in (config.model, config.distill.teacher_model if config.distill else None):
        if name is None:
            continue
        try:
            kind = get_family(name).kind
        except ValueError as exc:
            raise ConfigError(f"{path}: {exc}") from None
        if kind != "pose":
            raise ConfigError(f"{path}: {name} is a {kind}, not a pose model")
    return config
