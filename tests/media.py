"""Small video helpers shared by the tests."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def write_video(path: Path, frames: list[np.ndarray], fourcc: str = "MJPG", fps: float = 10.0,
                size: tuple[int, int] = (64, 48)) -> Path:
    """A video of BGR `frames` (none: an empty video of `size`, which opens but has no frame)."""
    height, width = frames[0].shape[:2] if frames else size[::-1]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (width, height))
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def count_frames(path: Path | str) -> int:
    """Frames that really decode (not the container's announced count)."""
    capture = cv2.VideoCapture(str(path))
    count = 0
    while capture.read()[0]:
        count += 1
    return count
