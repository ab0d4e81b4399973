"""The `mmpose` and `openpose134` styles: rtmlib's `draw_skeleton(img, keypoints, scores,
openpose_skeleton, kpt_thr)` (Tau-J/rtmlib, rtmlib/visualization), drawn over the photo when
one is given (else on black), as rtmlib users see it.

rtmlib draws into OpenCV BGR frames. `mmpose` (openpose_skeleton=False, the 133 COCO-WholeBody
points) writes its palette unchanged into the BGR frame; `openpose134` (openpose_skeleton=True,
rtmlib's 134-point OpenPose layout with neck score = the weaker shoulder's score) writes limb
colours unchanged and joint colours reversed. The output here is RGB, so each colour below is
placed the way it ends up on screen. Its "transparency" blends the frame with itself, i.e.
draws opaque. `openpose134` skips a link with an end on or outside the image border; joints
need only the score. Points need `score >= kpt_thr` (0.5, rtmlib's default)."""

from __future__ import annotations

import cv2
import numpy as np

from ..formats.openpose import to_openpose134
from ..result import PoseResult
from ..skeleton import HAND_EDGES, NUM_KEYPOINTS, NUM_OPENPOSE_KEYPOINTS, PARTS, SKELETON_LINKS
from .primitives import BODY, BODY_COLORS, BODY_LIMBS, FACE, LEFT_HAND, RIGHT_HAND, Parts, bgr, draw_feet, fill_limb

KPT_THR = 0.5

# --- mmpose (rtmlib's coco133 metainfo): links are COCO-WholeBody's SKELETON_LINKS, in order.
_SIDE_LEFT, _SIDE_RIGHT, _MIDDLE = (0, 255, 0), (255, 128, 0), (51, 153, 255)
_FINGER_COLORS = ((255, 128, 0), (255, 153, 255), (102, 178, 255), (255, 51, 51), (0, 255, 0))  # thumb..pinky
_WHITE = (255, 255, 255)


def _mmpose_point_colors() -> tuple[tuple[int, int, int], ...]:
    colors = [_MIDDLE] * 5                                                  # nose, eyes, ears
    colors += [_SIDE_LEFT if j % 2 else _SIDE_RIGHT for j in range(5, 17)]  # odd = left
    colors += [_SIDE_RIGHT] * 6                                             # feet (all orange in rtmlib)
    colors += [_WHITE] * 68                                                 # face
    for _ in range(2):                                                      # hands: root white, fingers
        colors += [_WHITE] + [c for c in _FINGER_COLORS for _ in range(4)]
    return tuple(colors)


def _mmpose_link_colors() -> tuple[tuple[int, int, int], ...]:
    body = [_SIDE_LEFT, _SIDE_LEFT, _SIDE_RIGHT, _SIDE_RIGHT] + [_MIDDLE] * 4 + \
           [_SIDE_LEFT, _SIDE_RIGHT, _SIDE_LEFT, _SIDE_RIGHT] + [_MIDDLE] * 7
    feet = [_SIDE_LEFT] * 3 + [_SIDE_RIGHT] * 3
    hands = [c for c in _FINGER_COLORS for _ in range(4)] * 2
    return tuple(body + feet + hands)


MMPOSE_POINT_COLORS = _mmpose_point_colors()
MMPOSE_LINK_COLORS = _mmpose_link_colors()

# --- openpose134 (rtmlib's openpose134 metainfo). Limbs: BODY_LIMBS with BODY_COLORS, except
# two entries of rtmlib's table; hands: HAND_EDGES with rtmlib's own integer ramp, the right
# hand's middle-finger edge 10 being white there.
_OP_LIMB_COLORS = tuple({9: (0, 255, 225), 13: (255, 0, 170)}.get(i, c) for i, c in enumerate(BODY_COLORS[:17]))
_OP_HAND_COLORS = (
    (255, 0, 0), (255, 76, 0), (255, 153, 0), (255, 230, 0), (204, 255, 0), (128, 255, 0), (51, 255, 0),
    (0, 255, 26), (0, 255, 102), (0, 255, 178), (0, 255, 255), (0, 178, 255), (0, 102, 255), (0, 26, 255),
    (51, 0, 255), (128, 0, 255), (204, 0, 255), (255, 0, 230), (255, 0, 153), (255, 0, 76),
)
OPENPOSE134_LINKS = BODY_LIMBS + tuple((LEFT_HAND.start + a, LEFT_HAND.start + b) for a, b in HAND_EDGES) + \
    tuple((RIGHT_HAND.start + a, RIGHT_HAND.start + b) for a, b in HAND_EDGES)
OPENPOSE134_LINK_COLORS = _OP_LIMB_COLORS + _OP_HAND_COLORS + tuple(
    _WHITE if e == 10 else c for e, c in enumerate(_OP_HAND_COLORS))
OPENPOSE134_POINT_COLORS = BODY_COLORS + ((0, 0, 0),) * 6 + (_WHITE,) * 68 + ((0, 0, 255),) * 42


def rtmlib_openpose134(keypoints: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """rtmlib's `convert_coco_to_openpose`: the 134-point OpenPose layout (N, 134, 2), (N, 134)
    with the neck's score = the weaker shoulder's score (DWPose's is a 0/1 flag)."""
    info = to_openpose134(keypoints, scores, neck_score="min")
    return info[..., :2], info[..., 2]


def _part_mask(num_points: int, slices: dict[str, slice], parts: Parts) -> np.ndarray:
    keep = np.zeros(num_points, bool)
    for name, part_slice in slices.items():
        keep[part_slice] = getattr(parts, name)
    return keep


def _base(canvas_size: tuple[int, int], image: np.ndarray | None) -> np.ndarray:
    from .canvas import fit_photo

    if image is None:
        return np.zeros((canvas_size[1], canvas_size[0], 3), np.uint8)
    return fit_photo(image, canvas_size)


def _pixels(points: np.ndarray, result: PoseResult, canvas_size: tuple[int, int]) -> np.ndarray:
    if tuple(canvas_size) == tuple(result.image_size):
        return points
    return points * np.divide(canvas_size, result.image_size).astype(points.dtype)


def draw_mmpose_style(result: PoseResult, canvas_size: tuple[int, int], parts: Parts, image: np.ndarray | None = None,
                      kpt_thr: float = KPT_THR, radius: int = 2, line_width: int = 2) -> np.ndarray:
    """rtmlib's `draw_skeleton(..., openpose_skeleton=False)` (its `draw_mmpose`) for every
    person: joints first, then the links over them. Feet are part of this skeleton: drawn with
    the body (or alone with `include_foot`)."""
    canvas = _base(canvas_size, image)
    slices = {"body": slice(*PARTS["body"]), "face": slice(*PARTS["face"]),
              "hand": slice(PARTS["left_hand"][0], PARTS["right_hand"][1])}
    keep = _part_mask(NUM_KEYPOINTS, slices, parts)
    keep[slice(*PARTS["foot"])] = parts.body or parts.foot
    for points, scores in zip(_pixels(result.keypoints, result, canvas_size), result.scores):
        visible = (scores >= kpt_thr) & keep
        for j in np.flatnonzero(visible):
            cv2.circle(canvas, (int(points[j, 0]), int(points[j, 1])), int(radius), bgr(MMPOSE_POINT_COLORS[j]), -1)
        for (a, b), color in zip(SKELETON_LINKS, MMPOSE_LINK_COLORS):
            if visible[a] and visible[b]:
                cv2.line(canvas, (int(points[a, 0]), int(points[a, 1])), (int(points[b, 0]), int(points[b, 1])),
                         bgr(color), thickness=line_width)
    return canvas


def draw_openpose134_style(result: PoseResult, canvas_size: tuple[int, int], parts: Parts,
                           image: np.ndarray | None = None, kpt_thr: float = KPT_THR, line_width: int = 2) -> np.ndarray:
    """rtmlib's `draw_skeleton(..., openpose_skeleton=True)` (its `draw_openpose`) on rtmlib's
    134-point layout, every person: links (body limbs as ellipses of half-width 2 x line_width,
    hand edges as lines of 2 px), then joints (face radius 3, others 4; black feet skipped).
    Feet are not part of this skeleton: `include_foot` adds ours."""
    canvas = _base(canvas_size, image)
    height, width = canvas.shape[:2]
    keypoints, scores = rtmlib_openpose134(_pixels(result.keypoints, result, canvas_size), result.scores)
    keep = _part_mask(NUM_OPENPOSE_KEYPOINTS, {"body": BODY, "face": FACE, "hand": slice(LEFT_HAND.start, RIGHT_HAND.stop)},
                      parts)
    for points, point_scores in zip(keypoints, scores):
        inside = (points[:, 0] > 0) & (points[:, 0] < width) & (points[:, 1] > 0) & (points[:, 1] < height)
        drawable = (point_scores >= kpt_thr) & keep
        for link, ((a, b), color) in enumerate(zip(OPENPOSE134_LINKS, OPENPOSE134_LINK_COLORS)):
            if not (drawable[a] and drawable[b] and inside[a] and inside[b]):
                continue
            if link < len(BODY_LIMBS):
                fill_limb(canvas, points[[a, b], 0], points[[a, b], 1], int(line_width * 2), bgr(color))
            else:
                cv2.line(canvas, (int(points[a, 0]), int(points[a, 1])), (int(points[b, 0]), int(points[b, 1])),
                         bgr(color), thickness=2)
        if parts.foot:
            draw_feet(canvas, points, point_scores >= kpt_thr)
        for j in np.flatnonzero(drawable):
            if any(OPENPOSE134_POINT_COLORS[j]):
                radius = 3 if FACE.start <= j < FACE.stop else 4
                cv2.circle(canvas, (int(points[j, 0]), int(points[j, 1])), radius, OPENPOSE134_POINT_COLORS[j], -1)
    return canvas
