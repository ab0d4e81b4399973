"""The `musepose` style: MusePose's `draw_pose` (TMElyralab/MusePose, pose/script), with the
colours MusePose trains and infers with (it treats the drawn array as BGR and swaps it to RGB).

Only person 0's body and face are drawn; of the hands it takes the first two rows of "all left
hands, then all right hands" (MusePose's own quirk: with two or more people that is the left
hands of persons 0 and 1). Limb half-width and hand line thickness follow `smart_width`; the
canvas is dimmed after the limbs; hand joints have radius 3. MusePose's `draw_face` is
`include_face` here (MusePose's own default is no face)."""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np

from ..result import PoseResult
from ..skeleton import VISIBILITY_THRESHOLD
from .openpose import body_subset, normalised_openpose134
from .primitives import (
    BODY, BODY_COLORS, BODY_LIMBS, FACE, FEET, HAND_EDGE_COLORS, LEFT_HAND, RIGHT_HAND, Parts, bgr,
    dim, draw_dots, draw_feet, draw_hand, fill_limb, smart_width,
)


class MusePosePose(NamedTuple):
    """MusePose's pose dict after `DWposeDetector.__call__`: coordinates are fractions of the
    image; hand, face and foot points below 0.3 are at (-1, -1)."""

    candidate: np.ndarray  # (N * 18, 2) body points (unmasked)
    subset: np.ndarray     # (N, 18) float: index into candidate, or -1 (score <= 0.3)
    hands: np.ndarray      # (2N, 21, 2): all left hands, then all right hands
    faces: np.ndarray      # (N, 68, 2)
    feet: np.ndarray       # (N, 6, 2) (computed but unused by MusePose; ours, on request)


def musepose_pose(result: PoseResult) -> MusePosePose:
    """MusePose's conversion of the 134-point layout (the pose dict it draws from)."""
    info = normalised_openpose134(result)
    candidate = info[:, BODY, :2].reshape(-1, 2).copy()
    subset = body_subset(info[:, BODY, 2])
    masked = info[..., :2].copy()
    masked[info[..., 2] < VISIBILITY_THRESHOLD] = -1
    hands = np.concatenate([masked[:, LEFT_HAND], masked[:, RIGHT_HAND]])
    return MusePosePose(candidate, subset, hands, masked[:, FACE], masked[:, FEET])


def draw_musepose(pose: MusePosePose, canvas_size: tuple[int, int], parts: Parts = Parts()) -> np.ndarray:
    """MusePose's `draw_pose` at `canvas_size` (W, H), in the RGB colours MusePose uses."""
    width, height = canvas_size
    canvas = np.zeros((height, width, 3), dtype=np.uint8)
    # Only the most significant person (MusePose's slicing, quirk of the hands included).
    candidate, subset, hands, faces = pose.candidate[:18], pose.subset[:1], pose.hands[:2], pose.faces[:1]
    if parts.body:
        for limb, (a, b) in enumerate(BODY_LIMBS):
            for person in subset:
                index = person[[a, b]]
                if -1 in index:
                    continue
                rows = index.astype(int)
                fill_limb(canvas, candidate[rows, 0] * float(width), candidate[rows, 1] * float(height),
                          smart_width, bgr(BODY_COLORS[limb]))
        dim(canvas)
        for joint in range(18):
            for person in subset:
                index = int(person[joint])
                if index != -1:
                    x, y = candidate[index]
                    cv2.circle(canvas, (int(x * width), int(y * height)), 4, bgr(BODY_COLORS[joint]), thickness=-1)
    if parts.foot and len(subset):
        points = np.concatenate([candidate, pose.feet[0]]) * np.asarray([width, height], candidate.dtype)
        draw_feet(canvas, points, np.concatenate([subset[0] != -1, np.ones(6, bool)]))
    if parts.hand:
        for hand in hands:
            draw_hand(canvas, hand, lambda edge: bgr(HAND_EDGE_COLORS[edge]), lambda _: bgr((0, 0, 255)), 3,
                      thickness=smart_width)
    if parts.face:
        for face in faces:
            draw_dots(canvas, face, 3, lambda _: (255, 255, 255))
    return canvas


def draw_musepose_style(result: PoseResult, canvas_size: tuple[int, int], parts: Parts,
                        draw_face: bool | None = None) -> np.ndarray:
    if draw_face is not None:  # MusePose's own name for the face toggle
        parts = Parts(parts.body, parts.hand, bool(draw_face), parts.foot)
    if len(result) == 0:
        return np.zeros((canvas_size[1], canvas_size[0], 3), np.uint8)
    return draw_musepose(musepose_pose(result), canvas_size, parts)

