"""One registry for every model family, in timm's shape: `create_model(name, checkpoint=...)`
dispatches by name to the family that registered it.

A family (`ModelFamily`) lives in its own module (`rtmpose.py`, `rtmw.py`, `yolox.py`) with
its config table, the network it builds, its checkpoint filter (which tensors of a file are
its weights) and its architecture detection (which registered config a state dict or an ONNX
graph holds, derived from the family's own config table). Families register themselves when
`dwpose.models` is imported.

    >>> import dwpose
    >>> dwpose.list_models(family="rtmw")
    ['rtmw-m-256x192', 'rtmw-m-384x288', 'rtmw-l-256x192', 'rtmw-l-384x288', 'rtmw-x-256x192', 'rtmw-x-384x288']
    >>> model = dwpose.create_model("rtmw-l-384x288", checkpoint="rtmw-dw-x-l_simcc-cocktail14_270e-384x288-20231122.pth")

A new family subclasses `ModelFamily`, fills in its class attributes, implements
`detect_state_dict` / `detect_onnx`, and calls `register_family` at the end of its module
(imported from `dwpose/models/__init__.py`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import torch
from torch import nn

from ..errors import CheckpointError, InputError
from .checkpoint import (WeightsSlot, describe_state_dict, extract_state_dict, load_state_dict_strict,
    read_checkpoint_file)
from .onnx_probe import OnnxSummary, probe_onnx

Kind = Literal["pose", "detector"]


@dataclass(frozen=True)
class Architecture:
    """What a set of weights (state dict or ONNX graph) holds, as far as its tensors tell.

    `name` is the registered model whose config matches every fact, or None when the family is
    recognised but no registered config fits (e.g. an unofficial size); `description` says
    which (used in error messages)."""

    family: str
    name: str | None
    description: str
    input_size: tuple[int, int] | None = None  # (width, height): the file's, else the matched config's


class ModelFamily:
    """A family of architectures sharing one network class and one config type."""

    name: ClassVar[str]                        # "rtmpose", "rtmw", "yolox"
    kind: ClassVar[Kind]                       # "pose" or "detector"
    model_class: ClassVar[type[nn.Module]]
    onnx_io_names: ClassVar[tuple[str, tuple[str, ...]]]  # official (input, outputs) of its ONNX files
    configs: Mapping[str, Any]                 # registered name -> config (the family's table)
    aliases: Mapping[str, str] = {}            # other name -> registered name

    def build(self, config: Any) -> nn.Module:
        return self.model_class(config)

    def custom_config(self, name: str) -> Any | None:
        """The config of a name outside the table that this family builds on request (e.g. an
        unofficial input size), or None. Such names are not listed: no official weights exist."""
        return None

    # ------------------------------------------------------------------ weights
    def state_dict_from_checkpoint(
        self, checkpoint: Any, weights: WeightsSlot = "default", distill_stage: int | None = None
    ) -> dict[str, torch.Tensor]:
        """The checkpoint filter: this family's weights inside a loaded `.pth`."""
        return extract_state_dict(checkpoint, weights)

    def load_checkpoint(
        self, model: nn.Module, path: str | os.PathLike, weights: WeightsSlot = "default",
        distill_stage: int | None = None,
    ) -> None:
        """Load a `.pth` strictly, or import the weights of an official-signature ONNX file."""
        path = Path(path)
        if path.suffix.lower() == ".onnx":
            from .onnx_import import import_onnx_weights

            if weights != "default":
                raise CheckpointError(f"an ONNX file holds one set of weights; cannot pick {weights!r}")
            import_onnx_weights(model, path)
            return
        state = self.state_dict_from_checkpoint(read_checkpoint_file(path), weights, distill_stage)
        load_state_dict_strict(model, state, source=str(path))

    # ------------------------------------------------------------------ detection
    def detect_state_dict(self, state_dict: Mapping[str, torch.Tensor]) -> Architecture | None:
        """The architecture of weights of this family, or None when they are not this family's."""
        raise NotImplementedError

    def detect_checkpoint(self, checkpoint: Any) -> Architecture | None:
        """`detect_state_dict` on what this family's checkpoint filter takes from a loaded `.pth`."""
        try:
            state = self.state_dict_from_checkpoint(checkpoint)
        except CheckpointError:
            return None
        return self.detect_state_dict(state)

    def detect_onnx(self, summary: OnnxSummary) -> Architecture | None:
        """The architecture of an ONNX graph of this family, or None."""
        raise NotImplementedError


_FAMILIES: dict[str, ModelFamily] = {}


def register_family(family: ModelFamily) -> ModelFamily:
    """Make a family's names known to `create_model` / `list_models`; names must be unique."""
    taken = {n for f in _FAMILIES.values() if f.name != family.name for n in (*f.configs, *f.aliases)}
    clash = taken & {*family.configs, *family.aliases}
    if clash:
        raise ValueError(f"model names registered twice: {', '.join(sorted(clash))}")
    _FAMILIES[family.name] = family
    return family


def families(kind: Kind | None = None) -> list[ModelFamily]:
    """Registered families (in registration order), optionally of one kind."""
    return [f for f in _FAMILIES.values() if kind is None or f.kind == kind]


def list_models(family: str | None = None, kind: Kind | None = None, aliases: bool = True) -> list[str]:
    """Names accepted by `create_model`, per family in its table order; `family` ("rtmpose", "rtmw",
    "yolox") or `kind` ("pose", "detector") filter them; `aliases=False` leaves out alternative
    names such as `dwpose-*`."""
    if family is not None and family not in _FAMILIES:
        raise InputError(f"unknown model family {family!r}; choose one of: {', '.join(_FAMILIES)}")
    names: list[str] = []
    for fam in families(kind):
        if family is None or fam.name == family:
            names += list(fam.configs) + (list(fam.aliases) if aliases else [])
    return names


def _lookup(name: str) -> tuple[ModelFamily, str, Any]:
    """(family, canonical name, config) of a registered name, an alias or a family's custom name."""
    for family in _FAMILIES.values():
        key = family.aliases.get(name, name)
        if key in family.configs:
            return family, key, family.configs[key]
    for family in _FAMILIES.values():
        config = family.custom_config(name)
        if config is not None:
            return family, name, config
    raise InputError(f"unknown model {name!r}; choose one of: {', '.join(list_models())} "
                     "(or a pose model name with another input size, H and W multiples of 32, e.g. rtmpose-t-128x96)")


def canonical_name(name: str) -> str:
    """The registered name behind a name or an alias (`dwpose-l-384x288` -> `rtmpose-l-384x288`)."""
    return _lookup(name)[1]


def get_config(name: str) -> Any:
    """The config of a registered model name (or alias, or a family's custom name such as
    `rtmpose-t-128x96`)."""
    return _lookup(name)[2]


def get_family(name: str) -> ModelFamily:
    """The family of a registered model name (or alias)."""
    return _lookup(name)[0]


def family_of_model(model: nn.Module) -> ModelFamily:
    """The family whose network class `model` is (also for configs that are not registered)."""
    for family in _FAMILIES.values():
        if isinstance(model, family.model_class):
            return family
    raise InputError(f"{type(model).__name__} belongs to no registered model family")


def create_model(
    name: str,
    checkpoint: str | os.PathLike | None = None,
    *,
    weights: WeightsSlot = "default",
    eval_mode: bool = True,
) -> nn.Module:
    """Build a named model of any family, optionally loading weights.

    `checkpoint` may be a `.pth` the family reads (for pose models a bare state dict, an
    mmengine container or a distiller checkpoint; for YOLOX a Megvii file) or an ONNX file
    with the family's official signature, whose weights are imported. `weights` picks the slot
    of a training checkpoint: "ema" / "raw" for averaged / non-averaged weights (see
    `dwpose.models.checkpoint.extract_state_dict`).
    """
    family, _, config = _lookup(name)
    model = family.build(config)
    if checkpoint is not None:
        family.load_checkpoint(model, checkpoint, weights)
    return model.eval() if eval_mode else model


# --------------------------------------------------------------------------- detection

def detect_state_dict(state_dict: Mapping[str, torch.Tensor]) -> Architecture | None:
    """Ask every family whose weights these are; None when none recognises them."""
    for family in _FAMILIES.values():
        architecture = family.detect_state_dict(state_dict)
        if architecture is not None:
            return architecture
    return None


def detect_architecture(checkpoint: str | os.PathLike) -> Architecture:
    """The architecture in a `.pth` or an official-signature `.onnx` file, asked of every
    family. Raises CheckpointError when no family recognises the file."""
    path = Path(checkpoint)
    if path.suffix.lower() == ".onnx":
        summary = probe_onnx(path)
        for family in _FAMILIES.values():
            architecture = family.detect_onnx(summary)
            if architecture is not None:
                return architecture
        raise CheckpointError(f"{path} is not an ONNX model this package knows ({summary.describe()})")
    content = read_checkpoint_file(path)
    for family in _FAMILIES.values():
        architecture = family.detect_checkpoint(content)
        if architecture is not None:
            return architecture
    try:
        state = extract_state_dict(content)
    except CheckpointError as exc:
        raise CheckpointError(f"cannot tell the architecture of {path}: {exc}") from None
    raise CheckpointError(f"cannot tell the architecture of {path}: {describe_state_dict(state)}")


def detect_model_name(checkpoint: str | os.PathLike) -> str:
    """The registered name matching a `.pth` or `.onnx` file's architecture (any family)."""
    architecture = detect_architecture(checkpoint)
    if architecture.name is None:
        raise CheckpointError(f"cannot tell the architecture of {checkpoint}: {architecture.description}")
    return architecture.name
