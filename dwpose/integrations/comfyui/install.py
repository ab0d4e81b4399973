"""`dwpose comfyui-install`: a tiny `custom_nodes/comfyui-dwpose/__init__.py` in a ComfyUI checkout
that imports this package's node mappings (dwpose-toolkit must be installed in ComfyUI's Python).

The folder must not be called `dwpose`: ComfyUI registers a custom-node folder in `sys.modules`
under the folder's name (releases up to mid-2024; newer ones use the full path) before running its
`__init__.py`, so a folder named `dwpose` would stand in for the installed package and
`import dwpose.integrations` would fail inside it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import NamedTuple

from ...errors import InputError
from ...fileio import write_text_atomic

DEFAULT_NODE_FOLDER = "comfyui-dwpose"
PACKAGE_NAME = "dwpose"  # the import name a node folder may not take
MARKER = "# Written by `dwpose comfyui-install`"
LOADER = f'''{MARKER}: ComfyUI loads the dwpose nodes from the dwpose package
# installed in its Python (pip install dwpose-toolkit). Remove this folder to uninstall.
from dwpose.integrations.comfyui import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS"]
'''


class Installed(NamedTuple):
    loader: Path  # the `__init__.py` written
    removed: Path | None  # an earlier loader folder of this command under the old name, removed


def _written_by_us(folder: Path) -> bool:
    loader = folder / "__init__.py"
    return loader.is_file() and loader.read_text(errors="replace").startswith(MARKER)


def _remove_old_folder(custom_nodes: Path) -> Path | None:
    """Earlier releases wrote `custom_nodes/dwpose`, which hides the package from ComfyUI (and,
    beside the new folder, whichever loads first wins). Removed only when it holds nothing but
    this command's loader (and Python's cache of it)."""
    old = custom_nodes / PACKAGE_NAME
    if not old.is_dir() or not _written_by_us(old):
        return None
    if {p.name for p in old.iterdir()} - {"__init__.py", "__pycache__"}:
        return None  # someone put more files there: not ours to delete
    shutil.rmtree(old)
    return old


def install(comfyui_root: str | os.PathLike, name: str = DEFAULT_NODE_FOLDER, force: bool = False) -> Installed:
    """Writes `<comfyui_root>/custom_nodes/<name>/__init__.py` (the root or its `custom_nodes`
    folder may be given). An existing folder that this command did not write is left alone unless
    `force`; a loader this command wrote earlier under the name `dwpose` is removed."""
    root = Path(os.fspath(comfyui_root)).expanduser()
    custom_nodes = root if root.name == "custom_nodes" else root / "custom_nodes"
    if not custom_nodes.is_dir():
        raise InputError(f"{root} is not a ComfyUI folder: it has no custom_nodes folder")
    if not name or Path(name).name != name or name in (".", ".."):
        raise InputError(f"the node folder name must be a plain folder name, got {name!r}")
    if name == PACKAGE_NAME:
        raise InputError(f"--name {PACKAGE_NAME} is refused: ComfyUI imports a custom-node folder under its folder "
                         f"name, so a folder called {PACKAGE_NAME} would hide the installed {PACKAGE_NAME} package "
                         f"(No module named 'dwpose.integrations'); keep the default {DEFAULT_NODE_FOLDER}")
    target = custom_nodes / name / "__init__.py"
    if target.parent.exists() and not force and not _written_by_us(target.parent):
        raise InputError(f"{target.parent} exists and was not written by dwpose comfyui-install; "
                         "remove it, choose another --name, or pass --force")
    target.parent.mkdir(exist_ok=True)
    write_text_atomic(target, LOADER)
    return Installed(target, _remove_old_folder(custom_nodes))
