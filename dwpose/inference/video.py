"""Video: streamed decoding (a batch of frames in memory at a time), batched detection and
pose, optional detection every k frames with IoU tracking, One-Euro smoothing; writes the
skeleton video and one JSON line per frame. OpenCV gets the file names through
`io.opencv_path` (never a name it could crash on), and both outputs appear under their final
names only once the whole video is done."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np

from ..errors import VideoReadError
from ..formats import PoseResult
from .io import opencv_path
from .outputs import Interruption, fsync_path, staged_outputs
from .pipeline import WholebodyPipeline
from .tracking import IoUTracker, OneEuroFilter


@dataclass
class VideoSummary:
    frames: int
    fps: float
    video_path: Path
    jsonl_path: Path
    expected_frames: int | None = None  # as announced by the container (None: unknown)
    people: int = 0  # people over all frames
    most_people: int = 0  # in one frame
    frames_without_people: int = 0

    @property
    def complete(self) -> bool:
        """False when decoding stopped before the announced number of frames."""
        return self.expected_frames is None or self.frames >= self.expected_frames


def open_video(path: str | os.PathLike) -> cv2.VideoCapture:
    """An opened capture of `path`, whatever its name (OpenCV gets an ASCII alias)."""
    with opencv_path(path) as name:
        capture = cv2.VideoCapture(name)
    # The decoder keeps the file open, so the alias may go as soon as the capture is open.
    if not capture.isOpened():
        raise VideoReadError(f"{path}: cannot open as a video")
    return capture


def iter_frame_batches(path: str | os.PathLike, batch_size: int, prefetch: int = 2) -> Iterator[list[np.ndarray]]:
    """Batches of decoded frames. Decoding runs in a background thread, `prefetch` batches
    ahead, so it overlaps with inference (OpenCV releases the GIL while decoding)."""
    import queue
    import threading

    capture = open_video(path)
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
            box = np.concatenate([confident.min(0), confident.max(0)])
            if (box[2:] > box[:2]).all():  # points on a line give no box: keep this frame's
                boxes[i] = box
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
    stem: str | None = None,
    interruption: Interruption | None = None,
    user_boxes: Callable[[np.ndarray], np.ndarray] | None = None,
    check_frame: Callable[[np.ndarray], None] | None = None,
) -> VideoSummary:
    """Run the pipeline over a video. `render` turns a result into an RGB skeleton image;
    `openpose_json` into the per-frame JSON record. Writes `<stem>_pose.mp4` (or `.webm`:
    `video_codec`) and `<stem>.jsonl`
    (`stem`: the video's own unless given) under temporary names and renames them into place at
    the end, so a video with no decodable frame, a failure or a stop leaves nothing behind.
    `interruption` is checked between batches: once Ctrl-C was pressed the video is abandoned
    with KeyboardInterrupt. A video that ends before its announced frame count still gets its
    outputs; `VideoSummary.complete` says so. `user_boxes` (the `--boxes` entry of the video)
    gives the person boxes of the first frame, used on every frame instead of the detector.
    `check_frame` sees every decoded frame before it is posed and may raise to abandon the video
    (a server's frame and pixel budget)."""
    from ..progress import progress as progress_bar

    path = Path(path)
    capture = open_video(path)
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    announced = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    total = announced if announced > 0 else None
    capture.release()

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = stem or path.stem
    fourcc, suffix = video_codec()
    video_path, jsonl_path = out_dir / f"{stem}_pose{suffix}", out_dir / f"{stem}.jsonl"
    tracker = IoUTracker()
    smoother = OneEuroFilter() if smooth else None
    previous: PoseResult | None = None
    index = 0
    summary = VideoSummary(0, fps, video_path, jsonl_path, total)
    fixed_boxes: np.ndarray | None = None
    bar = progress_bar(total=total, unit="frame", desc=path.name, disable=not progress, leave=False)
    with staged_outputs([video_path, jsonl_path], interruption) as (video_tmp, jsonl_tmp):
        with bar, open(jsonl_tmp, "w", encoding="utf-8") as jsonl, contextlib.ExitStack() as video:
            writer: cv2.VideoWriter | None = None
            for frames in iter_frame_batches(path, batch_size if detect_every == 1 or user_boxes is not None else 1):
                if interruption is not None:
                    interruption.check()
                if check_frame is not None:
                    for frame in frames:
                        check_frame(frame)
                if user_boxes is not None:
                    if fixed_boxes is None:  # clipped to the frame (all frames share its size)
                        fixed_boxes = user_boxes(frames[0])
                    results = pipeline.predict_batch(frames, [fixed_boxes] * len(frames), clip=False)
                elif detect_every == 1 or previous is None or index % detect_every == 0:
                    results = pipeline.predict_batch(frames)
                else:  # follow last frame's people without running the detector
                    results = pipeline.predict_batch(frames, [_boxes_from_keypoints(previous)], clip=False)
                for result in results:
                    result.track_ids = tracker.update(result.boxes)
                    if smoother is not None:
                        for i, track in enumerate(result.track_ids):
                            result.keypoints[i] = smoother(int(track), result.keypoints[i], index / fps)
                    skeleton = np.ascontiguousarray(render(result)[..., ::-1])
                    if writer is None:  # sized by the first rendered frame (--resolution may differ)
                        writer = _open_writer(video, video_tmp, fourcc, fps, skeleton.shape[1::-1], video_path)
                    writer.write(skeleton)
                    record = {"frame": index, "time": round(index / fps, 4),
                              "track_ids": result.track_ids.tolist(), **openpose_json(result)}
                    jsonl.write(json.dumps(record) + "\n")
                    previous = result
                    summary.people += len(result)
                    summary.most_people = max(summary.most_people, len(result))
                    summary.frames_without_people += len(result) == 0
                    index += 1
                    bar.update(1)
            jsonl.flush()
            os.fsync(jsonl.fileno())
        if index == 0:
            raise VideoReadError(f"{path}: no decodable frames")
        fsync_path(video_tmp)
    summary.frames = index
    return summary


def _open_writer(
    stack: contextlib.ExitStack, path: Path, fourcc: str, fps: float, size: tuple[int, int], final: Path
) -> cv2.VideoWriter:
    """A `fourcc` writer on `path` released (file completed) when `stack` closes."""
    name = stack.enter_context(opencv_path(path))
    writer = cv2.VideoWriter(name, cv2.VideoWriter_fourcc(*fourcc), fps, size)
    stack.callback(writer.release)
    if not writer.isOpened():
        raise OSError(f"cannot write the video {final}")
    return writer


# Codecs that browsers play, best first: H.264 in MP4 (everywhere, Safari included), else VP9 in
# WebM (Chrome, Firefox, Edge, Safari 14.1+). The pip wheels of OpenCV ship an FFmpeg without
# an H.264 encoder (no libx264, for licence reasons) but with VP9; MPEG-4 Part 2 ("mp4v") is
# the last resort: it plays in desktop players but not in browsers.
BROWSER_CODECS: tuple[tuple[str, str], ...] = (("avc1", ".mp4"), ("VP90", ".webm"))
FALLBACK_CODEC = ("mp4v", ".mp4")
_probe_lock = threading.Lock()


@functools.lru_cache(maxsize=None)
def video_codec() -> tuple[str, str]:
    """(fourcc, file suffix) of the pose videos: the first of `BROWSER_CODECS` this OpenCV build
    can encode (tried once per process by writing a few frames to a temporary file), else
    `FALLBACK_CODEC`. The one place that decides both."""
    with _probe_lock, tempfile.TemporaryDirectory(prefix="dwpose-codec-") as folder:
        for fourcc, suffix in BROWSER_CODECS:
            if _can_encode(Path(folder) / f"probe{suffix}", fourcc):
                return fourcc, suffix
    return FALLBACK_CODEC


def _can_encode(path: Path, fourcc: str) -> bool:
    frame = np.zeros((64, 64, 3), np.uint8)
    with _quiet_stderr():  # a missing encoder makes FFmpeg/OpenCV print errors on fd 2
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 10.0, (64, 64))
        try:
            if not writer.isOpened():
                return False
            for _ in range(3):
                writer.write(frame)
        finally:
            writer.release()
    return path.is_file() and path.stat().st_size > 0


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence file descriptor 2 (C libraries write there, bypassing sys.stderr)."""
    try:
        saved = os.dup(2)
    except OSError:  # no fd 2 at all: nothing to silence
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            try:
                yield
            finally:
                os.dup2(saved, 2)
    finally:
        os.close(saved)
