"""What the peer adapters share: images taken the way the peers take them, weight files named
the way they name them, the pipeline (rebuilt by `.to(device)`), output types and argument
checks that fail with one clear `InputError`."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import cv2
import numpy as np

from ..backends import backend_for_files
from ..errors import InputError
from ..inference.io import to_bgr
from ..inference.pipeline import WholebodyPipeline
from ..media import MAX_RESOLUTION
from ..models.zoo import REGISTRY, registry_name, resolve_weights
from ..result import PoseResult

OUTPUT_TYPES = ("pil", "np")


def resolve_model(name_or_path: str | os.PathLike) -> Path:
    """A local weight file: an existing path, a registry file name (cache, else a verified
    download), or a hub URL whose file name is a registry file (fetched through the same cache)."""
    if isinstance(name_or_path, str) and name_or_path.startswith(("http://", "https://")):
        name = registry_name(name_or_path.split("?")[0].rstrip("/").rsplit("/", 1)[-1])  # rtmlib's zip URLs too
        if name is None:
            raise InputError(f"cannot fetch {name_or_path}: only the known weight files are downloaded "
                             f"({', '.join(sorted(REGISTRY))}); download it yourself and pass its path")
        name_or_path = name
    return resolve_weights(name_or_path)


class PipelineHolder:
    """Builds the `WholebodyPipeline` of the peers' constructors and rebuilds it on `.to()`."""

    def _build(self, det: str | os.PathLike | None, pose: str | os.PathLike, backend: str | None, device: object,
               det_arch: str | None, dtype: str, det_input_size: tuple[int, int] | None = None) -> None:
        pose_path = resolve_model(pose)
        det_path = resolve_model(det) if det is not None else None
        self._files = (pose_path, det_path, backend_for_files(pose_path, det_path, backend=backend), det_arch, dtype,
                       det_input_size)
        self.device = _device_name(device)
        self.pipeline = self._make_pipeline(self.device)

    def _make_pipeline(self, device: str) -> WholebodyPipeline:
        pose_path, det_path, backend, det_arch, dtype, det_input_size = self._files
        return WholebodyPipeline.from_files(pose_path, det_path, backend=backend, device=device, dtype=dtype,
                                            detector_arch=det_arch, detector_input_size=det_input_size)

    def to(self, device: object) -> "PipelineHolder":
        """The same models on another device ("cpu", "cuda", "cuda:1", a torch.device); returns self."""
        name = _device_name(device)
        if name != self.device:
            self.pipeline = self._make_pipeline(name)
            self.device = name
        return self

    @property
    def device_info(self) -> str:
        """What the models really run on (backend, device, precision)."""
        return self.pipeline.device_info

    def detect_bgr(self, bgr: np.ndarray) -> PoseResult:
        """Poses of a BGR image; an image with no pixels has no people."""
        if bgr.size == 0:
            return PoseResult.empty((bgr.shape[1], bgr.shape[0]))
        return self.pipeline(bgr)


def _device_name(device: object) -> str:
    if device is None:
        return "cpu"
    if isinstance(device, str) and device:
        return device
    if type(device).__name__ == "device":  # a torch.device
        return str(device)
    raise InputError(f"device must be a name such as 'cpu' or 'cuda:0' (or a torch.device), got {device!r}")


def image_to_bgr(image: object, name: str = "input_image", channel_order: str = "rgb") -> np.ndarray:
    """A PIL image or an (H, W), (H, W, 1|3|4) array (RGB unless `channel_order="bgr"`) as BGR
    uint8. Transparency is blended onto white, as controlnet_aux's and comfyui's `HWC3` do; EXIF
    orientation is not applied (the peers use the pixels as stored, and so do the diffusion
    pipelines the map is made for). An image with no pixels stays empty: (H, W, 3) with a 0."""
    if hasattr(image, "mode") and hasattr(image, "convert"):  # a PIL image
        has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
            image.mode == "P" and "transparency" in image.info)
        array = np.asarray(image.convert("RGBA" if has_alpha else "RGB"))
        channel_order = "rgb"
    elif isinstance(image, np.ndarray):
        array = image
    else:
        raise InputError(f"{name} must be a PIL image or a NumPy array (H, W[, C]), got {type(image).__name__}")
    if array.ndim in (2, 3) and 0 in array.shape[:2]:
        return np.zeros((array.shape[0], array.shape[1], 3), np.uint8)
    if array.ndim == 3 and array.shape[2] == 4:
        if array.dtype != np.uint8:
            raise InputError(f"{name}: a 4-channel image must be uint8, got {array.dtype}")
        array = blend_onto_white(array)
    return to_bgr(array, channel_order)


def blend_onto_white(rgba: np.ndarray) -> np.ndarray:
    """colour * alpha + 255 * (1 - alpha) in float32, truncated to uint8 (the peers' `HWC3`)."""
    color = rgba[..., :3].astype(np.float32)
    alpha = rgba[..., 3:4].astype(np.float32) / 255.0
    return (color * alpha + 255.0 * (1.0 - alpha)).clip(0, 255).astype(np.uint8)


def output_type_of(output_type: object, kwargs: dict, default: str = "pil") -> str:
    """"pil" or "np" from the peers' spellings: "numpy", the deprecated True/False and
    `return_pil=`, None (the default); anything else is an InputError."""
    if "return_pil" in kwargs:
        warnings.warn("return_pil is deprecated. Use output_type instead.", DeprecationWarning, stacklevel=3)
        output_type = "pil" if kwargs.pop("return_pil") else "np"
    if isinstance(output_type, bool):
        warnings.warn("Passing True or False to output_type is deprecated; use 'pil' or 'np'", DeprecationWarning,
                      stacklevel=3)
        output_type = "pil" if output_type else "np"
    if output_type is None:
        output_type = default
    if output_type == "numpy":
        output_type = "np"
    if output_type not in OUTPUT_TYPES:
        raise InputError(f"output_type must be 'pil' or 'np', got {output_type!r}")
    return output_type


def as_output(canvas: np.ndarray, output_type: str) -> object:
    """The (H, W, 3) uint8 RGB map as a PIL image or the array itself."""
    if output_type == "pil":
        from PIL import Image

        return Image.fromarray(canvas)
    return canvas


def check_flags(**flags: object) -> None:
    for name, value in flags.items():
        if not isinstance(value, (bool, np.bool_)):
            raise InputError(f"{name} must be True or False, got {value!r}")


def check_resolution(value: object, name: str, allow_zero: bool = False) -> int:
    """A resolution or canvas side: a whole number up to MAX_RESOLUTION (the CLI's and the
    ComfyUI node's cap too; more would take tens of GB)."""
    smallest = 0 if allow_zero else 1
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not smallest <= value <= MAX_RESOLUTION:
        raise InputError(f"{name} must be a whole number in {smallest}..{MAX_RESOLUTION}, got {value!r}")
    return int(value)


def reject_unknown(kwargs: dict, call: str) -> None:
    if kwargs:
        raise InputError(f"{call} got unexpected keyword argument(s): {', '.join(sorted(kwargs))}")


def resize_map(canvas: np.ndarray, size: tuple[int, int], interpolation: int) -> np.ndarray:
    """The map at `size` (W, H); a map or a size with no pixels gives a black map of that size."""
    width, height = size
    if canvas.size == 0 or width == 0 or height == 0:
        return np.zeros((height, width, 3), np.uint8)
    if canvas.shape[:2] == (height, width):
        return canvas
    return cv2.resize(canvas, (width, height), interpolation=interpolation)
