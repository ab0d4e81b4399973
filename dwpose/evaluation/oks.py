"""Object keypoint similarity and OKS-based NMS (mmpose semantics)."""

from __future__ import annotations

import numpy as np


def oks_iou(g: np.ndarray, d: np.ndarray, area_g: float, area_d: np.ndarray, sigmas: np.ndarray) -> np.ndarray:
    """OKS of one instance g (K, 3) against instances d (M, K, 3), all keypoints counted."""
    variances = (sigmas * 2) ** 2
    dist2 = ((d[..., :2] - g[None, :, :2]) ** 2).sum(-1)
    e = dist2 / variances / ((area_g + area_d[:, None]) / 2 + np.spacing(1)) / 2
    return np.exp(-e).mean(axis=1) if d.shape[1] else np.zeros(len(d))


def oks_nms(keypoints: np.ndarray, scores: np.ndarray, areas: np.ndarray, sigmas: np.ndarray,
            threshold: float = 0.9) -> np.ndarray:
    """Indices kept by greedy OKS-NMS: drop an instance whose OKS with a kept one is > threshold."""
    order = scores.argsort()[::-1]
    keep = []
    while order.size > 0:
        i = order[0]
        keep.append(int(i))
        overlap = oks_iou(keypoints[i], keypoints[order[1:]], areas[i], areas[order[1:]], sigmas)
        order = order[1:][overlap <= threshold]
    return np.asarray(keep, dtype=np.int64)
