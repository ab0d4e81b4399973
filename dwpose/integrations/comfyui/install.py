"""`dwpose comfyui-install`: a tiny `custom_nodes/dwpose/__init__.py` in a ComfyUI checkout that
imports this package's node mappings (dwpose must be installed in ComfyUI's Python)."""

from __future__ import annotations

import os
from pathlib import Path

from ...errors import InputError
from ...fileio import write_text_atomic

MARKER = "# Written by `dwpose comfyui-install`"
LOADER = f'''{MARKER}: ComfyUI loads the dwpose nodes from the dwpose package
# installed in its Python (pip install dwpose). Remove this folder to uninstall.
from dwpose.integrations.comfyui import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS"]
'''


def install(comfyui_root: str | os.PathLike, name: str = "dwpose", force: bool = False) -> Path:
    """Writes `<comfyui_root>/custom_nodes/<name>/__init__.py` (the root or its `custom_nodes`
    folder may be given) and returns its path. An existing folder that this command did not
    write is left alone unless `force`."""
    root = Path(os.fspath(comfyui_root)).expanduser()
    custom_nodes = root if root.name == "custom_nodes" else root / "custom_nodes"
    if not custom_nodes.is_dir():
        raise InputError(f"{root} is not a ComfyUI folder: it has no custom_nodes folder")
    if not name or Path(name).name != name or name in (".", ".."):
        raise InputError(f"the node folder name must be a plain folder name, got {name!r}")
    target = custom_nodes / name / "__init__.py"
    if target.parent.exists() and not force:
        ours = target.is_file() and target.read_text(errors="replace").startswith(MARKER)
        if not ours:
            raise InputError(f"{target.parent} exists and was not written by dwpose comfyui-install; "
                             "remove it, choose another --name, or pass --force")
    target.parent.mkdir(exist_ok=True)
    write_text_atomic(target, LOADER)
    return target
