"""Reading official mmpose / DWPose checkpoints: containers, EMA slots, `module.` prefixes,
distiller (teacher/student) checkpoints, and readable errors on mismatch."""

from __future__ import annotations

import os
import pickle
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from ..errors import CheckpointError, ModelFileNotFound
from ..fileio import save_torch_atomic

WeightsSlot = Literal["default", "ema", "raw"]


# --------------------------------------------------------------------------- reading files

class _Placeholder:
    """Stands in for classes of libraries we do not install (mmengine's message hub, ...)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        self.state = state


# What a checkpoint pickle may rebuild besides tensors: plain containers and numpy/torch
# value types. Anything callable beyond these (os.system, eval, torch.hub.load, ...) is refused.
_ALLOWED_GLOBALS = {
    ("collections", "OrderedDict"), ("collections", "defaultdict"), ("copyreg", "_reconstructor"),
    ("_codecs", "encode"), ("datetime", "datetime"), ("datetime", "date"), ("datetime", "timedelta"),
    ("torch", "Size"), ("torch", "device"), ("numpy", "ndarray"), ("numpy", "dtype"),
} | {("builtins", n) for n in ("set", "frozenset", "slice", "range", "complex", "bytearray", "bytes", "dict",
                                "list", "tuple", "int", "float", "str", "bool", "object")}
_STUBBED_PREFIXES = ("mmengine", "mmcv", "mmpose", "mmdet", "mmdeploy", "mmseg", "mmpretrain")


def _allowed(module: str, name: str) -> bool:
    if (module, name) in _ALLOWED_GLOBALS:
        return True
    if module == "torch._utils" and name.startswith("_rebuild"):
        return True
    if module == "torch" and (name.endswith("Storage") or isinstance(getattr(torch, name, None), torch.dtype)):
        return True
    if module in ("numpy.core.multiarray", "numpy._core.multiarray") and name in ("_reconstruct", "scalar"):
        return True
    if module in ("numpy.core.numeric", "numpy._core.numeric") and name == "_frombuffer":
        return True
    return module == "numpy.dtypes"


class _TolerantUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if _allowed(module, name):
            return super().find_class(module, name)
        if module.startswith(_STUBBED_PREFIXES):
            return type(name, (_Placeholder,), {"__module__": module})
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a checkpoint")


_tolerant_pickle = types.ModuleType("dwpose_tolerant_pickle")
_tolerant_pickle.__dict__.update(
    {k: getattr(pickle, k) for k in ("load", "loads", "dump", "dumps", "UnpicklingError")}
)
_tolerant_pickle.Unpickler = _TolerantUnpickler


def read_checkpoint_file(path: str | os.PathLike) -> Any:
    """`torch.load` a `.pth` on the CPU. mmengine containers pickle objects of OpenMMLab
    classes (message hub, config); those are replaced by placeholders, so no OpenMMLab
    package is needed."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileNotFound(f"checkpoint not found: {path}")
    if path.stat().st_size == 0:
        raise CheckpointError(f"checkpoint is empty (0 bytes): {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        pass  # holds non-tensor objects (mmengine containers); retry with the tolerant reader
    except Exception as exc:  # corrupt zip, truncated download, not a torch file
        raise CheckpointError(f"cannot read checkpoint {path}: {exc}") from None
    try:
        return torch.load(path, map_location="cpu", weights_only=False, pickle_module=_tolerant_pickle)
    except Exception as exc:
        raise CheckpointError(f"cannot read checkpoint {path}: {exc}") from None


# --------------------------------------------------------------------------- state dicts

def _strip_prefix(state_dict: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    if state_dict and all(k.startswith(prefix) for k in state_dict):
        return {k[len(prefix):]: v for k, v in state_dict.items()}
    return dict(state_dict)


def _tensors_only(state_dict: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    # mmengine's ema_state_dict carries a `steps` counter beside the weights.
    return {k: v for k, v in state_dict.items() if isinstance(v, torch.Tensor) and k != "steps"}


def extract_state_dict(checkpoint: Any, weights: WeightsSlot = "default") -> dict[str, torch.Tensor]:
    """Find the weights inside a loaded checkpoint.

    - bare state dict: itself (only "default").
    - mmengine container `{"state_dict", "ema_state_dict"?, "meta", "optimizer", ...}`:
      mmengine's EMAHook swaps the averaged weights into `state_dict` when saving and keeps the
      raw ones in `ema_state_dict` (prefixed `module.`). "default"/"ema" -> `state_dict`,
      "raw" -> `ema_state_dict`.
    - dwpose trainer container `{"model", "ema"?, ...}`: "default"/"ema" -> `ema` (when
      present), "raw" -> `model`.
    A leading `module.` (DDP) is stripped.
    """
    if not isinstance(checkpoint, Mapping):
        raise CheckpointError(f"checkpoint holds a {type(checkpoint).__name__}, not a state dict")
    if "state_dict" in checkpoint:  # mmengine
        if weights == "raw":
            if "ema_state_dict" not in checkpoint:
                raise CheckpointError("checkpoint has no raw weights (no 'ema_state_dict': not trained with EMA)")
            state = checkpoint["ema_state_dict"]
        else:
            if weights == "ema" and "ema_state_dict" not in checkpoint:
                raise CheckpointError("checkpoint has no EMA weights (no 'ema_state_dict': not trained with EMA)")
            state = checkpoint["state_dict"]
    elif "model" in checkpoint and isinstance(checkpoint["model"], Mapping):  # dwpose trainer
        if weights == "raw":
            state = checkpoint["model"]
        elif "ema" in checkpoint and checkpoint["ema"] is not None:
            state = checkpoint["ema"]
        elif weights == "ema":
            raise CheckpointError("checkpoint has no EMA weights")
        else:
            state = checkpoint["model"]
    else:  # bare state dict
        if weights != "default":
            raise CheckpointError(f"a bare state dict holds one set of weights; cannot pick {weights!r}")
        state = checkpoint
    state = _tensors_only(state)
    if not state:
        raise CheckpointError("checkpoint contains no weight tensors")
    return _strip_prefix(state, "module.")


def is_distiller_state_dict(state_dict: Mapping[str, Any]) -> bool:
    return any(k.startswith(("teacher.", "student.")) for k in state_dict)


def _distill_stage_from_meta(checkpoint: Any) -> int | None:
    if not isinstance(checkpoint, Mapping):
        return None
    meta = checkpoint.get("meta")
    if isinstance(meta, Mapping):
        if meta.get("distill_stage") in (1, 2):  # written by dwpose's distiller
            return int(meta["distill_stage"])
        cfg = meta.get("cfg")
        if isinstance(cfg, str) and "two_dis" in cfg:  # mmengine dumps the config text
            compact = cfg.replace(" ", "")
            if "two_dis=True" in compact or "'two_dis':True" in compact:
                return 2
            if "two_dis=False" in compact or "'two_dis':False" in compact:
                return 1
    return None


def infer_distill_stage(state_dict: Mapping[str, Any], checkpoint: Any = None) -> int:
    """Stage of a distiller checkpoint: from its metadata, else from its structure (a feature
    align conv, or teacher and student of different architectures, means stage 1)."""
    stage = _distill_stage_from_meta(checkpoint)
    if stage is not None:
        return stage
    if any(k.startswith("distill_losses.") for k in state_dict):
        return 1
    teacher = {k[8:]: tuple(v.shape) for k, v in state_dict.items() if k.startswith("teacher.")}
    student = {k[8:]: tuple(v.shape) for k, v in state_dict.items() if k.startswith("student.")}
    if teacher != student:
        return 1
    raise CheckpointError(
        "distiller checkpoint with identical teacher and student: cannot tell stage 1 from "
        "stage 2; pass the stage explicitly (--stage 1|2)"
    )


def convert_distiller_state_dict(state_dict: Mapping[str, torch.Tensor], stage: int) -> dict[str, torch.Tensor]:
    """Plain pose weights from a distiller: stage 1 -> `student.*`; stage 2 -> the frozen
    `teacher.backbone.*` (and `teacher.neck.*` for models with a neck, e.g. RTMW) with the
    trained `student.head.*`."""
    if stage == 1:
        keep = ("student.",)
    elif stage == 2:
        keep = ("teacher.backbone.", "teacher.neck.", "student.head.")
    else:
        raise CheckpointError(f"distillation stage must be 1 or 2, got {stage}")
    converted = {k[8:]: v for k, v in state_dict.items() if k.startswith(keep)}
    if not converted:
        raise CheckpointError(f"no {' / '.join(keep)} weights found for a stage-{stage} conversion")
    return converted


def pose_state_dict(
    checkpoint: Any, weights: WeightsSlot = "default", distill_stage: int | None = None
) -> dict[str, torch.Tensor]:
    """Plain pose weights (`backbone.*`, `neck.*`?, `head.*`) from a loaded checkpoint of any
    supported layout, distillers converted: the pose families' checkpoint filter."""
    state = extract_state_dict(checkpoint, weights)
    if is_distiller_state_dict(state):
        stage = distill_stage or infer_distill_stage(state, checkpoint)
        state = convert_distiller_state_dict(state, stage)
    return state


def pose_state_dict_from_file(
    path: str | os.PathLike, weights: WeightsSlot = "default", distill_stage: int | None = None
) -> dict[str, torch.Tensor]:
    """Plain pose weights from any supported `.pth` (distillers converted)."""
    return pose_state_dict(read_checkpoint_file(path), weights, distill_stage)


# --------------------------------------------------------------------------- matching

def describe_state_dict(state_dict: Mapping[str, torch.Tensor]) -> str:
    """Best guess of the architecture behind some weights, e.g. 'rtmpose-l-384x288, 133
    keypoints': every registered family is asked (`registry.detect_state_dict`)."""
    from .registry import detect_state_dict, families  # the registry imports this module

    architecture = detect_state_dict(state_dict)
    if architecture is not None:
        return architecture.description
    if is_distiller_state_dict(state_dict):
        return "a distiller (teacher/student) checkpoint"
    return f"no model this package knows ({', '.join(f.name for f in families())})"


def _first(items: list[str], n: int = 5) -> str:
    shown = ", ".join(items[:n])
    return shown + (f", ... ({len(items)} in all)" if len(items) > n else "")


def _fit_problems(expected: Mapping[str, torch.Tensor], state_dict: Mapping[str, torch.Tensor]) -> list[str]:
    """Missing, unexpected and wrongly shaped keys of `state_dict` against `expected`."""
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    wrong_shape = [
        f"{k} {tuple(state_dict[k].shape)} vs {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state_dict and tuple(state_dict[k].shape) != tuple(v.shape)
    ]
    lines = []
    if missing:
        lines.append(f"missing keys: {_first(missing)}")
    if unexpected:
        lines.append(f"unexpected keys: {_first(unexpected)}")
    if wrong_shape:
        lines.append(f"shape mismatch (checkpoint vs model): {_first(wrong_shape, 3)}")
    return lines


def load_state_dict_strict(model: nn.Module, state_dict: Mapping[str, torch.Tensor], source: str = "") -> None:
    """`load_state_dict(strict=True)` with one readable error instead of PyTorch's dump."""
    problems = _fit_problems(model.state_dict(), state_dict)
    if problems:
        name = getattr(getattr(model, "config", None), "name", type(model).__name__)
        lines = [f"checkpoint {source or ''} does not fit {name}: it looks like {describe_state_dict(state_dict)}."]
        raise CheckpointError("\n".join(lines + problems).replace("checkpoint  does", "checkpoint does"))
    model.load_state_dict(state_dict, strict=True)


def check_pose_state_dict(state_dict: Mapping[str, torch.Tensor], source: str = "") -> str:
    """The registry name of the complete pose model `state_dict` holds (every key, every
    shape); else one CheckpointError saying what it looks like instead (a YOLOX detector, a
    backbone without its head, ...)."""
    from .registry import create_model, detect_state_dict, get_family  # the registry imports this module

    architecture = detect_state_dict(state_dict)
    what = source or "the checkpoint"
    if architecture is None or architecture.name is None or get_family(architecture.name).kind != "pose":
        raise CheckpointError(f"{what} is not a complete pose model of a known architecture: "
                              f"it looks like {describe_state_dict(state_dict)}")
    problems = _fit_problems(create_model(architecture.name).state_dict(), state_dict)
    if problems:
        raise CheckpointError(f"{what} is not a complete {architecture.name}: " + "; ".join(problems))
    return architecture.name


def load_weights(
    model: nn.Module,
    checkpoint: str | os.PathLike,
    weights: WeightsSlot = "default",
    distill_stage: int | None = None,
) -> None:
    """Load a `.pth` checkpoint or import an official-signature ONNX file into `model`, with the
    checkpoint reader of the model's family (any registered family, registered config or not)."""
    from .registry import family_of_model  # the registry imports this module

    family_of_model(model).load_checkpoint(model, checkpoint, weights, distill_stage)


def save_state_dict(state_dict: Mapping[str, torch.Tensor], path: str | os.PathLike, meta: dict | None = None) -> None:
    """Write `{"state_dict", "meta"}` (the layout mmpose tools read), atomically."""
    save_torch_atomic({"state_dict": dict(state_dict), "meta": meta or {}}, path)
