"""The local web demo behind `dwpose serve` (Gradio): upload an image or a video, choose the style
and the parts, see the skeleton and the overlay, download the JSON (and, for a video, watch the pose
video on the page, in a codec browsers play, and download it with the per-frame JSON lines).

What the page can do is fixed at start: the models are the server's (the client names no file or
model), an upload is read only from Gradio's own upload folder, uploads and videos are capped,
and every request works in its own temporary folder, removed once Gradio has taken its outputs.
gradio is an optional dependency (`pip install dwpose[serve]`)."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .drawing import DEFAULT_STYLE, list_styles, render
from .errors import DWPoseError, InputError
from .fileio import write_json_atomic
from .formats import PoseResult
from .inference.io import VIDEO_SUFFIXES, read_image
from .inference.pipeline import WholebodyPipeline
from .inference.video import open_video, process_video

STALE_SECONDS = 3600  # a request folder older than this was abandoned (e.g. the page was closed)


@dataclass(frozen=True)
class Limits:
    max_upload_bytes: int = 20 * 1024 * 1024
    max_video_seconds: float = 30.0


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
            return self._image(read_image(path), path.stem, style, parts, controlnet_compat, request_dir)
        except (DWPoseError, OSError) as exc:
            from .cli.main import one_line

            message = one_line(exc)
            if path is not None:  # the file's name, not where the server keeps it
                message = message.replace(str(path), path.name).replace(str(upload), path.name)
            return Outcome(None, None, None, [], f"**Error:** {message}")

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
        if seconds > self.limits.max_video_seconds:
            raise InputError(f"{path.name} lasts {seconds:.1f} s; this server takes videos up to "
                             f"{self.limits.max_video_seconds:g} s (--max-video-seconds)")
        summary = process_video(self.pipeline, path, request_dir, lambda r: render(r, style, **parts),
                                lambda r: r.to_openpose_json(**parts, controlnet_compat=compat), progress=True)
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
        request_dir = demo.new_request_dir()
        parts = dict(include_body=body, include_hand=hand, include_face=face, include_foot=foot)
        if style not in list_styles():  # the choices are fixed, but a client may send anything
            style = DEFAULT_STYLE
        outcome = demo.process(upload, style, parts, bool(compat), request_dir)
        return (outcome.skeleton, outcome.overlay, outcome.data, outcome.files or None, outcome.video,
                outcome.message, str(request_dir))

    with gr.Blocks(title=title, analytics_enabled=False, delete_cache=(600, STALE_SECONDS)) as app:
        gr.Markdown(f"# {title}: whole-body pose estimation\nUpload a photo or a short video. "
                    f"Models: `{demo.pipeline.device_info}`.")
        request_dir = gr.State(None)
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
                     [skeleton, overlay, data, files, video, status, request_dir], concurrency_limit=1) \
            .then(demo.remove, request_dir, None)
    return app


def temporary_root() -> Path:
    return Path(tempfile.mkdtemp(prefix="dwpose-serve-"))
