"""Person boxes given by the user (`--boxes`): the JSON file and each image's entry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import InputError, MissingBoxesEntry
from .pipeline import clip_boxes


def entry_name(table: dict[str, np.ndarray], path: Path) -> str:
    """The `--boxes` entry of an input: by file name, else by stem; MissingBoxesEntry if none."""
    name = path.name if path.name in table else path.stem
    if name not in table:
        raise MissingBoxesEntry(f"{path}: no entry in the --boxes file")
    return name


def read_boxes(path: str) -> dict[str, np.ndarray]:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read --boxes file {path}: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(f"--boxes file {path}: expected an object mapping file names to box lists")
    out = {}
    for name, boxes in data.items():
        shape_error = InputError(f"--boxes file {path}: entry {name!r} is not a list of [x1, y1, x2, y2]")
        try:
            array = np.asarray(boxes, dtype=np.float64)
        except (TypeError, ValueError):  # not numbers, or ragged lists
            raise shape_error from None
        if array.size and (array.ndim != 2 or array.shape[1] != 4):
            raise shape_error
        finite = np.isfinite(array).all(axis=1) if array.size else np.ones(0, bool)
        if not finite.all():
            index = int(np.flatnonzero(~finite)[0])
            raise InputError(f"--boxes file {path}: entry {name!r} box {index} {array[index].tolist()} "
                             "has a non-finite coordinate")
        out[name] = array.reshape(-1, 4)
    return out


def boxes_for(table: dict[str, np.ndarray], path: Path, image: np.ndarray,
              warn: Callable[[str], None]) -> np.ndarray:
    """An image's (or a video frame's) `--boxes` entry (`entry_name`), clipped to it; boxes left
    with no area are dropped with a warning naming the file and entry."""
    name = entry_name(table, path)
    height, width = image.shape[:2]
    boxes, kept = clip_boxes(table[name], width, height)
    for index in sorted(set(range(len(table[name]))) - set(kept.tolist())):
        warn(f"warning: {path}: --boxes entry {name!r} box {index} {table[name][index].tolist()} "
             f"has no area inside the {width}x{height} image; dropped")
    return boxes
