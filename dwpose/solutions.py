"""Ready-made entry points in the shapes users know from rtmlib and controlnet_aux, as thin
adapters over `WholebodyPipeline`. Weights default to the official DWPose files, resolved
through the cache (downloaded on first use)."""

from __future__ import annotations

import os

import cv2
import numpy as np

from .drawing import DEFAULT_STYLE, controlnet_resize, controlnet_size, get_style, render
from .errors import InputError
from .inference.io import from_pil, to_bgr
from .inference.pipeline import WholebodyPipeline
from .formats import PoseResult
from .weights import DEFAULT_DETECTOR, DEFAULT_POSE, resolve_weights


def _pipeline(det: str | os.PathLike | None, pose: str | os.PathLike, backend: str, device: str,
              det_arch: str | None, dtype: str) -> WholebodyPipeline:
    return WholebodyPipeline.from_files(
        resolve_weights(pose), resolve_weights(det) if det is not None else None,
        backend=backend, device=device, dtype=dtype, detector_arch=det_arch)


class Wholebody:
    """rtmlib-style: `Wholebody(...)(bgr_image) -> (keypoints (N, 133, 2), scores (N, 133))`.

    With `to_openpose=True` the 134-point OpenPose-ordered layout is returned instead.
    `det=None` runs without a detector (whole image, or the `bboxes` passed per call).
    """

    def __init__(self, det: str | os.PathLike | None = DEFAULT_DETECTOR, pose: str | os.PathLike = DEFAULT_POSE,
                 backend: str = "onnxruntime", device: str = "cpu", to_openpose: bool = False,
                 det_arch: str | None = None, dtype: str = "float32") -> None:
        self.pipeline = _pipeline(det, pose, backend, device, det_arch, dtype)
        self.to_openpose = to_openpose

    def __call__(self, image: np.ndarray, bboxes: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        result = self.pipeline(to_bgr(image), bboxes)
        if self.to_openpose:
            info = result.to_openpose134()
            return info[..., :2], info[..., 2]
        return result.keypoints, result.scores


class DWposeDetector:
    """controlnet_aux / easy_dwpose-style: an RGB image (PIL or array) in, the ControlNet pose
    conditioning image out (PIL by default). `style` names the drawing (`dwpose.drawing.STYLES`;
    a call may override it)."""

    def __init__(self, det_model: str | os.PathLike | None = DEFAULT_DETECTOR,
                 pose_model: str | os.PathLike = DEFAULT_POSE, device: str = "cpu",
                 backend: str = "onnxruntime", det_arch: str | None = None, dtype: str = "float32",
                 style: str = DEFAULT_STYLE) -> None:
        self.style = get_style(style).name  # an unknown name fails here, before any weights load
        self.pipeline = _pipeline(det_model, pose_model, backend, device, det_arch, dtype)

    def detect(self, input_image: object, detect_resolution: int = 512) -> PoseResult:
        """Poses in the pixels of the image resized to `detect_resolution` (as ControlNet does)."""
        return self.pipeline(controlnet_resize(self._bgr(input_image), detect_resolution))

    @staticmethod
    def _bgr(input_image: object) -> np.ndarray:
        return from_pil(input_image) if hasattr(input_image, "mode") else to_bgr(np.asarray(input_image), "rgb")

    def __call__(self, input_image: object, detect_resolution: int = 512, image_resolution: int = 512,
                 include_body: bool = True, include_hand: bool = True, include_face: bool = True,
                 include_foot: bool = False, output_type: str = "pil", return_json: bool = False,
                 style: str | None = None):
        if output_type not in ("pil", "np"):
            raise InputError(f"output_type must be 'pil' or 'np', got {output_type!r}")
        bgr = self._bgr(input_image)
        result = self.pipeline(controlnet_resize(bgr, detect_resolution))
        canvas = render(result, style or self.style, include_body=include_body, include_hand=include_hand,
                        include_face=include_face, include_foot=include_foot)
        # The map is resized to the generation size derived from the original input, as ControlNet does.
        output_size = controlnet_size((bgr.shape[1], bgr.shape[0]), image_resolution)
        canvas = cv2.resize(canvas, output_size, interpolation=cv2.INTER_LINEAR)
        image: object = canvas
        if output_type == "pil":
            from PIL import Image

            image = Image.fromarray(canvas)
        if return_json:
            return image, result.to_openpose_json(include_body, include_hand, include_face, include_foot)
        return image
