"""Stable person ids across video frames (greedy IoU matching), the two rules for the box a person
is looked for in on the next frame without the detector (dwpose's video rule and rtmlib's
PoseTracker rule, beside each other), and One-Euro keypoint smoothing."""

from __future__ import annotations

import math

import numpy as np

from ..result import PoseResult
from ..skeleton import PARTS, VISIBILITY_THRESHOLD

# rtmlib's PoseTracker pads the keypoints' extent by this factor about its centre.
RTMLIB_BOX_EXPANSION = 1.25


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of xyxy boxes (N, 4) x (M, 4)."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), np.float32)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    area_a = (a[:, 2:] - a[:, :2]).clip(0).prod(-1)
    area_b = (b[:, 2:] - b[:, :2]).clip(0).prod(-1)
    return inter / np.maximum(area_a[:, None] + area_b[None] - inter, 1e-9)


def boxes_from_keypoints(result: PoseResult, threshold: float = VISIBILITY_THRESHOLD) -> np.ndarray:
    """dwpose's video rule: each person's box for the next frame is the extent, unpadded, of this
    frame's body and foot points scoring above `threshold`; fewer than two such points, or points
    on a line, keep this frame's box."""
    boxes = result.boxes.copy()
    body_and_feet = slice(PARTS["body"][0], PARTS["foot"][1])
    for i in range(len(result)):
        confident = result.keypoints[i, body_and_feet][result.scores[i, body_and_feet] > threshold]
        if len(confident) >= 2:
            box = np.concatenate([confident.min(0), confident.max(0)])
            if (box[2:] > box[:2]).all():  # points on a line give no box: keep this frame's
                boxes[i] = box
    return boxes


def rtmlib_pose_to_bbox(keypoints: np.ndarray, expansion: float = RTMLIB_BOX_EXPANSION) -> np.ndarray:
    """rtmlib's PoseTracker rule (kept for parity with rtmlib): the box of one person's keypoints
    (K, 2), all of them whatever their score, is their extent scaled by `expansion` about its centre."""
    low, high = keypoints.min(0), keypoints.max(0)
    center = (low + high) / 2
    return np.concatenate([center - (center - low) * expansion, center + (high - center) * expansion])


class IoUTracker:
    """Gives each box the id of the best-overlapping box of recent frames (IoU >= threshold);
    unmatched boxes get new ids; tracks unseen for `max_age` frames are forgotten."""

    def __init__(self, iou_threshold: float = 0.3, max_age: int = 30) -> None:
        self.iou_threshold = iou_threshold
        self.max_age = max_age
        self.boxes = np.zeros((0, 4), np.float32)
        self.ids = np.zeros(0, np.int64)
        self.ages = np.zeros(0, np.int64)
        self.next_id = 0

    def update(self, boxes: np.ndarray) -> np.ndarray:
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        ids = np.full(len(boxes), -1, np.int64)
        iou = iou_matrix(boxes, self.boxes)
        matched_tracks: set[int] = set()
        # Greedy: best pairs first.
        for flat in np.argsort(-iou, axis=None):
            i, j = np.unravel_index(flat, iou.shape)
            if iou[i, j] < self.iou_threshold:
                break
            if ids[i] == -1 and j not in matched_tracks:
                ids[i] = self.ids[j]
                matched_tracks.add(int(j))
        for i in np.flatnonzero(ids == -1):
            ids[i] = self.next_id
            self.next_id += 1
        keep_old = [j for j in range(len(self.ids)) if j not in matched_tracks and self.ages[j] + 1 < self.max_age]
        self.boxes = np.concatenate([boxes, self.boxes[keep_old]])
        self.ids = np.concatenate([ids, self.ids[keep_old]])
        self.ages = np.concatenate([np.zeros(len(boxes), np.int64), self.ages[keep_old] + 1])
        return ids


class OneEuroFilter:
    """One-Euro filter (Casiez et al. 2012) on arrays, one state per key (track id)."""

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.01, d_cutoff: float = 1.0) -> None:
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self.state: dict[int, tuple[np.ndarray, np.ndarray, float]] = {}

    @staticmethod
    def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
        tau = 1.0 / (2 * math.pi * cutoff)
        return 1.0 / (1.0 + tau / dt)

    def __call__(self, key: int, value: np.ndarray, t: float) -> np.ndarray:
        if key not in self.state:
            self.state[key] = (value.copy(), np.zeros_like(value), t)
            return value
        prev, prev_d, prev_t = self.state[key]
        dt = max(t - prev_t, 1e-6)
        d = (value - prev) / dt
        d_hat = prev_d + self._alpha(self.d_cutoff, dt) * (d - prev_d)
        cutoff = self.min_cutoff + self.beta * np.abs(d_hat)
        smoothed = prev + self._alpha(cutoff, dt) * (value - prev)
        self.state[key] = (smoothed, d_hat, t)
        return smoothed
