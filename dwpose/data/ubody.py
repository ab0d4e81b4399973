"""UBody frame extraction: videos -> `images/<scene>/<video>/%06d.png` at a fixed frame rate,
the layout the UBody annotations refer to (the authors used ffmpeg at 30 fps)."""

from __future__ import annotations

import os
from pathlib import Path

import cv2

from ..fileio import write_bytes_atomic, write_text_atomic
from ..inference.io import encode_png, opencv_path
from ..errors import DatasetError

VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v"}


def extract_frames(videos: str | os.PathLike, out: str | os.PathLike, fps: float = 30.0, progress: bool = True) -> int:
    """Extract every video under `videos` (`<scene>/<name>.mp4`, any depth) into
    `out/<same relative folder>/<name>/000001.png, ...`, resampled to `fps`. Videos whose
    folder is already complete are skipped, so an interrupted run can be restarted."""
    from ..progress import note, progress as progress_bar

    videos, out = Path(videos), Path(out)
    if not videos.is_dir():
        raise DatasetError(f"video folder not found: {videos}")
    files = sorted(p for p in videos.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES)
    done = 0
    for video in progress_bar(files, unit="video", disable=not progress):
        target = out / video.relative_to(videos).parent / video.stem
        marker = target / ".complete"
        if marker.exists():
            done += 1
            continue
        with opencv_path(video) as name:  # OpenCV crashes on some file names; it gets an alias
            capture = cv2.VideoCapture(name)
        if not capture.isOpened():
            note(f"skipped {video}: cannot open")
            continue
        source_fps = capture.get(cv2.CAP_PROP_FPS) or fps
        target.mkdir(parents=True, exist_ok=True)
        index, written = 0, 0
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            # Keep a frame each time the output clock passes a new 1/fps slot.
            if int(index * fps / source_fps) >= written:
                written += 1
                write_bytes_atomic(target / f"{written:06d}.png", encode_png(frame))
            index += 1
        capture.release()
        write_text_atomic(marker, str(written))
        done += 1
    return done
