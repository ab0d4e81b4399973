"""Canvas sizes (ControlNet's conventions), resizing and pasting a skeleton over a photo."""

from __future__ import annotations

import cv2
import numpy as np

from ..media import check_image_size

# Rows per step of `overlay`, so that its temporary (the mask) stays small on huge images.
_OVERLAY_ROWS = 512
# R + G + B saturated to uint8: non-zero exactly where a pixel is not black.
_CHANNEL_SUM = np.ones((1, 3), np.float32)


def output_size_for(image_size: tuple[int, int], resolution: int | None) -> tuple[int, int]:
    """(W, H) with the short side = resolution, keeping the aspect ratio (None: unchanged)."""
    width, height = image_size
    if not resolution:
        return width, height
    k = resolution / min(width, height)
    return max(int(round(width * k)), 1), max(int(round(height * k)), 1)


def controlnet_size(image_size: tuple[int, int], resolution: int) -> tuple[int, int]:
    """ControlNet's `resize_image` size: short side scaled to `resolution`, each side then
    rounded to a multiple of 64. Returns (W, H)."""
    width, height = image_size
    k = resolution / min(width, height)
    return max(int(np.round(width * k / 64.0)) * 64, 64), max(int(np.round(height * k / 64.0)) * 64, 64)


def controlnet_resize(image: np.ndarray, resolution: int) -> np.ndarray:
    """Resize like ControlNet's annotators (Lanczos when enlarging, area when shrinking)."""
    height, width = image.shape[:2]
    new_w, new_h = controlnet_size((width, height), resolution)
    check_image_size(new_w, new_h, f"the image resized to resolution {resolution}")  # before allocating it
    k = resolution / min(width, height)
    return cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LANCZOS4 if k > 1 else cv2.INTER_AREA)


def fit_photo(image_rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A new (H, W, 3) uint8 copy of the photo at `size` (W, H): resized with INTER_AREA when the
    sizes differ (one allocation either way)."""
    width, height = size
    if image_rgb.shape[:2] != (height, width):
        return cv2.resize(image_rgb, (width, height), interpolation=cv2.INTER_AREA)
    return np.array(image_rgb, dtype=np.uint8, order="C", copy=True)


def overlay(image_rgb: np.ndarray, skeleton_rgb: np.ndarray, reuse_skeleton: bool = False) -> np.ndarray:
    """The skeleton's non-black pixels over the photo (both RGB; the photo is resized to the
    skeleton). The result is one new array, or, with `reuse_skeleton=True`, the skeleton array
    itself with the photo filled in where it is black (no full-size copy at all when the sizes
    match). The mask is built a band of rows at a time, never at full size."""
    height, width = skeleton_rgb.shape[:2]
    reuse = reuse_skeleton and skeleton_rgb.flags.c_contiguous and skeleton_rgb.flags.writeable
    if reuse:
        out = skeleton_rgb
        photo = image_rgb if image_rgb.shape[:2] == (height, width) else fit_photo(image_rgb, (width, height))
    else:
        out = fit_photo(image_rgb, (width, height))
    for top in range(0, height, _OVERLAY_ROWS):
        rows = slice(top, top + _OVERLAY_ROWS)
        band = np.ascontiguousarray(skeleton_rgb[rows])
        drawn = cv2.transform(band, _CHANNEL_SUM)
        if reuse:
            cv2.copyTo(np.ascontiguousarray(photo[rows]), cv2.compare(drawn, 0, cv2.CMP_EQ), out[rows])
        else:
            cv2.copyTo(band, drawn, out[rows])
    return out
