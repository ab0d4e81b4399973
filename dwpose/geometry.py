"""Top-down crop geometry shared by training data and inference: bbox -> (center, scale),
aspect-ratio fix, the affine warp to the network input, and the inverse mapping."""

from __future__ import annotations

import cv2
import numpy as np
import torch


def _namespace(array):
    """torch for tensors (kept on their device), NumPy otherwise; float32 either way."""
    if isinstance(array, torch.Tensor):
        return torch, array.to(torch.float32)
    return np, np.asarray(array, dtype=np.float32)


# The top-down crop is the person box enlarged by this factor (RTMPose's GetBBoxCenterScale), in
# training, inference and evaluation alike.
BBOX_PADDING = 1.25


def bbox_xyxy_to_center_scale(bboxes, padding: float = BBOX_PADDING):
    """Centres (N, 2) and padded sizes (N, 2) of xyxy boxes (N, 4); arrays or tensors."""
    _, bboxes = _namespace(bboxes)
    bboxes = bboxes.reshape(-1, 4)
    center = (bboxes[:, :2] + bboxes[:, 2:]) * 0.5
    scale = (bboxes[:, 2:] - bboxes[:, :2]) * padding
    return center, scale


def fix_aspect_ratio(scale, aspect_ratio: float):
    """Grow the short side so that width / height == aspect_ratio (mmpose TopdownAffine)."""
    xp, scale = _namespace(scale)
    w, h = scale[..., 0], scale[..., 1]
    wide = w > h * aspect_ratio
    return xp.stack([xp.where(wide, w, h * aspect_ratio), xp.where(wide, w / aspect_ratio, h)], -1)


def get_warp_matrix(
    center: np.ndarray, scale: np.ndarray, rotation_deg: float, output_size: tuple[int, int]
) -> np.ndarray:
    """2x3 affine matrix taking the box (center, scale) to an output of size (W, H), built from
    three point pairs with the arithmetic of mmpose's non-UDP `get_warp_matrix` (and rtmlib's
    copy of it), dtype for dtype: OpenCV samples on a 1/32-pixel grid, so a last-bit difference
    in a point moves pixels of the crop. Only the scale width is used (the height follows from
    the fixed aspect ratio).

    The steps: the half-width vector (0, -s_w/2) is rotated in float64 (the sine and cosine keep
    the angle's dtype: float32 for a float32 angle, as the training pipeline draws it), added to
    the centre in float64, and the sum is rounded once into the float32 point array; the third
    point of each triangle is the second turned by 90 degrees about the first, in float32."""
    center = np.asarray(center)
    out_w, out_h = output_size
    angle = np.deg2rad(rotation_deg)
    sin, cos = np.sin(angle), np.cos(angle)
    rotation = np.array([[cos, -sin], [sin, cos]])
    src_dir = rotation @ np.array([0.0, scale[0] * -0.5])
    src = np.zeros((3, 2), dtype=np.float32)
    dst = np.zeros((3, 2), dtype=np.float32)
    src[0] = center
    src[1] = center + src_dir
    dst[0] = (out_w * 0.5, out_h * 0.5)
    dst[1] = np.array([out_w * 0.5, out_h * 0.5]) + np.array([0.0, out_w * -0.5])
    for points in (src, dst):
        offset = points[0] - points[1]
        points[2] = points[1] + np.array([-offset[1], offset[0]], dtype=np.float32)
    return cv2.getAffineTransform(src, dst)


def crop_to_image(keypoints, center, scale, input_size: tuple[int, int]):
    """Map keypoints (N, K, 2) from input-crop pixels back to the image, given each crop's
    centre (N, 2) and aspect-fixed scale (N, 2) — the inverse of the non-rotated warp.
    NumPy arrays in, NumPy out; torch tensors in, tensors out (on their device)."""
    if isinstance(keypoints, torch.Tensor):
        def as_array(a):
            return torch.as_tensor(a, dtype=torch.float32, device=keypoints.device)
    else:
        def as_array(a):
            return np.asarray(a, dtype=np.float32)
    keypoints, size = as_array(keypoints), as_array(input_size)
    center, scale = as_array(center)[:, None, :], as_array(scale)[:, None, :]
    return keypoints / size * scale + center - scale * 0.5
