"""Every exception dwpose raises on purpose, in one place. Each derives from `DWPoseError`: the
command line turns those (and `OSError`) into one line and exit code 2, and lets anything else
show its traceback, because anything else is a bug. Each also derives from the builtin that
says what went wrong (`ValueError` for unusable input, `RuntimeError` for what the machine
cannot do, `LookupError` for a missing entry), so callers that catch those keep working.

One condition, one type: a missing model file is `ModelFileNotFound` whether it is a
checkpoint or an ONNX file, whichever layer notices it.
"""

from __future__ import annotations

from typing import Any


class DWPoseError(Exception):
    """Base of every user-facing dwpose error; the message says what to change."""


# --------------------------------------------------------------------------- input values and files

class InputError(DWPoseError, ValueError):
    """A value handed to the API or the command line that cannot be used (a wrong name, shape,
    type or range). Also a ValueError, so `except ValueError` callers keep working."""


class OutputPathError(InputError):
    """An output file path that names a folder (".", an existing folder)."""


class ImageReadError(DWPoseError, ValueError):
    """A file that is not a readable image."""


class ImageTooLargeError(InputError):
    """An image with a side over MAX_IMAGE_SIDE (or over a caller's pixel cap)."""


class VideoReadError(DWPoseError, ValueError):
    """A file that cannot be decoded as a video."""


class IncompleteVideo(VideoReadError):
    """A video that stopped decoding before its announced frame count (outputs were written);
    `summary` is the `VideoSummary` of what was written."""

    def __init__(self, message: str, summary: Any) -> None:
        super().__init__(message)
        self.summary = summary


class MissingBoxesEntry(DWPoseError, LookupError):
    """An image or video with no entry in the `--boxes` file: it is skipped (never posed as the
    whole image, which would hide a typo in the file)."""


# --------------------------------------------------------------------------- models and weights

class CheckpointError(DWPoseError, ValueError):
    """A checkpoint that cannot be read or does not fit the model; the message says why."""


class ModelFileNotFound(CheckpointError):
    """A model file (PyTorch checkpoint or ONNX) that does not exist at the given path."""


class WeightsError(DWPoseError, RuntimeError):
    """Weights that cannot be found, fetched or verified."""


class BackendError(DWPoseError, RuntimeError):
    """The requested backend/device cannot be used; the message says what to install or change."""


class ExportError(DWPoseError, RuntimeError):
    """An ONNX export that cannot be written or does not reproduce the model; nothing is left
    under the output name."""


# --------------------------------------------------------------------------- data, training, evaluation

class DatasetError(DWPoseError, ValueError):
    """A dataset path or annotation file that cannot be used."""


class ConfigError(DWPoseError, ValueError):
    """A recipe file that is missing, malformed or has wrong fields."""


class EvaluationError(DWPoseError, ValueError):
    """Unusable ground truth or results."""


# --------------------------------------------------------------------------- labelling runs

class RunFileError(InputError):
    """A file of the run folder is not what the run wrote (truncated, edited, another format)."""

    def __init__(self, message: str) -> None:
        super().__init__(f"{message}; the run cannot go on: start over with --overwrite (or delete the run folder)")


class RayClusterError(DWPoseError, RuntimeError):
    """The Ray cluster named by --ray cannot be reached or used."""


def one_line(exc: BaseException) -> str:
    """The message of an error on one line (for an OSError: its reason and file name), as the
    command line and the web demo report it."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return str(exc).strip().replace("\n", " | ") or type(exc).__name__
