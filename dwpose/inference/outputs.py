"""One input's output files, all or nothing, and Ctrl-C for runs over many inputs.

The unit is one input: its files (skeleton PNG, overlay PNG and JSON of an image; MP4 and
JSON lines of a video) are written under temporary names (`dwpose.fileio`) and renamed into
place together once the input is complete, the JSON last, so a final-named JSON implies that
the files beside it are complete too. A killed run leaves at most hidden `.dwpose-tmp-*`
files, which `remove_stale_temporaries` clears on the next run."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from pathlib import Path
from typing import Any, Iterator, Sequence

from ..fileio import TEMP_MARKER, atomic_path


class Interruption:
    """SIGINT handling for a run over many inputs (a context manager that installs it).

    The first Ctrl-C only sets `requested`: the run finishes the current image (a video stops
    at its next batch and is discarded), then stops and prints its summary. A second Ctrl-C
    raises KeyboardInterrupt at once, except while a group of outputs is being renamed into
    place (`held()`), which is never cut in half. Outside the main thread (where signal
    handlers cannot be installed) it does nothing and Ctrl-C keeps its default behaviour."""

    def __init__(self) -> None:
        self.requested = False
        self._holding = 0
        self._previous: Any = None
        self._installed = False

    def __enter__(self) -> "Interruption":
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
            self._installed = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
            self._installed = False

    def _handle(self, signum: int, frame: object) -> None:
        if self.requested and not self._holding:
            raise KeyboardInterrupt
        self.requested = True

    def check(self) -> None:
        """Raise KeyboardInterrupt when a stop was asked for (between units of work)."""
        if self.requested:
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        self._holding += 1
        try:
            yield
        finally:
            self._holding -= 1


@contextlib.contextmanager
def staged_outputs(paths: Sequence[Path], interruption: Interruption | None = None) -> Iterator[list[Path]]:
    """Temporary paths (ASCII names beside each of `paths`) for one input's files. When the block
    ends normally they are renamed to `paths` in the order given, with Ctrl-C held back, so list
    the JSON last; when it raises (or a rename fails) every temporary file is removed and no
    final name that was not yet renamed is touched."""
    hold = interruption.held() if interruption is not None else contextlib.nullcontext()
    with contextlib.ExitStack() as stack:
        # An ExitStack unwinds in reverse: entering the last path first renames the first first.
        temporaries = [stack.enter_context(atomic_path(path)) for path in reversed(paths)][::-1]
        yield temporaries
        with hold:
            stack.close()


def write_synced(path: Path, data: bytes) -> None:
    """Write a staged file and flush it to disk before it is renamed into place."""
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def fsync_path(path: Path) -> None:
    """Flush a file written by someone else (e.g. OpenCV's video writer) to disk."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def remove_stale_temporaries(folder: Path) -> int:
    """Remove the `.dwpose-tmp-<pid>-*` files in `folder` left by runs that are no longer alive
    (killed); those of live processes are kept. Returns how many were removed."""
    removed = 0
    for path in folder.glob(f"{TEMP_MARKER}*"):
        pid = path.name[len(TEMP_MARKER):].split("-", 1)[0]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        with contextlib.suppress(OSError):
            path.unlink()
            removed += 1
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid() or os.name == "nt":  # on Windows os.kill(pid, 0) would end the process
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


class StemNames:
    """Output names of inputs, images or videos: the stem, then `<stem>_2`, ... when an earlier
    input had the same one (case-insensitively, for such file systems)."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def __call__(self, path: Path) -> str:
        stem, n = path.stem, 1
        while stem.casefold() in self.used:
            n += 1
            stem = f"{path.stem}_{n}"
        self.used.add(stem.casefold())
        return stem
