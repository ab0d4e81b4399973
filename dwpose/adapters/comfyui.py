"""comfyui_controlnet_aux's `DwposeDetector` (Fannovel16/comfyui_controlnet_aux,
`custom_controlnet_aux.dwpose`). Switch with one line:
`from dwpose.adapters.comfyui import DwposeDetector`.

Its calls: `DwposeDetector.from_pretrained(pretrained_model_or_path,
pretrained_det_model_or_path=None, det_filename=None, pose_filename=None,
torchscript_device="cuda")` and `detector(input_image, detect_resolution=512,
include_body=True, include_hand=False, include_face=False, hand_and_face=None,
output_type="pil", image_and_json=False, upscale_method="INTER_CUBIC",
xinsr_stick_scaling=False)`. The poses are found and drawn (comfyui's drawing; xinsir's thicker
limbs with `xinsr_stick_scaling`) at the input's own resolution, then the map is resized so its
short side is `detect_resolution` with the exact aspect ratio (sides rounded, not to multiples
of 64; `upscale_method` when enlarging, area when shrinking; 0 keeps the input's size).
`image_and_json=True` returns (map, JSON), the JSON being exactly comfyui's
`encode_poses_as_dict` of the same poses: pixels of the input image, c = 1.0 for present points
(score >= 0.3), absent ones 0, 0, 0, a hand or the face None when none of its points is present.

`det_filename=None` means no detector, as in comfyui (the whole image is one person). Weights
come from a local folder (a path object, an absolute path, or one such as `./models`; an
`owner/name` string is always a hub repo id, never a folder of that name in the working
directory), or by file name through dwpose's verified cache (known files only);
the TorchScript files of the same weights are read as their ONNX files. `device`, `backend`
and `dtype` choose where they run (`torchscript_device` only concerns TorchScript and is
ignored). Added: `include_foot`, `style`, `controlnet_compat=False` for real scores in the JSON,
and `detect_batch` (many images through the pose network together)."""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from ..drawing import get_style, render
from ..errors import InputError
from ..inference.pipeline import WholebodyPipeline
from ..media import check_image_size
from ..result import PoseResult
from ._common import (
    PipelineHolder, as_output, check_flags, check_resolution, image_to_bgr, output_type_of, reject_unknown,
    resize_map,
)

__all__ = ["DwposeDetector", "UPSCALE_METHODS", "resize_short_side", "upscale_interpolation"]

UPSCALE_METHODS = ("INTER_NEAREST", "INTER_LINEAR", "INTER_AREA", "INTER_CUBIC", "INTER_LANCZOS4")
DWPOSE_MODEL_NAME = "yzd-v/DWPose"
_HUB_REPO_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")  # owner/name; "./x/y" or "x/y/z" stay folders
# comfyui's TorchScript files hold the same weights as these ONNX files.
_TORCHSCRIPT_EQUIVALENTS = {"dw-ll_ucoco_384_bs5.torchscript.pt": "dw-ll_ucoco_384.onnx",
                            "yolox_l.torchscript.pt": "yolox_l.onnx"}


def upscale_interpolation(upscale_method: str) -> int:
    """The OpenCV interpolation flag of one of comfyui's `UPSCALE_METHODS` names."""
    if upscale_method not in UPSCALE_METHODS:
        raise InputError(f"upscale_method must be one of {', '.join(UPSCALE_METHODS)}, got {upscale_method!r}")
    return getattr(cv2, upscale_method)


def resize_short_side(canvas: np.ndarray, resolution: int, upscale_method: str = "INTER_CUBIC") -> np.ndarray:
    """comfyui's `resize_image_with_pad` then `remove_pad`: the short side scaled to
    `resolution`, each side rounded (the exact aspect ratio); `upscale_method` when enlarging,
    INTER_AREA when shrinking; 0 leaves the image as it is."""
    interpolation = upscale_interpolation(upscale_method)
    height, width = canvas.shape[:2]
    if resolution == 0 or canvas.size == 0:
        return canvas
    k = float(resolution) / float(min(height, width))
    size = (int(np.round(float(width) * k)), int(np.round(float(height) * k)))
    check_image_size(*size, what=f"the pose image resized to resolution {resolution}")  # before allocating it
    return resize_map(canvas, size, interpolation if k > 1 else cv2.INTER_AREA)


def _weight_file(repo_or_folder: str | os.PathLike, filename: str) -> str | Path:
    filename = os.fspath(filename)
    if filename in _TORCHSCRIPT_EQUIVALENTS:
        warnings.warn(f"{filename}: TorchScript files are not read; using {_TORCHSCRIPT_EQUIVALENTS[filename]} "
                      "(the same weights)", stacklevel=3)
        filename = _TORCHSCRIPT_EQUIVALENTS[filename]
    if isinstance(repo_or_folder, str) and _HUB_REPO_ID.fullmatch(repo_or_folder):
        # a hub repo id such as the default yzd-v/DWPose, never a folder of that name that happens to
        # sit in the working directory (ComfyUI's): its files would be loaded unchecked
        return filename
    folder = Path(os.fspath(repo_or_folder)).expanduser()
    if folder.is_dir():
        path = folder / filename
        if not path.is_file():
            raise InputError(f"{filename} is not in the folder {folder}")
        return path
    return filename  # a hub repo id: the file is resolved by name (cache, else verified download)


class DwposeDetector(PipelineHolder):
    """comfyui-style: `DwposeDetector.from_pretrained(...)`, then call it on an RGB image (PIL or
    array); the constructor takes a ready `WholebodyPipeline` (comfyui's takes its estimator)."""

    def __init__(self, dw_pose_estimation: WholebodyPipeline) -> None:
        if not isinstance(dw_pose_estimation, WholebodyPipeline):
            raise InputError("DwposeDetector() takes a WholebodyPipeline; use DwposeDetector.from_pretrained(...) "
                             f"to load weights, got {type(dw_pose_estimation).__name__}")
        self.pipeline = dw_pose_estimation
        self.device = None  # unknown: .to() needs from_pretrained's files

    @classmethod
    def from_pretrained(cls, pretrained_model_or_path: str | os.PathLike = DWPOSE_MODEL_NAME,
                        pretrained_det_model_or_path: str | os.PathLike | None = None,
                        det_filename: str | None = None, pose_filename: str | None = None,
                        torchscript_device: object = "cuda", *, device: object = "cpu", backend: str | None = None,
                        dtype: str = "float32", det_arch: str | None = None) -> "DwposeDetector":
        det_repo = pretrained_det_model_or_path or pretrained_model_or_path
        pose = _weight_file(pretrained_model_or_path, pose_filename or "dw-ll_ucoco_384.onnx")
        det = _weight_file(det_repo, det_filename) if det_filename is not None else None
        detector = cls.__new__(cls)
        detector._build(det, pose, backend, device, det_arch, dtype)
        return detector

    def to(self, device: object) -> "DwposeDetector":
        if getattr(self, "_files", None) is None:
            raise InputError("this detector was made from a pipeline: build it with "
                             "DwposeDetector.from_pretrained(..., device=...) to move it")
        return super().to(device)

    def detect(self, input_image: object) -> PoseResult:
        """Poses in the pixels of the input image."""
        return self.detect_bgr(image_to_bgr(input_image))

    def detect_batch(self, images: Sequence[object]) -> list[PoseResult]:
        """Poses of several images; every person of every image goes through the pose network
        in one batch (images with no pixels have no people)."""
        bgrs = [image_to_bgr(image) for image in images]
        found = iter(self.pipeline.predict_batch([b for b in bgrs if b.size]) if any(b.size for b in bgrs) else [])
        return [next(found) if b.size else PoseResult.empty((b.shape[1], b.shape[0])) for b in bgrs]

    def __call__(self, input_image: object = None, detect_resolution: int = 512, include_body: bool = True,
                 include_hand: bool = False, include_face: bool = False, hand_and_face: bool | None = None,
                 output_type: object = "pil", image_and_json: bool = False, upscale_method: str = "INTER_CUBIC",
                 xinsr_stick_scaling: bool = False, include_foot: bool = False, style: str | None = None,
                 controlnet_compat: bool = True, **kwargs):
        if "img" in kwargs:
            warnings.warn("img is deprecated, please use `input_image=...` instead.", DeprecationWarning, stacklevel=2)
            input_image = kwargs.pop("img")
        if input_image is None:
            raise InputError("input_image must be defined.")
        if hand_and_face is not None:
            warnings.warn("hand_and_face is deprecated. Use include_hand and include_face instead.",
                          DeprecationWarning, stacklevel=2)
            include_hand = include_face = hand_and_face
        # comfyui: output_type=None gives PIL for a PIL input and an array for an array.
        output_type = output_type_of(output_type, kwargs, default="np" if isinstance(input_image, np.ndarray) else "pil")
        reject_unknown(kwargs, "DwposeDetector()")
        options = dict(detect_resolution=detect_resolution, include_body=include_body, include_hand=include_hand,
                       include_face=include_face, output_type=output_type, image_and_json=image_and_json,
                       upscale_method=upscale_method, xinsr_stick_scaling=xinsr_stick_scaling,
                       include_foot=include_foot, style=style, controlnet_compat=controlnet_compat)
        self._check_options(**options)
        return self.render_result(self.detect(input_image), **options)

    @staticmethod
    def _check_options(detect_resolution: int, include_body: bool, include_hand: bool, include_face: bool,
                       output_type: str, image_and_json: bool, upscale_method: str, xinsr_stick_scaling: bool,
                       include_foot: bool, style: str | None, controlnet_compat: bool) -> str:
        check_resolution(detect_resolution, "detect_resolution", allow_zero=True)
        check_flags(include_body=include_body, include_hand=include_hand, include_face=include_face,
                    image_and_json=image_and_json, xinsr_stick_scaling=xinsr_stick_scaling,
                    include_foot=include_foot, controlnet_compat=controlnet_compat)
        output_type_of(output_type, {})
        upscale_interpolation(upscale_method)
        if style is None:
            return "xinsir" if xinsr_stick_scaling else "comfyui"
        name = get_style(style).name
        if xinsr_stick_scaling and name not in ("comfyui", "xinsir"):
            raise InputError(f"xinsr_stick_scaling applies to the comfyui style, not {name!r}")
        return "xinsir" if xinsr_stick_scaling else name

    def render_result(self, result: PoseResult, detect_resolution: int = 512, include_body: bool = True,
                      include_hand: bool = False, include_face: bool = False, output_type: str = "pil",
                      image_and_json: bool = False, upscale_method: str = "INTER_CUBIC",
                      xinsr_stick_scaling: bool = False, include_foot: bool = False, style: str | None = None,
                      controlnet_compat: bool = True):
        """The map (and JSON) of poses found in an input image, as `__call__` returns them; for
        results of `detect_batch`."""
        style = self._check_options(detect_resolution, include_body, include_hand, include_face, output_type,
                                    image_and_json, upscale_method, xinsr_stick_scaling, include_foot, style,
                                    controlnet_compat)
        width, height = result.image_size
        if width and height:
            canvas = render(result, style, include_body, include_hand, include_face, include_foot)
        else:
            canvas = np.zeros((height, width, 3), np.uint8)
        image = as_output(resize_short_side(canvas, detect_resolution, upscale_method), output_type_of(output_type, {}))
        if image_and_json:
            return image, result.to_openpose_json(include_body, include_hand, include_face, include_foot,
                                                  controlnet_compat=controlnet_compat)
        return image
