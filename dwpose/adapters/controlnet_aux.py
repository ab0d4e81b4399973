"""controlnet_aux's `DWposeDetector` (huggingface/controlnet_aux, `controlnet_aux.dwpose`).
Switch with one line: `from dwpose.adapters.controlnet_aux import DWposeDetector`.

Its calls: `DWposeDetector(det_config=None, det_ckpt=None, pose_config=None, pose_ckpt=None,
device="cpu")`, `.to(device)`, `detector(input_image, detect_resolution=512,
image_resolution=512, output_type="pil")`. The RGB image is resized to `detect_resolution`
(short side, each side then rounded to a multiple of 64; Lanczos up, area down), the poses are
found and drawn there in DWPose's ControlNet style (body, hands and face), and the map is
resized (bilinear) to `image_resolution` computed the same way from the detect-sized image.

Beyond controlnet_aux: its `OpenposeDetector` keywords (`include_body`, `include_hand`,
`include_face`, the deprecated `hand_and_face`), `include_foot`, `style`, and JSON
(`image_and_json=True` returns (map, OpenPose JSON) in detect-resolution pixels;
`controlnet_compat=True` writes it exactly as comfyui_controlnet_aux does). Weights are
ONNX/`.pth` files (paths, known file names or their URLs): mmdet/mmpose configs are not needed.
Unlike controlnet_aux's mmpose path there is no flip test and no whole-image pose when nobody
is found (the map is black)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import cv2
import numpy as np

from ..drawing import DEFAULT_STYLE, controlnet_resize, controlnet_size, get_style, render
from ..errors import InputError
from ..models.rtmpose import DEFAULT_DETECTOR, DEFAULT_POSE
from ..result import PoseResult
from ._common import (
    PipelineHolder, as_output, check_flags, check_resolution, image_to_bgr, output_type_of, reject_unknown,
    resize_map,
)

__all__ = ["DWposeDetector"]


class DWposeDetector(PipelineHolder):
    """controlnet_aux-style: an RGB image (PIL or array) in, the ControlNet pose conditioning
    image out (PIL by default). `det_ckpt` / `pose_ckpt` (controlnet_aux's names) or
    `det_model` / `pose_model` choose the weights (`det_model=None`: no detector, the whole
    image is one person); `backend` defaults to torch for a `.pth` pose file, else onnxruntime;
    `style` names the drawing (`dwpose.drawing.STYLES`; a call may override it)."""

    def __init__(self, det_config: str | None = None, det_ckpt: str | os.PathLike | None = None,
                 pose_config: str | None = None, pose_ckpt: str | os.PathLike | None = None, device: object = "cpu",
                 *, det_model: str | os.PathLike | None = DEFAULT_DETECTOR,
                 pose_model: str | os.PathLike = DEFAULT_POSE, backend: str | None = None, det_arch: str | None = None,
                 dtype: str = "float32", style: str = DEFAULT_STYLE) -> None:
        for name, config in (("det_config", det_config), ("pose_config", pose_config)):
            if config is None:
                continue
            if Path(str(config)).suffix != ".py":
                raise InputError(f"{name} is an mmdet/mmpose config file (.py), got {config!r}; pass weights as "
                                 f"{name.replace('config', 'ckpt')}=")
            warnings.warn(f"{name} is not needed and is ignored: the architecture is read from the weights",
                          stacklevel=2)
        self.style = get_style(style).name  # an unknown name fails here, before any weights load
        self._build(det_model if det_ckpt is None else det_ckpt, pose_model if pose_ckpt is None else pose_ckpt,
                    backend, device, det_arch, dtype)

    def detect(self, input_image: object, detect_resolution: int = 512) -> PoseResult:
        """Poses in the pixels of the image resized to `detect_resolution` (as ControlNet does)."""
        detect_resolution = check_resolution(detect_resolution, "detect_resolution")
        bgr = image_to_bgr(input_image)
        return self.detect_bgr(controlnet_resize(bgr, detect_resolution) if bgr.size else bgr)

    def __call__(self, input_image: object, detect_resolution: int = 512, image_resolution: int = 512,
                 output_type: object = "pil", include_body: bool = True, include_hand: bool = True,
                 include_face: bool = True, hand_and_face: bool | None = None, include_foot: bool = False,
                 image_and_json: bool = False, controlnet_compat: bool = False, style: str | None = None,
                 return_json: bool = False, **kwargs):
        if hand_and_face is not None:
            warnings.warn("hand_and_face is deprecated. Use include_hand and include_face instead.",
                          DeprecationWarning, stacklevel=2)
            include_hand = include_face = hand_and_face
        output_type = output_type_of(output_type, kwargs)
        reject_unknown(kwargs, "DWposeDetector()")
        check_flags(include_body=include_body, include_hand=include_hand, include_face=include_face,
                    include_foot=include_foot, image_and_json=image_and_json, controlnet_compat=controlnet_compat,
                    return_json=return_json)
        image_resolution = check_resolution(image_resolution, "image_resolution")
        style = get_style(self.style if style is None else style).name
        result = self.detect(input_image, detect_resolution)
        width, height = result.image_size
        if width and height:
            canvas = render(result, style, include_body, include_hand, include_face, include_foot)
            # The generation size comes from the detect-sized image, as controlnet_aux computes it.
            size = controlnet_size((width, height), image_resolution)
        else:
            canvas, size = np.zeros((height, width, 3), np.uint8), (width, height)
        image = as_output(resize_map(canvas, size, cv2.INTER_LINEAR), output_type)
        if image_and_json or return_json:
            return image, result.to_openpose_json(include_body, include_hand, include_face, include_foot,
                                                  controlnet_compat=controlnet_compat)
        return image
