"""The package's exception base. Every error a user can cause (bad input, bad file, bad
option, missing weights) derives from `DWPoseError`; the command line turns those (and
`OSError`) into one line and exit code 2, and lets anything else show its traceback, because
anything else is a bug."""

from __future__ import annotations


class DWPoseError(Exception):
    """Base of every user-facing dwpose error; the message says what to change."""


class InputError(DWPoseError, ValueError):
    """A value handed to the API or the command line that cannot be used (a wrong name, shape,
    type or range). Also a ValueError, so `except ValueError` callers keep working."""


def one_line(exc: BaseException) -> str:
    """The message of an error on one line (for an OSError: its reason and file name), as the
    command line and the web demo report it."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return str(exc).strip().replace("\n", " | ") or type(exc).__name__
