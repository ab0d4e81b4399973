"""Typed training configuration, read from small TOML recipe files (see `configs/`)."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..errors import ConfigError, InputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


# The 14 training sets of mmpose's RTMW "cocktail14" recipe (architecture_rtmw.md §8).
COCKTAIL14 = ("COCO-WholeBody", "Halpe", "UBody", "AI Challenger", "CrowdPose", "MPII", "sub-JHMDB", "PoseTrack18",
              "Human-Art", "WFLW", "300W", "COFW", "LaPa", "InterHand2.6M")


@dataclass
class SourceConfig:
    """One more training source (`[[data.extra]]`): a COCO-WholeBody style annotation file, such
    as `dwpose label`'s annotations.json. `images`: the folder its `file_name`s are relative to;
    left out, the `image_root` the file records (`dwpose label` writes one).

    `weight`: samples of this source drawn per epoch = round(weight x its instances) (the
    COCO-WholeBody and UBody instances count once each); a fraction draws a fresh subset every
    epoch, more than 1 repeats. `keypoints = false` uses the boxes only (every non-crowd box;
    the keypoints, if any, are ignored): for label-free distillation. `logits`: a `dwpose label
    --save-logits` run folder whose stored teacher logits replace the online teacher
    (`distill.teacher_logits = "offline"`)."""

    ann: str
    images: str | None = None
    weight: float = 1.0
    keypoints: bool = True
    logits: str | None = None
    name: str | None = None


@dataclass
class DataConfig:
    """Training sources. COCO-WholeBody: `coco_ann` + `coco_images`; UBody: `ubody_root`
    (+ `ubody_split` to exclude the intra-scene test videos); `extra`: more sources
    (`[[data.extra]]` tables, see SourceConfig), e.g. pseudo-labelled or unlabelled data. `lacks`
    documents the datasets of the reference recipe that this one trains without (names from
    `COCKTAIL14`; checked, not loaded)."""

    coco_ann: str | None = None
    coco_images: str | None = None
    ubody_root: str | None = None
    ubody_split: str | None = None
    ubody_scenes: list[str] | None = None
    extra: list[SourceConfig] = field(default_factory=list)
    lacks: list[str] | None = None


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
    stage: Literal[1, 2]
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
    # Augmentation recipe: colour jitter and what the switch changes (data/transforms.py,
    # `pipeline_stages`): "rtmpose" (DWPose configs) or "rtmw" (cocktail14 configs).
    pipeline: Literal["rtmpose", "rtmw"] = "rtmpose"
    augment: bool = True                    # false: plain crops (debugging, overfitting checks)
    ema_momentum: float = 0.0002
    ema_gamma: float = 2000.0
    clip_grad: float | None = None
    amp: Literal["none", "bf16", "fp16"] = "none"  # names of backends.TORCH_DTYPES (the trainer maps them there)
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


@dataclass(frozen=True)
class _Range:
    """Allowed numeric values beyond the type: low (exclusive when `open_low`) .. high."""

    low: float | None = None
    high: float | None = None
    open_low: bool = False

    def holds(self, value: float) -> bool:
        if self.low is not None and (value <= self.low if self.open_low else value < self.low):
            return False
        return self.high is None or value <= self.high

    def __str__(self) -> str:
        low = "" if self.low is None else f"{'>' if self.open_low else '>='} {self.low:g}"
        return f"{low} and <= {self.high:g}" if self.high is not None else low


_AT_LEAST_0, _AT_LEAST_1, _POSITIVE = _Range(0), _Range(1), _Range(0, open_low=True)
# Sensible values per field (None values of optional fields are always allowed).
_RANGES: dict[str, dict[str, _Range]] = {
    "TrainConfig": {
        "epochs": _AT_LEAST_1, "batch_size": _AT_LEAST_1, "lr": _POSITIVE, "weight_decay": _AT_LEAST_0,
        "warmup_iters": _AT_LEAST_0, "warmup_factor": _Range(0, 1, open_low=True),
        "schedule_epochs": _AT_LEAST_1, "cosine_start_epoch": _AT_LEAST_0, "eta_min_factor": _Range(0, 1),
        "switch_epoch": _AT_LEAST_0, "scale_factor": _POSITIVE, "rotate_factor": _Range(0, 180),
        "ema_momentum": _Range(0, 1, open_low=True), "ema_gamma": _POSITIVE, "clip_grad": _POSITIVE,
        "workers": _AT_LEAST_0, "seed": _AT_LEAST_0, "val_interval": _AT_LEAST_1,
        "checkpoint_every_iters": _AT_LEAST_1, "max_iters": _AT_LEAST_1, "log_every": _AT_LEAST_1,
    },
    "ValConfig": {"batch_size": _AT_LEAST_1},
    "DistillConfig": {"alpha_fea": _AT_LEAST_0, "kd_weight": _AT_LEAST_0},
    "SourceConfig": {"weight": _POSITIVE},
}


class _Mismatch(Exception):
    """A value that does not fit its annotation; `expected` says what would."""

    def __init__(self, expected: str) -> None:
        super().__init__(expected)
        self.expected = expected


def _describe(annotation: Any) -> str:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        kinds = [_describe(a) for a in args if a is not type(None)]
        return " or ".join(kinds) + (" (or null to unset)" if type(None) in args else "")
    if origin is Literal:
        return "one of " + ", ".join(json.dumps(a) for a in args)
    if origin in (tuple, list):
        item = "numbers" if args and args[0] is float else "strings" if args and args[0] is str else "values"
        count = f"{len(args)} " if origin is tuple and Ellipsis not in args else ""
        return f"a list of {count}{item}"
    if origin is dict or annotation is dict:
        return "a table"
    if dataclasses.is_dataclass(annotation):
        return "a table"
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string"}.get(annotation, str(annotation))


def _coerce(value: Any, annotation: Any, path: str, dotted: str) -> Any:
    """`value` checked against a field annotation (and converted: ints to floats, lists to
    tuples, tables to nested configs); raises _Mismatch."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for option in (a for a in args if a is not type(None)):
            try:
                return _coerce(value, option, path, dotted)
            except _Mismatch:
                continue
        raise _Mismatch(_describe(annotation))
    if origin is Literal:
        if any(type(value) is type(a) and value == a for a in args):
            return value
        raise _Mismatch(_describe(annotation))
    if dataclasses.is_dataclass(annotation):
        if not isinstance(value, dict):
            raise _Mismatch("a table")
        return _build(annotation, value, path, dotted)
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise _Mismatch(_describe(annotation))
        if origin is tuple and Ellipsis not in args:
            if len(value) != len(args):
                raise _Mismatch(_describe(annotation))
            return tuple(_coerce(v, a, path, dotted) for v, a in zip(value, args))
        return origin(_coerce(v, args[0], path, dotted) for v in value) if args else origin(value)
    if origin is dict or annotation is dict:
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            raise _Mismatch("a table")
        return dict(value)
    if annotation is bool:
        if isinstance(value, bool):
            return value
    elif annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif annotation is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(value):
                raise _Mismatch("a finite number")
            return float(value)
    elif annotation is str:
        if isinstance(value, str):
            return value
    else:  # pragma: no cover - a field type this reader does not know is a bug here
        raise TypeError(f"unsupported config annotation {annotation!r}")
    raise _Mismatch(_describe(annotation))


def _shown(value: Any) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def _out_of_range(value: Any, allowed: _Range) -> bool:
    numbers = value if isinstance(value, (tuple, list)) else (value,)
    return any(isinstance(v, (int, float)) and not allowed.holds(v) for v in numbers)


def _build(cls, values: dict, path: str, prefix: str = ""):
    """A config dataclass from a TOML table, every field checked against its type annotation
    and its range; errors name the file, the field and the value."""
    where = f"{path}: [{prefix.rstrip('.')}]" if prefix else path
    if not isinstance(values, dict):
        raise ConfigError(f"{where}: expected a table")
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(values) - set(names)
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}; allowed: {', '.join(names)}")
    hints = typing.get_type_hints(cls)
    ranges = _RANGES.get(cls.__name__, {})
    kwargs = {}
    for key, value in values.items():
        dotted = f"{prefix}{key}"
        try:
            kwargs[key] = _coerce(value, hints[key], path, f"{dotted}.")
        except _Mismatch as exc:
            raise ConfigError(f"{path}: {dotted} = {_shown(value)}: expected {exc.expected}") from None
        if key in ranges and _out_of_range(kwargs[key], ranges[key]):
            raise ConfigError(f"{path}: {dotted} = {_shown(value)}: must be {ranges[key]}")
    missing = [f.name for f in names.values()
               if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING and f.name not in kwargs]
    if missing:
        raise ConfigError(f"{where}: missing field(s) {', '.join(missing)}")
    return cls(**kwargs)


def _check_consistency(config: TrainConfig, path: str) -> None:
    low, high = config.scale_factor
    if low > high:
        raise ConfigError(f"{path}: scale_factor = {_shown(list(config.scale_factor))}: the first (lowest) factor "
                          "must not exceed the second")
    if not config.name or config.name in (".", "..") or any(sep in config.name for sep in "/\\"):
        raise ConfigError(f"{path}: name = {_shown(config.name)}: must be a plain folder name (work_dirs/<name>)")
    lacks = config.data.lacks or []
    unknown = [name for name in lacks if name not in COCKTAIL14]
    if unknown:
        raise ConfigError(f"{path}: data.lacks = {_shown(lacks)}: unknown dataset(s) {', '.join(unknown)}; "
                          f"names are {', '.join(COCKTAIL14)}")
    loaded = {"COCO-WholeBody": config.data.coco_ann, "UBody": config.data.ubody_root}
    contradicted = [name for name in lacks if loaded.get(name)]
    if contradicted or len(set(lacks)) != len(lacks):
        problem = f"lists {', '.join(contradicted)}, which this recipe loads" if contradicted else "repeats a name"
        raise ConfigError(f"{path}: data.lacks = {_shown(lacks)}: {problem}")


def load_config(path: str | os.PathLike, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Read a TOML recipe; relative data paths are taken from the current directory.
    `overrides` maps dotted names (e.g. "val.det_file") to values."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config not found: {path}")
    try:
        values = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    for dotted, value in (overrides or {}).items():
        node = values
        *parents, last = dotted.split(".")
        for depth, parent in enumerate(parents):
            node = node.setdefault(parent, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {dotted}: {'.'.join(parents[:depth + 1])} is not a table")
        node[last] = value
    values.setdefault("name", path.stem)
    config = _build(TrainConfig, values, str(path))
    _check_consistency(config, str(path))
    _check_sources(config, str(path))
    from ..models.registry import canonical_name, get_family

    for name in (config.model, config.distill.teacher_model if config.distill else None):
        if name is None:
            continue
        try:
            kind = get_family(name).kind
        except ValueError as exc:
            raise ConfigError(f"{path}: {exc}") from None
        if kind != "pose":
            raise ConfigError(f"{path}: {name} is a {kind}, not a pose model")
    distill = config.distill
    if distill is not None and distill.stage == 2 and canonical_name(distill.teacher_model) != canonical_name(config.model):
        raise ConfigError(f"{path}: distill.teacher_model = {_shown(distill.teacher_model)}: stage 2 trains a head on "
                          f"the teacher's own features, so the teacher must be the model itself ({config.model})")
    return config


def _check_sources(config: TrainConfig, where: str) -> None:
    """What the sources and the distillation settings must agree on (types and ranges are
    checked by `_build`)."""
    distill = config.distill
    if distill is None:
        if any(not s.keypoints for s in config.data.extra):
            raise ConfigError(f"{where}: a source with keypoints = false has no labels to train on; "
                              "it needs a [distill] section (teacher logits)")
        return
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


def parse_overrides(pairs: list[str] | None) -> dict:
    """`--set key=value` pairs as the overrides of `load_config`; values parsed as JSON when possible
    (numbers, booleans, null), else kept as strings."""
    out = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise InputError(f"--set expects key=value, got {pair!r}")
        key, value = pair.split("=", 1)
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out
