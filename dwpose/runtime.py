"""The one model loader: a weight file (or a module) of a given kind -> a runner on a backend
and device, with the facts of the model's family that pre- and post-processing need (input
size, normalisation, which ONNX signature the file has). The pose stage and the detector load
through `load`; everything above them (pipeline, adapters, ComfyUI, web demo, `label`) goes
through those two."""

from __future__ import annotations

import os
from dataclasses import dataclass

from torch import nn

from .backends import BACKENDS, FILE_BACKENDS, FileRunner, TorchRunner, backend_for_files, file_runner
from .errors import InputError
from .models.registry import (
    Kind, create_model, detect_architecture, detect_model_name, families, family_of_model, get_family,
)
from .models.release import Normalisation

# What to say when a named or detected model is of the other kind.
_WRONG_KIND = {
    "pose": "{name} is not a pose model (see `dwpose models --kind pose`)",
    "detector": "{name} is not a detector; the person detector is a YOLOX model (see `dwpose models --kind detector`)",
}


@dataclass(frozen=True)
class LoadedModel:
    """A runner with its family's facts. `input_size` (width, height) is the file's or the
    module's own, None where it leaves the size free; `signature` the ONNX file kind of a file
    runner (e.g. "detector-nms"), None for torch."""

    runner: FileRunner | TorchRunner
    kind: Kind
    backend: str
    input_size: tuple[int, int] | None
    normalisation: Normalisation
    signature: str | None = None


def load(model: str | os.PathLike | nn.Module, kind: Kind, backend: str | None = None, device: str = "cpu",
         dtype: str = "float32", arch: str | None = None, compile: bool = False, max_batch: int | None = None,
         threads: int | None = None) -> LoadedModel:
    """Load `model` (an ONNX file for "onnxruntime"/"openvino"; a `.pth`/`.onnx` file or a module
    for "torch"; `backend` None: `backends.backend_for_files`, torch for a module). `arch` names
    the architecture of a file for torch (else it is detected); `compile`/`max_batch`: torch's
    `TorchRunner`; `threads`: the file runners' intra-op threads."""
    if backend is None:
        backend = "torch" if isinstance(model, nn.Module) else backend_for_files(model)
    if backend in FILE_BACKENDS:
        if isinstance(model, nn.Module):
            raise InputError(f"backend {backend!r} needs an ONNX file, not a PyTorch module")
        runner = file_runner(backend, model, device, dtype, expect=kind, threads=threads)
        hw = runner.input_hw
        return LoadedModel(runner, kind, backend, (hw[1], hw[0]) if hw is not None else None,
                           _file_normalisation(kind, model), runner.signature)
    if backend != "torch":
        raise InputError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
    if not isinstance(model, nn.Module):
        name = arch or detect_model_name(model)
        if get_family(name).kind != kind:
            raise InputError(_WRONG_KIND[kind].format(name=name))
        model = create_model(name, checkpoint=model)
    runner = TorchRunner(model, device, dtype, compile=compile, max_batch=max_batch)
    size = getattr(model, "input_size", None)
    return LoadedModel(runner, kind, backend, tuple(size) if size is not None else None,
                       _module_normalisation(model, kind))


def _kind_normalisation(kind: Kind) -> Normalisation | None:
    """The normalisation every family of `kind` shares, None when they differ."""
    options = {family.normalisation for family in families(kind)}
    return options.pop() if len(options) == 1 else None


def _file_normalisation(kind: Kind, path: str | os.PathLike) -> Normalisation:
    """A file's normalisation: its kind's where all its families agree (no need to read the
    graph), else that of the family the file's graph belongs to."""
    shared = _kind_normalisation(kind)
    if shared is not None:
        return shared
    found = detect_architecture(path).family
    return next(family.normalisation for family in families(kind) if family.name == found)


def _module_normalisation(model: nn.Module, kind: Kind) -> Normalisation:
    """A module's own normalisation (`TopdownPoseModel.normalisation`, also of a subclass that
    changes it), else its family's; for a module of no registered family (a detector stand-in
    returning the export output), its kind's."""
    own = getattr(model, "normalisation", None)
    if isinstance(own, Normalisation):
        return own
    try:
        return family_of_model(model).normalisation
    except InputError:
        shared = _kind_normalisation(kind)
        if shared is None:
            raise
        return shared
