"""The `comfyui` and `xinsir` styles: comfyui_controlnet_aux's DWPose drawing (`draw_poses`).

Differences from `controlnet`: people are drawn one at a time (limbs, joints, left hand, right
hand, face), so a later person paints over an earlier one; each limb colour is dimmed by
itself (`int(c * 0.6)`) instead of dimming the canvas; every kept point uses `score >= 0.3`;
the face carries the two eye points of the body (OpenPose's 70); coordinates are pixels, or
[0, 1] fractions of the canvas when a part's points all lie within 1 (comfyui's
`is_normalized` rule). `xinsir` is comfyui's `xinsr_stick_scaling`: thicker limbs (only the
limbs) on canvases of 500 px and more, for xinsir's SDXL ControlNet.

`ComfyPose` mirrors comfyui's pose records, so poses decoded from its OpenPose JSON draw the way
comfyui draws them (`draw_comfyui`)."""

from __future__ import annotations

from typing import NamedTuple, Optional, Sequence

import cv2
import numpy as np

from ..result import PoseResult
from ..skeleton import HAND_EDGES, VISIBILITY_THRESHOLD
from .primitives import (
    BODY, BODY_COLORS, BODY_LIMBS, FACE, FEET, HAND_EDGE_COLORS, LEFT_HAND, RIGHT_HAND,
    Parts, draw_feet, fill_limb, passes_eps,
)

Point = Optional[Sequence[float]]  # (x, y), or None for a point below the threshold
STICK_WIDTH = 4


class ComfyPose(NamedTuple):
    """One person as comfyui keeps it: 18 body points (a list; None only when a JSON had no body),
    hands of 21 and the face of 70 points (68 + the two body eyes), each None when none of its
    points was kept. `feet` (ours, 6 points) is drawn only when feet are asked for."""

    body: Optional[list[Point]]
    left_hand: Optional[list[Point]]
    right_hand: Optional[list[Point]]
    face: Optional[list[Point]]
    feet: Optional[list[Point]] = None


def comfy_poses(result: PoseResult) -> list[ComfyPose]:
    """comfyui's `format_result`: a point is kept when its score >= 0.3, a hand or face with no
    kept point is None, the face gets body points 14 and 15 appended; every person is kept."""
    def part(points: np.ndarray) -> Optional[list[Point]]:
        kept = [(x, y) if s >= VISIBILITY_THRESHOLD else None for x, y, s in points]
        return None if all(p is None for p in kept) else kept

    poses = []
    for person in result.to_openpose134():
        body = part(person[BODY]) or [None] * 18
        face = part(person[FACE])
        if face is not None:
            face += [body[14], body[15]]
        poses.append(ComfyPose(body, part(person[LEFT_HAND]), part(person[RIGHT_HAND]), face, part(person[FEET])))
    return poses


def stick_scale(canvas_size: tuple[int, int], xinsr_stick_scaling: bool) -> int:
    """comfyui's limb width factor for xinsir's ControlNet: 1 below 500 px (longest side), else
    2 + longest // 1000, at most 7."""
    longest = max(canvas_size)
    if not xinsr_stick_scaling or longest < 500:
        return 1
    return min(2 + longest // 1000, 7)


def draw_comfyui(poses: Sequence[ComfyPose], canvas_size: tuple[int, int], parts: Parts = Parts(),
                 xinsr_stick_scaling: bool = False) -> np.ndarray:
    """comfyui's `draw_poses` at `canvas_size` (W, H): (H, W, 3) uint8 RGB."""
    width, height = canvas_size
    canvas = np.zeros((height, width, 3), dtype=np.uint8)
    half_width = STICK_WIDTH * stick_scale(canvas_size, xinsr_stick_scaling)
    for pose in poses:
        if parts.body and pose.body:
            _draw_body(canvas, pose.body, half_width)
        if parts.foot and pose.body and pose.feet:
            _draw_feet(canvas, pose.body, pose.feet)
        if parts.hand:
            _draw_hand(canvas, pose.left_hand)
            _draw_hand(canvas, pose.right_hand)
        if parts.face:
            _draw_face(canvas, pose.face)
    return canvas


def draw_comfyui_style(result: PoseResult, canvas_size: tuple[int, int], parts: Parts,
                       xinsr_stick_scaling: bool = False) -> np.ndarray:
    if tuple(canvas_size) != tuple(result.image_size):  # comfyui draws pixels: scale to the canvas
        scale = np.divide(canvas_size, result.image_size).astype(result.keypoints.dtype)
        result = PoseResult.from_keypoints(result.keypoints * scale, result.scores, canvas_size)
    return draw_comfyui(comfy_poses(result), canvas_size, parts, xinsr_stick_scaling)


def draw_xinsir_style(result: PoseResult, canvas_size: tuple[int, int], parts: Parts) -> np.ndarray:
    return draw_comfyui_style(result, canvas_size, parts, xinsr_stick_scaling=True)


def _scale_for(canvas: np.ndarray, points: Sequence[Point]) -> tuple[float, float]:
    """comfyui's `is_normalized`: (W, H) of the canvas when every kept point has |x|, |y| <= 1,
    else (1.0, 1.0) (pixels). A part with no kept point counts as pixels."""
    kept = [p for p in points if p is not None]
    if kept and all(abs(p[0]) <= 1 and abs(p[1]) <= 1 for p in kept):
        return float(canvas.shape[1]), float(canvas.shape[0])
    return 1.0, 1.0


def _draw_body(canvas: np.ndarray, body: Sequence[Point], half_width: int) -> None:
    sx, sy = _scale_for(canvas, body)
    for (a, b), color in zip(BODY_LIMBS, BODY_COLORS):
        if body[a] is None or body[b] is None:
            continue
        xs = np.array([body[a][0], body[b][0]]) * sx
        ys = np.array([body[a][1], body[b][1]]) * sy
        fill_limb(canvas, xs, ys, half_width, [int(float(c) * 0.6) for c in color])
    for point, color in zip(body, BODY_COLORS):
        if point is not None:
            cv2.circle(canvas, (int(point[0] * sx), int(point[1] * sy)), 4, color, thickness=-1)


def _draw_feet(canvas: np.ndarray, body: Sequence[Point], feet: Sequence[Point]) -> None:
    sx, sy = _scale_for(canvas, body)
    points = list(body) + list(feet)  # the 134-layout indices 0-23 that the foot links use
    present = [p is not None for p in points]
    xy = np.array([(p[0] * sx, p[1] * sy) if p is not None else (0.0, 0.0) for p in points])
    draw_feet(canvas, xy, present)


def _draw_hand(canvas: np.ndarray, hand: Optional[Sequence[Point]]) -> None:
    if not hand:
        return
    sx, sy = _scale_for(canvas, hand)
    for edge, (a, b) in enumerate(HAND_EDGES):
        if hand[a] is None or hand[b] is None:
            continue
        x1, y1 = int(hand[a][0] * sx), int(hand[a][1] * sy)
        x2, y2 = int(hand[b][0] * sx), int(hand[b][1] * sy)
        if passes_eps(x1, y1, x2, y2):
            cv2.line(canvas, (x1, y1), (x2, y2), HAND_EDGE_COLORS[edge], thickness=2)
    for point in hand:
        if point is not None:
            x, y = int(point[0] * sx), int(point[1] * sy)
            if passes_eps(x, y):
                cv2.circle(canvas, (x, y), 4, (0, 0, 255), thickness=-1)


def _draw_face(canvas: np.ndarray, face: Optional[Sequence[Point]]) -> None:
    if not face:
        return
    sx, sy = _scale_for(canvas, face)
    for point in face:
        if point is not None:
            x, y = int(point[0] * sx), int(point[1] * sy)
            if passes_eps(x, y):
                cv2.circle(canvas, (x, y), 3, (255, 255, 255), thickness=-1)
