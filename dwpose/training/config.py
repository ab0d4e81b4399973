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
class SourceConfig:
    """One more training source (`[[data.extra]]`): a COCO-WholeBody style annotation file, such
    as `dwpose label`'s annotations.json (its run folder is the image root).

    `weight`: samples of this source drawn per epoch = round(weight x its instances) (the
    COCO-WholeBody and UBody instances count once each); a fraction draws a fresh subset every
    epoch, more than 1 repeats. `keypoints = false` uses the boxes only (every non-crowd box;
    the keypoints, if any, are ignored): for label-free distillation. `logits`: a `dwpose label
    --save-logits` run folder whose stored teacher logits replace the online teacher
    (`distill.teacher_logits = "offline"`)."""

    ann: str
    images: str
    weight: float = 1.0
    keypoints: bool = True
    logits: str | None = None
    name: str | None = None


@dataclass
class DataConfig:
    """Training sources. COCO-WholeBody: `coco_ann` + `coco_images`; UBody: `ubody_root`
    (+ `ubody_split` to exclude the intra-scene test videos); `extra`: more sources
    (`[[data.extra]]` tables, see SourceConfig), e.g. pseudo-labelled or unlabelled data."""

    coco_ann: str | None = None
    coco_images: str | None = None
    ubody_root: str | None = None
    ubody_split: str | None = None
    ubody_scenes: list[str] | None = None
    extra: list[SourceConfig] = field(default_factory=list)


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
    # Stage 1 loss terms. gt_loss = false with only the logit KD left is the paper's "teacher
    # logits only" setting: label-free distillation on boxes alone.
    gt_loss: bool = True
    feature_loss: bool = True
    decay: bool = True                      # r = 1 - epoch/max_epochs on the distillation terms
    # "online": the teacher runs on every batch; "offline": its logits come from the sources'
    # `logits` (a `dwpose label --save-logits` run; no teacher weights, no augmentation).
    teacher_logits: Literal["online", "offline"] = "online"


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
        elif cls is DataConfig and key == "extra":
            if not isinstance(value, list):
                raise ConfigError(f"{where}.extra: expected a list of tables ([[data.extra]])")
            value = [_build(SourceConfig, v, f"{where}.extra[{i}]") for i, v in enumerate(value)]
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
    _check_sources(config, str(path))
    from ..models.registry import get_config

    try:
        get_config(config.model)
        if config.distill:
            get_config(config.distill.teacher_model)
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return config


def _check_sources(config: TrainConfig, where: str) -> None:
    """What the sources and the distillation settings must agree on."""
    for i, source in enumerate(config.data.extra):
        if not isinstance(source.weight, (int, float)) or isinstance(source.weight, bool) or source.weight <= 0:
            raise ConfigError(f"{where}: data.extra[{i}].weight must be a positive number, got {source.weight!r}")
        if not isinstance(source.keypoints, bool):
            raise ConfigError(f"{where}: data.extra[{i}].keypoints must be true or false")
    distill = config.distill
    if distill is None:
        if any(not s.keypoints for s in config.data.extra):
            raise ConfigError(f"{where}: a source with keypoints = false has no labels to train on; "
                              "it needs a [distill] section (teacher logits)")
        return
    if distill.teacher_logits not in ("online", "offline"):
        raise ConfigError(f"{where}: distill.teacher_logits must be 'online' or 'offline'")
    if not distill.gt_loss and distill.stage != 1:
        raise ConfigError(f"{where}: distill.gt_loss = false is a stage-1 setting (stage 2 has no GT loss anyway)")
    if distill.teacher_logits == "offline":
        if distill.stage != 1 or distill.feature_loss or distill.gt_loss:
            raise ConfigError(f"{where}: offline teacher logits need stage = 1, feature_loss = false and "
                              "gt_loss = false (stored logits are the only signal)")
        if config.data.coco_ann or config.data.ubody_root or not config.data.extra \
                or any(s.logits is None for s in config.data.extra):
            raise ConfigError(f"{where}: offline teacher logits need every source to be a [[data.extra]] "
                              "with its `logits` run folder")
        if config.augment:
            raise ConfigError(f"{where}: offline teacher logits were computed on the plain crops: set augment = false")
    elif not distill.gt_loss and not distill.feature_loss and distill.kd_weight == 0:
        raise ConfigError(f"{where}: every loss term is off")
