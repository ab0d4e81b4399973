"""The `controlnet` style (the default): the DWPose ControlNet annotator's conditioning image.
Limbs are filled ellipses, the whole canvas is then dimmed to 60 %, joints are drawn on top,
then the hands (HSV edge ramp) and face dots; threshold 0.3; colours are RGB. Coordinates are
normalised by the image size and multiplied by the canvas size, so any canvas size works."""

from __future__ import annotations

import cv2
import numpy as np

from ..result import PoseResult
from ..skeleton import VISIBILITY_THRESHOLD
from .primitives import (
    BODY, BODY_COLORS, BODY_LIMBS, FACE, HAND_EDGE_COLORS, LEFT_HAND, RIGHT_HAND, Parts, dim, draw_dots,
    draw_feet, draw_hand, fill_limb,
)

STICK_WIDTH = 4

__all__ = ["HAND_EDGE_COLORS", "body_subset", "draw_controlnet", "draw_keypoints", "draw_openpose",
           "normalised_openpose134"]


def draw_openpose(
    result: PoseResult,
    output_size: tuple[int, int] | None = None,
    include_body: bool = True,
    include_hand: bool = True,
    include_face: bool = True,
    include_foot: bool = False,
) -> np.ndarray:
    """The skeleton image (H, W, 3) uint8 RGB on black, drawn at `output_size` (W, H)."""
    return draw_controlnet(result, output_size or result.image_size,
                           Parts(include_body, include_hand, include_face, include_foot))


def draw_keypoints(
    keypoints: np.ndarray,
    scores: np.ndarray,
    image_size: tuple[int, int],
    output_size: tuple[int, int] | None = None,
    **parts: bool,
) -> np.ndarray:
    """`draw_openpose` for bare arrays: keypoints (N, 133, 2) in pixels of an image of
    `image_size` (W, H), scores (N, 133); `parts` are the include_* toggles."""
    return draw_openpose(PoseResult.from_keypoints(keypoints, scores, image_size), output_size, **parts)


def normalised_openpose134(result: PoseResult) -> np.ndarray:
    """(N, 134, 3) OpenPose-ordered points with x / W and y / H (the caller's float type), as
    the ControlNet-derived peers normalise them before multiplying by their canvas size."""
    info = result.to_openpose134()
    info[..., 0] /= float(result.image_size[0])
    info[..., 1] /= float(result.image_size[1])
    return info


def body_subset(body_scores: np.ndarray) -> np.ndarray:
    """The peers' body `subset` (N, 18) as float: 18 n + j where the score is > 0.3, else -1;
    the drawing looks points up by these indices in the (N * 18, 2) body `candidate`."""
    flat_index = np.arange(body_scores.size, dtype=np.float64).reshape(body_scores.shape)
    return np.where(body_scores > VISIBILITY_THRESHOLD, flat_index, -1.0)


def draw_controlnet(result: PoseResult, canvas_size: tuple[int, int], parts: Parts) -> np.ndarray:
    width, height = canvas_size
    canvas = np.zeros((height, width, 3), dtype=np.uint8)
    if len(result) == 0:
        return canvas
    info = normalised_openpose134(result)
    if parts.body:
        _draw_body(canvas, info[:, BODY])
    # Hands, face and feet use `score >= 0.3` (the body uses `> 0.3`); masked points sit at -1.
    masked = info.copy()
    masked[masked[..., 2] < VISIBILITY_THRESHOLD, :2] = -1
    scale = np.asarray([width, height], dtype=info.dtype)
    if parts.foot:
        for person in masked:
            draw_feet(canvas, person[:, :2] * scale, person[:, 2] >= VISIBILITY_THRESHOLD)
    if parts.hand:
        for hand in np.concatenate([masked[:, LEFT_HAND], masked[:, RIGHT_HAND]]):
            draw_hand(canvas, hand[:, :2], HAND_EDGE_COLORS.__getitem__, lambda _: (0, 0, 255), 4)
    if parts.face:
        for face in masked[:, FACE]:
            draw_dots(canvas, face[:, :2], 3, lambda _: (255, 255, 255))
    return canvas


def _draw_body(canvas: np.ndarray, body: np.ndarray) -> None:
    height, width = canvas.shape[:2]
    visible = body[..., 2] > VISIBILITY_THRESHOLD
    for limb, (a, b) in enumerate(BODY_LIMBS):
        for person in range(len(body)):
            if visible[person, a] and visible[person, b]:
                fill_limb(canvas, body[person, [a, b], 0] * float(width), body[person, [a, b], 1] * float(height),
                          STICK_WIDTH, BODY_COLORS[limb])
    dim(canvas)
    for joint in range(18):
        for person in range(len(body)):
            if visible[person, joint]:
                x, y = body[person, joint, :2]
                cv2.circle(canvas, (int(x * width), int(y * height)), 4, BODY_COLORS[joint], thickness=-1)

