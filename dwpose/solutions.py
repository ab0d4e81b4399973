"""Ready-made entry points in the shapes users know from rtmlib and controlnet_aux, as thin
adapters over `WholebodyPipeline`. Weights default to the official DWPose files; `Wholebody`'s
`mode=` picks rtmlib's RTMW presets instead. Files are resolved through the cache (downloaded on
first use)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from .drawing import DEFAULT_STYLE, controlnet_resize, controlnet_size, get_style, render
from .errors import InputError
from .inference.io import from_pil, to_bgr
from .inference.pipeline import WholebodyPipeline
from .formats import PoseResult
from .weights import DEFAULT_DETECTOR, DEFAULT_POSE, resolve_weights


def _pipeline(det: str | os.PathLike | None, pose: str | os.PathLike, backend: str, device: str,
              det_arch: str | None, dtype: str, det_input_size: tuple[int, int] | None = None) -> WholebodyPipeline:
    return WholebodyPipeline.from_files(
        resolve_weights(pose, backend=backend), resolve_weights(det, backend=backend) if det is not None else None,
        backend=backend, device=device, dtype=dtype, detector_arch=det_arch, detector_input_size=det_input_size)


@dataclass(frozen=True)
class Preset:
    pose: str                           # registry file name
    det: str                            # registry file name
    det_input_size: tuple[int, int] | None  # (width, height) of the detector input (None: 640x640)


# rtmlib's `Wholebody.MODE` (rtmlib/tools/solution/wholebody.py): the same ONNX SDK builds and
# detector input sizes (the pose input size is the file's own: 384x288 or 256x192).
MODES: dict[str, Preset] = {
    "performance": Preset("rtmw-dw-x-l_simcc-cocktail14_270e-384x288_20231122.onnx",
                          "yolox_m_8xb8-300e_humanart-c2c7a14a.onnx", (640, 640)),
    "balanced": Preset("rtmw-dw-x-l_simcc-cocktail14_270e-256x192_20231122.onnx",
                       "yolox_m_8xb8-300e_humanart-c2c7a14a.onnx", (640, 640)),
    "lightweight": Preset("rtmw-dw-l-m_simcc-cocktail14_270e-256x192_20231122.onnx",
                          "yolox_tiny_8xb8-300e_humanart-6f3252f9.onnx", (416, 416)),
}


class _FromMode:
    """Marks an argument left to `mode` (None already means "no detector")."""

    def __repr__(self) -> str:
        return "<from mode>"


FROM_MODE: Any = _FromMode()


class Wholebody:
    """rtmlib-style: `Wholebody(...)(bgr_image) -> (keypoints (N, 133, 2), scores (N, 133))`.

    `mode=` "performance", "balanced" or "lightweight" runs rtmlib's presets (RTMW pose model and
    Human-Art YOLOX, see `MODES`); `det` / `pose` given explicitly replace the preset's. Without
    a mode (the default, unlike rtmlib's "balanced") it is DWPose-l 384x288 with YOLOX-l, as
    before RTMW existed here. With `to_openpose=True` the 134-point OpenPose-ordered layout is
    returned instead. `det=None` runs without a detector (whole image, or the `bboxes` passed
    per call).
    """

    def __init__(self, det: str | os.PathLike | None = FROM_MODE, pose: str | os.PathLike = FROM_MODE,
                 backend: str = "onnxruntime", device: str = "cpu", to_openpose: bool = False,
                 det_arch: str | None = None, dtype: str = "float32", mode: str | None = None,
                 det_input_size: tuple[int, int] | None = None) -> None:
        if mode is not None and mode not in MODES:
            raise InputError(f"unknown mode {mode!r}; choose one of: {', '.join(MODES)} (or none for DWPose)")
        preset = MODES.get(mode) if mode is not None else Preset(DEFAULT_POSE, DEFAULT_DETECTOR, (640, 640))
        if det is FROM_MODE:
            det, det_input_size = preset.det, det_input_size or preset.det_input_size
        pose = preset.pose if pose is FROM_MODE else pose
        self.pipeline = _pipeline(det, pose, backend, device, det_arch, dtype, det_input_size)
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
