"""The model zoo: every family's released weight files in one table, and the way from a name (a
file name, a backbone's short name or a model name) to the file in the cache (`resolve_weights`,
which downloads through `dwpose.weights`). The facts themselves live in the family modules."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import InputError
from ..weights import DEFAULT_ENDPOINT, WeightsError, fetch
from .cspnext import CSPNEXT_BACKBONES
from .registry import canonical_name, families, get_config, get_family
from .release import WeightFile
from .rtmpose import DWPOSE_PRESET


def _gather() -> dict[str, WeightFile]:
    """The default pose model and detector first, then each family's files in registration order,
    then the recipes' backbones (the order of `dwpose models --markdown`)."""
    files = [w for family in families() for w in family.released] + list(CSPNEXT_BACKBONES)
    defaults = (DWPOSE_PRESET.pose, DWPOSE_PRESET.det)
    ordered = sorted(files, key=lambda w: defaults.index(w.filename) if w.filename in defaults else len(defaults))
    return {w.filename: w for w in ordered}


REGISTRY: dict[str, WeightFile] = _gather()


def registry_name(download_name: str) -> str | None:
    """The registry file served under `download_name` (a file name, the zip holding it, or its
    short alias)."""
    if download_name in REGISTRY:
        return download_name
    return next((w.filename for w in REGISTRY.values() if download_name in (w.archive, w.alias)), None)


def backbone_names() -> list[str]:
    """The short registry names of the pretrained backbones (`pretrained_backbone = "..."`)."""
    return [w.alias for w in REGISTRY.values() if w.kind == "backbone" and w.alias]


def released_weights(model: str, backend: str = "onnxruntime") -> str:
    """The registry file of a model name (`rtmw-l-384x288`, `dwpose-l-384x288`, ...): its ONNX
    build for onnxruntime (preferred for torch too), else its PyTorch checkpoint for torch."""
    try:
        arch = canonical_name(model)
    except InputError:
        raise WeightsError(f"weight file not found: {model} (neither an existing path nor a known file: "
                           f"{', '.join(sorted(REGISTRY))}; nor a model name with released weights)") from None
    files = [w.filename for w in REGISTRY.values() if w.arch == arch]
    onnx = [f for f in files if f.endswith(".onnx")]
    usable = onnx + [f for f in files if f not in onnx] if backend == "torch" else onnx
    if not usable:
        have = f" (released: {', '.join(files)}; use --backend torch)" if files else ""
        raise WeightsError(f"no released {'weights' if backend == 'torch' else 'ONNX file'} for {arch}{have}")
    return usable[0]


def resolve_weights(name_or_path: str | os.PathLike, progress: bool = True, backend: str = "onnxruntime",
                    registry_only: bool = False) -> Path:
    """A local path for an explicit path, a registry file name, or a model name with released
    weights (`released_weights`; `backend` picks ONNX or checkpoint); downloaded when needed.
    `registry_only`: names only, never a file of that name in the working directory (ComfyUI)."""
    path = Path(name_or_path).expanduser()
    if not registry_only and path.exists():
        if path.is_dir():
            raise WeightsError(f"{path} is a folder, not a weight file")
        return path
    name = str(name_or_path)
    if name not in REGISTRY:
        name = registry_name(name) or released_weights(name, backend)
    return fetch(REGISTRY[name], progress=progress)


def resolve_backbone(name_or_path: str | os.PathLike, progress: bool = True) -> Path:
    """The file of a recipe's `pretrained_backbone`: an existing path, or a registry name (a
    backbone's short name such as `cspnext-l-udp`, or its official file name), downloaded and
    verified into the cache. A missing path says where the file comes from, and that the line
    can be left out (training from scratch)."""
    path = Path(name_or_path).expanduser()
    if path.exists():
        return resolve_weights(path)
    name = registry_name(str(name_or_path)) or registry_name(path.name)
    if name is not None and str(name_or_path) in (name, REGISTRY[name].alias):
        return resolve_weights(name, progress=progress)
    scratch = "or leave pretrained_backbone out to train from scratch (slower to converge)"
    if name is not None:  # a path to an official file that is not there (yet)
        entry = REGISTRY[name]
        raise WeightsError(f"pretrained backbone not found: {path}; it is {entry.url()} — write "
                           f'pretrained_backbone = "{entry.alias or name}" to download it into the cache, '
                           f"put the file at that path, {scratch}")
    raise WeightsError(f"pretrained backbone not found: {path} (neither a file nor a registry name: "
                       f"{', '.join(backbone_names())}); give an existing checkpoint, {scratch}")


def _source_link(entry: WeightFile) -> str:
    if entry.repo.startswith(("http://", "https://")):
        return f"[{entry.repo.split('/')[2]}]({entry.repo})"
    return f"[{entry.repo}]({DEFAULT_ENDPOINT}/{entry.repo})"


def zoo_rows(kind: str | None = None) -> list[dict[str, str]]:
    """One row per registry file (optionally of one kind): the model zoo, as printed by
    `dwpose models --markdown` and shown in the README."""
    rows = []
    for entry in REGISTRY.values():
        if kind is not None and entry.kind != kind:
            continue
        if entry.kind == "backbone":
            model, family, size = f"`{entry.alias}`", "cspnext (backbone)", "—"
        else:
            width, height = get_config(entry.arch).input_size
            model, family, size = f"`{entry.arch}`", get_family(entry.arch).name, f"{height}x{width}"
        served = f"`{entry.filename}`" + (f" (in `{entry.archive}`)" if entry.archive else "")
        rows.append({
            "model": model, "family": family, "input (HxW)": size, "file": served, "source": _source_link(entry),
            "size": f"{entry.size:,} B" if entry.size is not None else "unknown",
            "sha256": f"`{entry.sha256}`" if entry.sha256 else "unknown",
            "whole-body AP": f"{entry.whole_ap:.3f}" if entry.whole_ap is not None else "—",
            "licence": entry.licence or "see source",
        })
    return rows


def zoo_markdown(kind: str | None = None) -> str:
    """The model zoo as a Markdown table (the README's is this output, checked by a test)."""
    rows = zoo_rows(kind)
    header = list(rows[0]) if rows else ["model"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row[column] for column in header) + " |" for row in rows]
    return "\n".join(lines) + "\n"
