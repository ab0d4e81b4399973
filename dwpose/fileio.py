"""Atomic output files: everything is written under a temporary name in the destination's
folder and renamed into place when complete, so an interrupted run never leaves a truncated
file under a final name. The temporary name keeps the suffix (encoders pick their format by
it) and is ASCII, so OpenCV can be given it whatever the final name is."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from pathlib import Path
from typing import IO, Any, Iterator

from .errors import OutputPathError

TEMP_MARKER = ".dwpose-tmp-"


def check_output_file(path: str | os.PathLike) -> Path:
    """`path` as a Path, refused in one line when it is a folder: a file cannot be renamed onto
    one (and "." has no name to put a temporary sibling beside)."""
    path = Path(path)
    if path.is_dir() or path.name in ("", ".", ".."):
        raise OutputPathError(f"{path}: is a folder; give the path of the file to write")
    return path


def temporary_sibling(path: str | os.PathLike) -> Path:
    """A fresh hidden name beside `path` with the same suffix: `.dwpose-tmp-<random><suffix>`."""
    path = Path(path)
    suffix = path.suffix if path.suffix.isascii() else ""
    return path.with_name(f"{TEMP_MARKER}{os.getpid()}-{secrets.token_hex(4)}{suffix}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it to `path` when the block ends normally,
    remove it when the block raises (or when the rename itself fails)."""
    path = check_output_file(path)
    tmp = temporary_sibling(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs: Any) -> Iterator[IO]:
    """`open()` for writing whose result appears under `path` only once it is complete."""
    if not any(m in mode for m in "wx"):
        raise ValueError(f"atomic_open writes new files; mode {mode!r} is not a write mode")
    with atomic_path(path) as tmp:
        with open(tmp, mode.replace("x", "w"), **kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    with atomic_open(path, "wb") as handle:
        handle.write(data)
    return Path(path)


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    with atomic_open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    return Path(path)


def write_json_atomic(path: str | os.PathLike, obj: Any, **dumps_kwargs: Any) -> Path:
    return write_text_atomic(path, json.dumps(obj, **dumps_kwargs))


def save_torch_atomic(obj: Any, path: str | os.PathLike) -> Path:
    """`torch.save` that never leaves a half-written file."""
    import io

    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return write_bytes_atomic(path, buffer.getvalue())


def is_temporary(path: str | os.PathLike) -> bool:
    """True for the leftovers of an interrupted atomic write (safe to delete)."""
    return Path(path).name.startswith(TEMP_MARKER)
