"""OpenPose / ControlNet conditioning images from pose results, with the DWPose reference
annotator's constants: limbs as filled ellipses dimmed to 60%, joints, hands with an HSV edge
ramp, face dots, threshold 0.3. Colours are RGB."""

from __future__ import annotations

import colorsys
import math

import cv2
import numpy as np

from ..formats import VISIBILITY_THRESHOLD, PoseResult
from ..skeleton import HAND_EDGES

# OpenPose-18 limbs (0-based); the reference lists 19 but draws only the first 17.
BODY_LIMBS = (
    (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11), (11, 12),
    (12, 13), (1, 0), (0, 14), (14, 16), (0, 15), (15, 17),
)
BODY_COLORS = (
    (255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0),
    (0, 255, 0), (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255),
    (0, 0, 255), (85, 0, 255), (170, 0, 255), (255, 0, 255), (255, 0, 170), (255, 0, 85),
)
HAND_EDGE_COLORS = tuple(
    tuple(c * 255.0 for c in colorsys.hsv_to_rgb(i / len(HAND_EDGES), 1.0, 1.0)) for i in range(len(HAND_EDGES))
)
# Feet (optional, not in the reference drawing): ankle -> big toe, small toe, heel, per side.
FOOT_LINKS = ((13, 18), (13, 19), (13, 20), (10, 21), (10, 22), (10, 23))  # 134-layout indices
FOOT_COLOR = (255, 255, 255)
STICK_WIDTH = 4
EPS = 0.01


def output_size_for(image_size: tuple[int, int], resolution: int | None) -> tuple[int, int]:
    """(W, H) with the short side = resolution, keeping the aspect ratio (None: unchanged)."""
    width, height = image_size
    if not resolution:
        return width, height
    k = resolution / min(width, height)
    return max(int(round(width * k)), 1), max(int(round(height * k)), 1)


def draw_openpose(
    result: PoseResult,
    output_size: tuple[int, int] | None = None,
    include_body: bool = True,
    include_hand: bool = True,
    include_face: bool = True,
    include_foot: bool = False,
) -> np.ndarray:
    """The skeleton image (H, W, 3) uint8 RGB on black, drawn at `output_size` (W, H)."""
    width, height = output_size or result.image_size
    canvas = np.zeros((height, width, 3), dtype=np.uint8)
    if len(result) == 0:
        return canvas
    info = result.to_openpose134()
    info[..., 0] /= float(result.image_size[0])
    info[..., 1] /= float(result.image_size[1])
    if include_body:
        canvas = _draw_body(canvas, info[:, :18])
    masked = info.copy()
    masked[masked[..., 2] < VISIBILITY_THRESHOLD, :2] = -1
    if include_foot:
        _draw_feet(canvas, masked)
    if include_hand:
        for hand in np.concatenate([masked[:, 92:113], masked[:, 113:134]]):
            _draw_hand(canvas, hand[:, :2])
    if include_face:
        for face in masked[:, 24:92]:
            for x, y in face[:, :2]:
                x, y = int(x * width), int(y * height)
                if x > EPS and y > EPS:
                    cv2.circle(canvas, (x, y), 3, (255, 255, 255), thickness=-1)
    return canvas


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


def _draw_body(canvas: np.ndarray, body: np.ndarray) -> np.ndarray:
    height, width = canvas.shape[:2]
    visible = body[..., 2] > VISIBILITY_THRESHOLD
    for limb, (a, b) in enumerate(BODY_LIMBS):
        for person in range(len(body)):
            if not (visible[person, a] and visible[person, b]):
                continue
            xs = body[person, [a, b], 0] * float(width)
            ys = body[person, [a, b], 1] * float(height)
            length = math.hypot(xs[0] - xs[1], ys[0] - ys[1])
            angle = math.degrees(math.atan2(ys[0] - ys[1], xs[0] - xs[1]))
            polygon = cv2.ellipse2Poly((int(np.mean(xs)), int(np.mean(ys))), (int(length / 2), STICK_WIDTH),
                                       int(angle), 0, 360, 1)
            cv2.fillConvexPoly(canvas, polygon, BODY_COLORS[limb])
    canvas = (canvas * 0.6).astype(np.uint8)
    for joint in range(18):
        for person in range(len(body)):
            if visible[person, joint]:
                x, y = body[person, joint, :2]
                cv2.circle(canvas, (int(x * width), int(y * height)), 4, BODY_COLORS[joint], thickness=-1)
    return canvas


def _draw_hand(canvas: np.ndarray, points: np.ndarray) -> None:
    height, width = canvas.shape[:2]
    for edge, (a, b) in enumerate(HAND_EDGES):
        x1, y1 = int(points[a, 0] * width), int(points[a, 1] * height)
        x2, y2 = int(points[b, 0] * width), int(points[b, 1] * height)
        if x1 > EPS and y1 > EPS and x2 > EPS and y2 > EPS:
            cv2.line(canvas, (x1, y1), (x2, y2), HAND_EDGE_COLORS[edge], thickness=2)
    for x, y in points:
        x, y = int(x * width), int(y * height)
        if x > EPS and y > EPS:
            cv2.circle(canvas, (x, y), 4, (0, 0, 255), thickness=-1)


def _draw_feet(canvas: np.ndarray, info: np.ndarray) -> None:
    height, width = canvas.shape[:2]
    for person in info:
        for a, b in FOOT_LINKS:
            x1, y1 = int(person[a, 0] * width), int(person[a, 1] * height)
            x2, y2 = int(person[b, 0] * width), int(person[b, 1] * height)
            if min(x1, y1, x2, y2) > EPS:
                cv2.line(canvas, (x1, y1), (x2, y2), FOOT_COLOR, thickness=2)


def overlay(image_rgb: np.ndarray, skeleton_rgb: np.ndarray) -> np.ndarray:
    """The skeleton drawn over a photo (both RGB; the photo is resized to the skeleton)."""
    height, width = skeleton_rgb.shape[:2]
    if image_rgb.shape[:2] != (height, width):
        image_rgb = cv2.resize(image_rgb, (width, height), interpolation=cv2.INTER_AREA)
    mask = skeleton_rgb.any(axis=2, keepdims=True)
    return np.where(mask, skeleton_rgb, image_rgb)


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
    k = resolution / min(width, height)
    return cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LANCZOS4 if k > 1 else cv2.INTER_AREA)
