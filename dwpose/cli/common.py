"""What the commands that read many inputs share (`predict`, `demo`, `label`): input expansion,
the output folder, the model files of the options, and how a path and a note are printed."""

from __future__ import annotations

import glob
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from ..backends import backend_for_files
from ..errors import InputError, WeightsError
from ..fileio import is_temporary, temporary_sibling
from ..media import IMAGE_SUFFIXES, VIDEO_SUFFIXES
from ..inference.outputs import remove_stale_temporaries
from ..progress import note as _note
from ..models.zoo import resolve_weights
from .options import PipelineOptions


# --------------------------------------------------------------------------- inputs and outputs

def expand_inputs(patterns: list[str]) -> tuple[list[Path], list[str]]:
    """Files named, found in folders (recursively, images and videos) or matched by globs, and
    one message per folder or glob that yields nothing (reported as a failed input)."""
    found: list[Path] = []
    empty: list[str] = []
    for pattern in patterns:
        path = Path(pattern)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and not is_temporary(p)
                           and p.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES)
            if not files:
                empty.append(f"{pattern}: folder holds no images or videos")
        elif any(ch in pattern for ch in "*?[") and not path.exists():
            files = sorted(Path(p) for p in glob.glob(pattern, recursive=True)
                           if Path(p).is_file() and not is_temporary(p))
            if not files:
                empty.append(f"{pattern}: matches no files")
        else:
            files = [path]  # a missing file is reported when processed
        found += files
    return found, empty


def no_inputs(command: str, empty: list[str]) -> int:
    """Says that the patterns named no file (with why, per pattern); the exit code."""
    reason = f" ({'; '.join(empty)})" if empty else ""
    print(f"dwpose {command}: error: no input files found{reason}", file=sys.stderr)
    return 2


def prepare_output_folder(out: Path) -> list[Path]:
    """Create `out` and make sure files can be written there, before any weights are loaded.
    Returns the folders it created, outermost first (see `remove_if_empty`)."""
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file, not a folder")
    created = [folder for folder in (out, *out.parents) if not folder.exists()][::-1]
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = temporary_sibling(out / "probe")
        probe.touch(exist_ok=False)
        probe.unlink()
    except OSError as exc:
        raise InputError(f"cannot write to the output folder {out}: {exc.strerror or exc}") from None
    remove_stale_temporaries(out)  # left by killed runs
    return created


def remove_if_empty(created: list[Path]) -> bool:
    """Remove the folders a run created (`prepare_output_folder`'s list) where it left them
    empty, innermost first; never a folder that was there before. True if all went."""
    for folder in reversed(created):
        try:
            folder.rmdir()  # fails, and so keeps it, when anything is inside
        except OSError:
            return False
    return True


def shown(path: str | os.PathLike) -> str:
    """A path as printable text, even when its name is not valid UTF-8 (bytes as \\xNN)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def note(message: str) -> None:
    """A line on stderr that does not break the progress bar."""
    _note(message)


def say(line: str) -> None:
    """A line on stdout that does not break the progress bar."""
    _note(line, file=sys.stdout)


# --------------------------------------------------------------------------- model files

@dataclass(frozen=True)
class ModelFiles:
    """The weight files of the options and the backend that reads them."""

    pose: Path
    det: Path | None
    backend: str


def resolve_model_files(options: PipelineOptions, progress: bool) -> ModelFiles:
    """The pose and detector weight files the options name (downloaded when official names
    are not cached); no detector with your own boxes or `--no-detector`. Every file that cannot
    be had is named in one error (offline: all of them at once). Without `--backend`, the
    backend is the one that reads the files (`backends.backend_for_files`)."""
    asked, pose_arch = options.runtime.backend, options.model.pose_arch
    if pose_arch and asked not in (None, "torch"):
        raise InputError("a pose architecture (--model) needs the torch backend (--backend torch)")
    found: list[Path] = []
    problems: list[str] = []
    for name in options.model.wanted:
        try:  # a model name may give a released .pth unless a file backend was asked for
            found.append(Path(resolve_weights(name, progress=progress, backend=asked or "torch")))
        except WeightsError as exc:
            problems.append(str(exc))
    if problems:
        raise WeightsError("; ".join(problems))
    pose, det = found[0], found[1] if len(found) > 1 else None
    backend = backend_for_files(pose, det, backend=asked)
    if pose_arch and backend != "torch":
        raise InputError("a pose architecture (--model) needs the torch backend (--backend torch)")
    return ModelFiles(pose, det, backend)
