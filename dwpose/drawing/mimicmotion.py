"""The `mimicmotion` style: MimicMotion's `draw_pose` (Tencent/MimicMotion, mimicmotion/dwpose),
also `controlnext` (ControlNeXt-SVD-v2 ships the same drawing code, byte for byte).

Everything is drawn on a canvas whose short side is `ref_w` (2160) and then resized to the
output size with INTER_LINEAR. Every person is drawn; colours fade with the scores: limb colour
x score_a x score_b (limbs need both scores >= 0.3), joint colour x score (joints need > 0.3),
hand edges x int(s_a s_b 255) / 255 and hand joints / face dots at int(s 255), with no threshold
for hands and face (a zero score draws black). The canvas is dimmed after the limbs. Output in
the RGB colours MimicMotion uses (it draws BGR and swaps)."""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import cv2
import numpy as np

from ..result import PoseResult
from ..skeleton import HAND_EDGES, VISIBILITY_THRESHOLD
from .openpose import body_subset, normalised_openpose134
from .primitives import (
    BODY, BODY_COLORS, BODY_LIMBS, FACE, FEET, LEFT_HAND, RIGHT_HAND, Parts, bgr, dim, draw_dots,
    draw_feet, draw_hand, fill_limb, hand_edge_color,
)

REF_W = 2160
STICK_WIDTH = 4


class MimicMotionPose(NamedTuple):
    """MimicMotion's pose dict after `DWposeDetector.__call__`: fractions of the image, no
    masking (its masking line is commented out), the scores carried alongside."""

    candidate: np.ndarray    # (N * 18, 2) body points
    subset: np.ndarray       # (N, 18) float: index into candidate, or -1 (score <= 0.3)
    body_scores: np.ndarray  # (N, 18) (the neck's is the 0/1 flag)
    hands: np.ndarray        # (2N, 21, 2): all left hands, then all right hands
    hands_score: np.ndarray  # (2N, 21)
    faces: np.ndarray        # (N, 68, 2)
    faces_score: np.ndarray  # (N, 68)
    feet: np.ndarray         # (N, 6, 2) (ours, on request)
    feet_score: np.ndarray   # (N, 6)


def mimicmotion_pose(result: PoseResult) -> MimicMotionPose:
    """MimicMotion's conversion of the 134-point layout (the pose dict it draws from)."""
    info = normalised_openpose134(result)
    points, scores = info[..., :2], info[..., 2]
    return MimicMotionPose(
        points[:, BODY].reshape(-1, 2).copy(), body_subset(scores[:, BODY]), scores[:, BODY],
        np.concatenate([points[:, LEFT_HAND], points[:, RIGHT_HAND]]),
        np.concatenate([scores[:, LEFT_HAND], scores[:, RIGHT_HAND]]),
        points[:, FACE], scores[:, FACE], points[:, FEET], scores[:, FEET])


def internal_size(canvas_size: tuple[int, int], ref_w: int = REF_W) -> tuple[int, int]:
    """(W, H) of the canvas MimicMotion really draws on: short side `ref_w`."""
    width, height = canvas_size
    short = min(height, width)
    ratio = (ref_w / short) if short != ref_w else 1
    return int(width * ratio), int(height * ratio)


def draw_mimicmotion(pose: MimicMotionPose, canvas_size: tuple[int, int], parts: Parts = Parts(),
                     ref_w: int = REF_W) -> np.ndarray:
    """MimicMotion's `draw_pose` at `canvas_size` (W, H), in the RGB colours MimicMotion uses."""
    width, height = internal_size(canvas_size, ref_w)
    canvas = np.zeros((height, width, 3), dtype=np.uint8)
    candidate, subset, scores = pose.candidate, pose.subset, pose.body_scores
    if parts.body:
        for limb, (a, b) in enumerate(BODY_LIMBS):
            for person in range(len(subset)):
                conf = scores[person, [a, b]]
                if conf[0] < VISIBILITY_THRESHOLD or conf[1] < VISIBILITY_THRESHOLD:
                    continue
                # A score of exactly 0.3 passes here but has subset -1: MimicMotion then reads
                # candidate[-1]; indexing the flat candidate the same way keeps that behaviour.
                rows = subset[person, [a, b]].astype(int)
                alpha = conf[0] * conf[1]
                fill_limb(canvas, candidate[rows, 0] * float(width), candidate[rows, 1] * float(height),
                          STICK_WIDTH, bgr([int(c * alpha) for c in BODY_COLORS[limb]]))
        dim(canvas)
        for joint in range(18):
            for person in range(len(subset)):
                index = int(subset[person, joint])
                if index != -1:
                    x, y = candidate[index]
                    color = bgr([int(c * scores[person, joint]) for c in BODY_COLORS[joint]])
                    cv2.circle(canvas, (int(x * width), int(y * height)), 4, color, thickness=-1)
    if parts.foot:
        scale = np.asarray([width, height], candidate.dtype)
        for person in range(len(subset)):
            points = np.concatenate([candidate[18 * person:18 * person + 18], pose.feet[person]]) * scale
            present = np.concatenate([subset[person] != -1, pose.feet_score[person] >= VISIBILITY_THRESHOLD])
            draw_feet(canvas, points, present)
    if parts.hand:  # no threshold: the colours scale with the scores
        for points, hand_scores in zip(pose.hands, pose.hands_score):
            draw_hand(canvas, points, partial(_edge_color, hand_scores), partial(_joint_color, hand_scores), 4)
    if parts.face:
        for points, face_scores in zip(pose.faces, pose.faces_score):
            draw_dots(canvas, points, 3, lambda point, scores=face_scores: (int(scores[point] * 255),) * 3)
    return cv2.resize(canvas, tuple(canvas_size))


def draw_mimicmotion_style(result: PoseResult, canvas_size: tuple[int, int], parts: Parts,
                           ref_w: int = REF_W) -> np.ndarray:
    if len(result) == 0:
        return np.zeros((canvas_size[1], canvas_size[0], 3), np.uint8)
    return draw_mimicmotion(mimicmotion_pose(result), canvas_size, parts, ref_w)


def _edge_color(scores: np.ndarray, edge: int) -> tuple:
    a, b = HAND_EDGES[edge]
    return bgr(hand_edge_color(edge, int(scores[a] * scores[b] * 255)))


def _joint_color(scores: np.ndarray, joint: int) -> tuple:
    return bgr((0, 0, int(scores[joint] * 255)))
