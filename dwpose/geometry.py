"""Top-down crop geometry shared by training data and inference: bbox -> (center, scale),
aspect-ratio fix, the affine warp to the network input, and the inverse mapping."""

from __future__ import annotations

import math

import cv2
import numpy as np
import torch


def _namespace(array):
    """torch for tensors (kept on their device), NumPy otherwise; float32 either way."""
    if isinstance(array, torch.Tensor):
        return torch, array.to(torch.float32)
    return np, np.asarray(array, dtype=np.float32)


def bbox_xyxy_to_center_scale(bboxes, padding: float = 1.25):
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


def _rotate(point: np.ndarray, angle_rad: float) -> np.ndarray:
    sn, cs = math.sin(angle_rad), math.cos(angle_rad)
    return np.array([point[0] * cs - point[1] * sn, point[0] * sn + point[1] * cs], dtype=np.float32)


def get_warp_matrix(
    center: np.ndarray, scale: np.ndarray, rotation_deg: float, output_size: tuple[int, int]
) -> np.ndarray:
    """2x3 affine matrix taking the box (center, scale) to an output of size (W, H), built from
    three point pairs exactly as mmpose's non-UDP `get_warp_matrix` (only scale width is used;
    the height follows from the fixed aspect ratio)."""
    center = np.asarray(center, dtype=np.float32)
    out_w, out_h = output_size
    src_dir = _rotate(np.array([0.0, scale[0] * -0.5], dtype=np.float32), math.radians(rotation_deg))
    dst_dir = np.array([0.0, out_w * -0.5], dtype=np.float32)
    src = np.zeros((3, 2), dtype=np.float32)
    dst = np.zeros((3, 2), dtype=np.float32)
    src[0], src[1] = center, center + src_dir
    dst[0] = (out_w * 0.5, out_h * 0.5)
    dst[1] = dst[0] + dst_dir
    for pts in (src, dst):  # third point: the second one turned by 90 degrees about the first
        d = pts[0] - pts[1]
        pts[2] = pts[1] + np.array([-d[1], d[0]], dtype=np.float32)
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
