"""Video: streamed decoding (a batch of frames in memory at a time), batched detection and
pose, optional detection every k frames with IoU tracking, One-Euro smoothing; writes the
skeleton video and one JSON line per frame, flushed as it goes."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np

from ..errors import DWPoseError
from ..formats import PoseResult
from .pipeline import WholebodyPipeline
from .tracking import IoUTracker, OneEuroFilter


class VideoReadError(DWPoseError, ValueError):
    """A file that cannot be decoded as a video."""


@dataclass
class VideoSummary:
    frames: int
    fps: float
    video_path: Path
    jsonl_path: Path


def iter_frame_batches(path: str | os.PathLike, batch_size: int, prefetch: int = 2) -> Iterator[list[np.ndarray]]:
    """Batches of decoded frames. Decoding runs in a background thread, `prefetch` batches
    ahead, so it overlaps with inference (OpenCV releases the GIL while decoding)."""
    import queue
    import threading

    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise VideoReadError(f"{path}: cannot open as a video")
    batches: queue.Queue = queue.Queue(maxsize=max(prefetch, 1))
    stop = threading.Event()
    end = object()

    def read() -> None:
        try:
            batch: list[np.ndarray] = []
            while not stop.is_set():
                ok, frame = capture.read()
                if not ok:
                    break
                batch.append(frame)
                if len(batch) == batch_size:
                    batches.put(batch)
                    batch = []
            if batch and not stop.is_set():
                batches.put(batch)
        finally:
            batches.put(end)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        while (item := batches.get()) is not end:
            yield item
    finally:
        stop.set()
        while reader.is_alive():  # unblock a reader waiting on a full queue
            try:
                batches.get_nowait()
            except queue.Empty:
                pass
            reader.join(timeout=0.05)
        capture.release()


def _boxes_from_keypoints(result: PoseResult, threshold: float = 0.3) -> np.ndarray:
    """Person boxes for the next frame from this frame's confident body/foot keypoints."""
    boxes = result.boxes.copy()
    for i in range(len(result)):
        confident = result.keypoints[i, :23][result.scores[i, :23] > threshold]
        if len(confident) >= 2:
            boxes[i] = np.concatenate([confident.min(0), confident.max(0)])
    return boxes


def process_video(
    pipeline: WholebodyPipeline,
    path: str | os.PathLike,
    out_dir: str | os.PathLike,
    render: Callable[[PoseResult], np.ndarray],
    openpose_json: Callable[[PoseResult], dict],
    batch_size: int = 8,
    detect_every: int = 1,
    smooth: bool = False,
    progress: bool = True,
) -> VideoSummary:
    """Run the pipeline over a video. `render` turns a result into an RGB skeleton image of the
    frame size; `openpose_json` into the per-frame JSON record."""
    from tqdm import tqdm

    path = Path(path)
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise VideoReadError(f"{path}: cannot open as a video")
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) or None
    capture.release()

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    video_path = out_dir / f"{path.stem}_pose.mp4"
    jsonl_path = out_dir / f"{path.stem}.jsonl"
    tracker = IoUTracker()
    smoother = OneEuroFilter() if smooth else None
    writer: cv2.VideoWriter | None = None
    previous: PoseResult | None = None
    index = 0
    bar = tqdm(total=total, unit="frame", desc=path.name, disable=not progress, leave=False)
    try:
        with jsonl_path.open("w") as jsonl:
            for frames in iter_frame_batches(path, batch_size if detect_every == 1 else 1):
                if detect_every == 1 or previous is None or index % detect_every == 0:
                    results = pipeline.predict_batch(frames)
                else:  # follow last frame's people without running the detector
                    results = pipeline.predict_batch(frames, [_boxes_from_keypoints(previous)])
                for frame, result in zip(frames, results):
                    result.track_ids = tracker.update(result.boxes)
                    if smoother is not None:
                        for i, track in enumerate(result.track_ids):
                            result.keypoints[i] = smoother(int(track), result.keypoints[i], index / fps)
                    if writer is None:
                        height, width = frame.shape[:2]
                        writer = cv2.VideoWriter(str(video_path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
                    writer.write(np.ascontiguousarray(render(result)[..., ::-1]))
                    record = {"frame": index, "time": round(index / fps, 4),
                              "track_ids": result.track_ids.tolist(), **openpose_json(result)}
                    jsonl.write(json.dumps(record) + "\n")
                    jsonl.flush()
                    previous = result
                    index += 1
                    bar.update(1)
    finally:
        bar.close()
        if writer is not None:
            writer.release()
    if index == 0:
        raise VideoReadError(f"{path}: no decodable frames")
    return VideoSummary(index, fps, video_path, jsonl_path)
