"""The local web demo behind `dwpose serve` (Gradio): upload an image or a video, choose the style
and the parts, see the skeleton and the overlay, download the JSON (and, for a video, watch the pose
video on the page, in a codec browsers play, and download it with the per-frame JSON lines).

What the page can do is fixed at start: the models are the server's (the client names no file or
model), an upload is read only from Gradio's own upload folder, uploads and videos are capped,
and every request works in its own temporary folder, which the server removes when the request
ends (its outputs copied into Gradio's cache first), whatever the client does next. Images are
capped in pixels from their header, before decoding; videos in frames and pixels as they are
decoded (a header's frame count or frame rate is never trusted).
gradio is an optional dependency (`pip install 'dwpose-toolkit[serve]'`)."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from .drawing import DEFAULT_STYLE, list_styles, render
from .errors import DWPoseError, InputError, one_line
from .fileio import write_json_atomic
from .inference.io import image_header_size, read_image
from .inference.pipeline import WholebodyPipeline
from .inference.video import open_video, process_video
from .media import VIDEO_SUFFIXES, check_image_size
from .result import PoseResult

STALE_SECONDS = 3600  # a request folder older than this was abandoned (e.g. the page was closed)


@dataclass(frozen=True)
class Limits:
    max_upload_bytes: int = 20 * 1024 * 1024
    max_video_seconds: float = 30.0      # decoded frames / frame rate
    max_image_pixels: int = 50_000_000   # one image, or one video frame
    max_video_frames: int = 1800         # decoded frames (30 s at 60 fps), whatever the frame rate says
    max_video_pixels: int = 2_000_000_000  # decoded pixels of one video (about 30 s of 1080p at 30 fps)


@dataclass
class Outcome:
    """What one request shows: the images, the JSON, files to download and a status line."""

    skeleton: np.ndarray | None
    overlay: np.ndarray | None
    data: dict | None
    files: list[str]
    message: str
    video: str | None = None  # the pose video of a video request, played on the page


class PoseDemo:
    """The work of the page, without Gradio: one pipeline (fixed at start), a temporary root that
    holds a folder per request."""

    def __init__(self, pipeline: WholebodyPipeline, root: str | os.PathLike, limits: Limits = Limits(),
                 upload_dir: str | os.PathLike | None = None) -> None:
        self.pipeline, self.limits = pipeline, limits
        self.root = Path(root)
        self.requests = self.root / "requests"
        self.requests.mkdir(parents=True, exist_ok=True)
        self.upload_dir = Path(upload_dir).resolve() if upload_dir is not None else None

    def new_request_dir(self) -> Path:
        self.sweep()
        path = self.requests / uuid.uuid4().hex
        path.mkdir()
        return path

    def sweep(self, older_than: float = STALE_SECONDS) -> None:
        """Removes request folders left behind by requests that never finished."""
        now = time.time()
        for path in self.requests.iterdir():
            try:
                if now - path.stat().st_mtime > older_than:
                    shutil.rmtree(path, ignore_errors=True)
            except OSError:
                pass

    def remove(self, request_dir: str | None) -> None:
        """Removes one request's folder (its outputs are in Gradio's cache by now)."""
        if request_dir:
            path = Path(request_dir).resolve()
            if path.parent == self.requests.resolve():
                shutil.rmtree(path, ignore_errors=True)

    def handle(self, upload: str | None, style: str, parts: dict, controlnet_compat: bool,
               keep: Callable[[str], str]) -> Outcome:
        """One request from start to end: a folder of its own, the outputs handed to `keep` (which
        copies them where they are served from and returns the new path), the folder removed."""
        request_dir = self.new_request_dir()
        try:
            outcome = self.process(upload, style, parts, controlnet_compat, request_dir)
            kept = {path: keep(path) for path in outcome.files}
            outcome.files = list(kept.values())
            if outcome.video is not None:  # the page plays the copy that is served, not the removed one
                outcome.video = kept.get(outcome.video) or keep(outcome.video)
            return outcome
        finally:
            self.remove(str(request_dir))

    def check_upload(self, upload: str | None) -> Path:
        if not upload:
            raise InputError("upload an image or a video first")
        path = Path(upload).resolve()
        if self.upload_dir is not None and self.upload_dir not in path.parents:
            raise InputError("only files uploaded through this page are read")
        size = path.stat().st_size
        if size > self.limits.max_upload_bytes:
            raise InputError(f"{path.name} is {size / 2**20:.1f} MB; this server takes up to "
                             f"{self.limits.max_upload_bytes / 2**20:.3g} MB (--max-upload-mb)")
        return path

    def process(self, upload: str | None, style: str, parts: dict, controlnet_compat: bool,
                request_dir: Path) -> Outcome:
        """Poses of the uploaded file; a user error (unreadable file, too long a video) becomes
        the outcome's message instead of an exception."""
        path = None
        try:
            path = self.check_upload(upload)
            if path.suffix.lower() in VIDEO_SUFFIXES:
                return self._video(path, style, parts, controlnet_compat, request_dir)
            size = image_header_size(path)
            if size is not None:  # refused before its pixels are decoded
                self._check_pixels(*size, path.name)
            image = read_image(path)
            self._check_pixels(image.shape[1], image.shape[0], path.name)
            return self._image(image, path.stem, style, parts, controlnet_compat, request_dir)
        except (DWPoseError, OSError) as exc:
            message = one_line(exc)
            if path is not None:  # the file's name, not where the server keeps it
                message = message.replace(str(path), path.name).replace(str(upload), path.name)
            return Outcome(None, None, None, [], f"**Error:** {message}")

    def _check_pixels(self, width: int, height: int, name: str) -> None:
        check_image_size(width, height, name)
        cap = self.limits.max_image_pixels
        if width * height > cap:
            raise InputError(f"{name} is {width}x{height} px ({width * height / 1e6:.3g} MP); this server takes "
                             f"images and video frames up to {cap / 1e6:.3g} MP (--max-image-megapixels)")

    def _frame_budget(self, name: str, fps: float) -> Callable[[np.ndarray], None]:
        """A check of every decoded frame against the video caps of one request."""
        limits = self.limits
        count = pixels = 0

        def check(frame: np.ndarray) -> None:
            nonlocal count, pixels
            count += 1
            pixels += frame.shape[0] * frame.shape[1]
            self._check_pixels(frame.shape[1], frame.shape[0], f"{name} (frame {count})")  # a size may change
            if count > limits.max_video_frames:
                raise InputError(f"{name} has more than {limits.max_video_frames} frames; this server takes videos "
                                 f"up to {limits.max_video_frames} frames (--max-video-frames)")
            if count / fps > limits.max_video_seconds:
                raise InputError(f"{name} lasts more than {limits.max_video_seconds:g} s; this server takes videos "
                                 f"up to {limits.max_video_seconds:g} s (--max-video-seconds)")
            if pixels > limits.max_video_pixels:
                raise InputError(f"{name} has more than {limits.max_video_pixels / 1e6:.4g} million pixels in its "
                                 f"first {count} frames; this server takes up to {limits.max_video_pixels / 1e6:.4g} "
                                 "million per video (--max-video-megapixels)")

        return check

    def _draw(self, result: PoseResult, rgb: np.ndarray, style: str, parts: dict) -> tuple[np.ndarray, np.ndarray]:
        return render(result, style, **parts), render(result, style, **parts, image=rgb)

    def _image(self, bgr: np.ndarray, stem: str, style: str, parts: dict, compat: bool, request_dir: Path) -> Outcome:
        result = self.pipeline(bgr)
        skeleton, over = self._draw(result, np.ascontiguousarray(bgr[..., ::-1]), style, parts)
        data = result.to_openpose_json(**parts, controlnet_compat=compat)
        json_path = write_json_atomic(request_dir / f"{stem}.json", data)
        height, width = bgr.shape[:2]
        return Outcome(skeleton, over, data, [str(json_path)],
                       f"{len(result)} person(s) found in {stem} ({width}x{height}).")

    def _video(self, path: Path, style: str, parts: dict, compat: bool, request_dir: Path) -> Outcome:
        capture = open_video(path)
        try:
            fps = capture.get(cv2.CAP_PROP_FPS) or 0.0
            frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
            ok, first = capture.read()
        finally:
            capture.release()
        if not ok or fps <= 0 or frames <= 0:
            raise InputError(f"{path.name}: cannot read its frames or its length")
        seconds = frames / fps
        if seconds > self.limits.max_video_seconds:  # an honest header is refused at once; the rest as decoded
            raise InputError(f"{path.name} lasts {seconds:.1f} s; this server takes videos up to "
                             f"{self.limits.max_video_seconds:g} s (--max-video-seconds)")
        self._check_pixels(first.shape[1], first.shape[0], f"{path.name} (frame 1)")
        summary = process_video(self.pipeline, path, request_dir, lambda r: render(r, style, **parts),
                                lambda r: r.to_openpose_json(**parts, controlnet_compat=compat), progress=True,
                                check_frame=self._frame_budget(path.name, fps))
        preview = self.pipeline(first)
        skeleton, over = self._draw(preview, np.ascontiguousarray(first[..., ::-1]), style, parts)
        data = {"frames": summary.frames, "fps": summary.fps,
                "first_frame": preview.to_openpose_json(**parts, controlnet_compat=compat)}
        return Outcome(skeleton, over, data, [str(summary.video_path), str(summary.jsonl_path)],
                       f"{summary.frames} frames of {path.name} done; first frame shown, all frames in the "
                       "pose video and the downloads.", video=str(summary.video_path))


def build_app(demo: PoseDemo, title: str = "dwpose") -> object:
    """The Gradio page of `demo`."""
    import gradio as gr

    def run(upload, style, body, hand, face, foot, compat, progress=gr.Progress(track_tqdm=True)):
        parts = dict(include_body=body, include_hand=hand, include_face=face, include_foot=foot)
        if style not in list_styles():  # the choices are fixed, but a client may send anything
            style = DEFAULT_STYLE
        # The outputs go into Gradio's cache before the request folder is removed, here, by the
        # server: an API client that never runs a follow-up event leaves nothing behind.
        outcome = demo.handle(upload, style, parts, bool(compat), files.move_resource_to_block_cache)
        return (outcome.skeleton, outcome.overlay, outcome.data, outcome.files or None, outcome.video,
                outcome.message)

    with gr.Blocks(title=title, analytics_enabled=False, delete_cache=(600, STALE_SECONDS)) as app:
        gr.Markdown(f"# {title}: whole-body pose estimation\nUpload a photo or a short video. "
                    f"Models: `{demo.pipeline.device_info}`.")
        with gr.Row():
            with gr.Column():
                upload = gr.File(label="Image or video", file_types=["image", "video"], type="filepath",
                                 elem_id="upload")
                style = gr.Dropdown(list_styles(), value=DEFAULT_STYLE, label="Style", elem_id="style")
                with gr.Row():
                    body = gr.Checkbox(True, label="Body")
                    hand = gr.Checkbox(True, label="Hands")
                    face = gr.Checkbox(True, label="Face")
                    foot = gr.Checkbox(False, label="Feet")
                compat = gr.Checkbox(False, label="ControlNet JSON (c = 1.0 for present points)")
                button = gr.Button("Estimate poses", variant="primary", elem_id="run")
                status = gr.Markdown("", elem_id="status")
            with gr.Column():
                skeleton = gr.Image(label="Skeleton", type="numpy", format="png", elem_id="skeleton")
                overlay = gr.Image(label="Overlay", type="numpy", format="png", elem_id="overlay")
                video = gr.Video(label="Pose video", elem_id="pose_video", interactive=False)
                data = gr.JSON(label="OpenPose JSON", elem_id="json")
                files = gr.File(label="Downloads", file_count="multiple", elem_id="downloads")
        button.click(run, [upload, style, body, hand, face, foot, compat],
                     [skeleton, overlay, data, files, video, status], concurrency_limit=1, api_name="run")
    return app


def temporary_root() -> Path:
    return Path(tempfile.mkdtemp(prefix="dwpose-serve-"))
