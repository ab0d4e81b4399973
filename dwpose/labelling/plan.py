"""What a labelling run will do, decided before any model runs: the inputs (deduplicated, in the
order given), the frames taken from each video, their split into shards, and the run's identity
(models, settings, inputs) that a later run into the same folder must share to resume it."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2

from ..errors import InputError, VideoReadError
from ..inference.io import VIDEO_SUFFIXES
from ..inference.video import open_video

FORMAT = "dwpose-label/1"


@dataclass(frozen=True)
class Source:
    """One input file. `frames` (videos): the frame indices taken, in order."""

    path: str                     # absolute
    kind: str                     # "image" or "video"
    stem: str                     # unique name (video frames: frames/<stem>/<frame>.jpg)
    frames: tuple[int, ...] | None = None
    fps: float | None = None


@dataclass(frozen=True)
class Unit:
    """One image or video frame: the `index`-th of the run (its image id is index + 1)."""

    index: int
    source: int
    frame: int | None = None


def dedupe(paths: list[Path]) -> tuple[list[Path], list[str]]:
    """The paths without repeats of the same file (same resolved path; the first one is kept),
    and one note per repeat."""
    seen: dict[str, Path] = {}
    kept, notes = [], []
    for path in paths:
        key = os.path.realpath(path)
        if key in seen:
            notes.append(f"duplicate input {path} (same file as {seen[key]}) labelled once")
            continue
        seen[key] = path
        kept.append(path)
    return kept, notes


def video_frames(path: Path, every: int, fps: float | None) -> tuple[tuple[int, ...], float]:
    """The frame indices taken from a video (every `every`-th, or `fps` per second of the
    video's own rate), from its announced frame count; and the video's frame rate."""
    capture = open_video(path)
    try:
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        rate = float(capture.get(cv2.CAP_PROP_FPS) or 0.0) or 30.0
    finally:
        capture.release()
    if count <= 0:
        raise VideoReadError(f"{path}: the video announces no frames")
    if fps is None:
        return tuple(range(0, count, every)), rate
    step = max(rate / fps, 1.0)  # never more than every frame
    frames, n = [], 0
    while (index := int(n * step + 1e-9)) < count:
        frames.append(index)
        n += 1
    return tuple(frames), rate


def plan_sources(paths: list[Path], every: int, fps: float | None, stem_names) -> tuple[list[Source], list[str]]:
    """Sources of the inputs in order, and one message per video that cannot be planned
    (unreadable, no frames): those are reported and skipped."""
    sources, skipped = [], []
    for path in paths:
        absolute = os.path.abspath(path)
        if path.suffix.lower() in VIDEO_SUFFIXES:
            try:
                if not path.is_file():
                    raise VideoReadError(f"{path}: not found")
                frames, rate = video_frames(path, every, fps)
            except VideoReadError as exc:
                skipped.append(str(exc))
                continue
            sources.append(Source(absolute, "video", stem_names(path), frames, rate))
        else:
            sources.append(Source(absolute, "image", stem_names(path)))
    return sources, skipped


def plan_units(sources: list[Source]) -> list[Unit]:
    units: list[Unit] = []
    for number, source in enumerate(sources):
        for frame in source.frames if source.kind == "video" else (None,):
            units.append(Unit(len(units), number, frame))
    return units


def split_shards(units: list[Unit], shard_size: int) -> list[list[Unit]]:
    """Consecutive runs of `shard_size` units (the last one shorter)."""
    return [units[i:i + shard_size] for i in range(0, len(units), shard_size)]


def file_stat(path: str) -> dict | None:
    """What tells a changed input on resume: size and modification time (a stat per input, not
    a read of every byte as a content hash would be: the plan of a million images stays quick).
    An edited or replaced file changes one of them; None for a file that cannot be read."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def changed_input(ours: dict, theirs: dict) -> str | None:
    """The first input whose size or modification time differs from what the folder's run
    recorded (paths and order are already the same: the inputs digest matched). Runs from
    before the stats were recorded have none to compare: they resume as before."""
    recorded_sources = theirs.get("sources")
    if not isinstance(recorded_sources, list):
        return None
    for mine, recorded in zip(ours["sources"], recorded_sources):
        if isinstance(recorded, dict) and "stat" in recorded and recorded["stat"] != mine["stat"]:
            return mine["path"]
    return None


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def inputs_digest(sources: list[Source]) -> str:
    """A fingerprint of the whole plan: every source and frame, in order."""
    text = json.dumps([asdict(s) for s in sources], separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def versions() -> dict[str, str]:
    """Versions of what computes the labels (recorded, not compared: see `compare_manifests`)."""
    import numpy
    import torch

    from .. import __version__

    found = {"dwpose": __version__, "numpy": numpy.__version__, "torch": torch.__version__,
             "opencv": cv2.__version__}
    try:
        import onnxruntime

        found["onnxruntime"] = onnxruntime.__version__
    except ImportError:  # pragma: no cover - a dependency, but the torch backend works without it
        pass
    try:
        import pyarrow

        found["pyarrow"] = pyarrow.__version__
    except ImportError:
        pass
    return found


def compare_manifests(ours: dict, theirs: dict) -> list[str]:
    """The differences that forbid resuming the folder's run with ours: models, settings,
    inputs (each named, with both values). Versions are not compared (a note is enough)."""
    differences = []

    def walk(a, b, where: str) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b), key=str):
                walk(a.get(key), b.get(key), f"{where}.{key}" if where else str(key))
        elif a != b:
            differences.append(f"{where}: {json.dumps(a)} in this run, {json.dumps(b)} in the folder's")

    for section in ("format", "pose_model", "detector", "boxes_file", "settings", "inputs"):
        walk(ours.get(section), theirs.get(section), section)
    return differences


def check_resumable(ours: dict, theirs: dict, out: Path) -> None:
    differences = compare_manifests(ours, theirs)
    if differences:
        shown = "; ".join(differences[:4]) + (f"; and {len(differences) - 4} more" if len(differences) > 4 else "")
        raise InputError(f"{out} holds a labelling run with other models, settings or inputs ({shown}); "
                         "use another --out, or --overwrite to start over")
    changed = changed_input(ours, theirs)
    if changed is not None:  # its labels (and image size) in the finished shards would be stale
        raise InputError(f"{changed} changed (size or modification time) since the run in {out} started; "
                         "its labels would be stale: start over with --overwrite, or label into another --out")
