"""Drawing primitives shared by every style: the OpenPose palette and limb list, the filled
ellipse limb, hand edge colours (with OpenCV's round-half-even colour rule), the eps check,
MusePose's `smart_width`, in-place dimming and the optional feet.

Bit-exactness with the peers' drawings depends on the details here: every `int()` truncates
toward zero, lengths and angles come from the float endpoints, and a float colour is rounded by
OpenCV to nearest with ties to even."""

from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np

from ..skeleton import HAND_EDGES, OPENPOSE_PARTS

# OpenPose-18 limbs (0-based, 134-layout body indices); the reference lists 19 but every peer
# draws only these first 17.
BODY_LIMBS: tuple[tuple[int, int], ...] = (
    (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11), (11, 12),
    (12, 13), (1, 0), (0, 14), (14, 16), (0, 15), (15, 17),
)
# Limb i and joint i use colour i (RGB as written by the reference annotator).
BODY_COLORS: tuple[tuple[int, int, int], ...] = (
    (255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0),
    (0, 255, 0), (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255),
    (0, 0, 255), (85, 0, 255), (170, 0, 255), (255, 0, 255), (255, 0, 170), (255, 0, 85),
)
# The parts of the 134 layout as slices.
BODY = slice(*OPENPOSE_PARTS["body"])
FEET = slice(*OPENPOSE_PARTS["foot"])
FACE = slice(*OPENPOSE_PARTS["face"])
LEFT_HAND = slice(*OPENPOSE_PARTS["left_hand"])
RIGHT_HAND = slice(*OPENPOSE_PARTS["right_hand"])
# Feet (none of the peers draws them; ours, on request): ankle -> big toe, small toe, heel.
FOOT_LINKS: tuple[tuple[int, int], ...] = ((13, 18), (13, 19), (13, 20), (10, 21), (10, 22), (10, 23))
FOOT_COLOR = (255, 255, 255)
EPS = 0.01         # hand/face points need int coordinates > EPS, i.e. >= 1 px


@dataclass(frozen=True)
class Parts:
    """Which parts to draw."""

    body: bool = True
    hand: bool = True
    face: bool = True
    foot: bool = False


def hand_edge_color(edge: int, factor: float = 255) -> tuple[int, int, int]:
    """Colour of hand edge `edge`: HSV(edge/20, 1, 1) x `factor` in float64 (matplotlib's and
    colorsys's formula are the same), rounded as OpenCV rounds a float colour: to nearest,
    ties to even (Python's `round`). The float noise decides: 76.50000000000001 -> 77."""
    rgb = colorsys.hsv_to_rgb(edge / float(len(HAND_EDGES)), 1.0, 1.0)
    return tuple(round(c * factor) for c in rgb)  # type: ignore[return-value]


HAND_EDGE_COLORS: tuple[tuple[int, int, int], ...] = tuple(hand_edge_color(e) for e in range(len(HAND_EDGES)))


def bgr(color: tuple) -> tuple:
    """The colour with its channels reversed. Styles whose peers draw into an array they treat as
    BGR draw with reversed colours, which gives the peer's RGB output without swapping the whole
    canvas afterwards (every primitive here works on each channel independently)."""
    return tuple(color[::-1])


def passes_eps(*coords: int) -> bool:
    """The peers' check for hand and face points: every truncated coordinate > 0.01."""
    return all(c > EPS for c in coords)


def fill_limb(canvas: np.ndarray, xs: np.ndarray, ys: np.ndarray, half_width: int | Callable[[float], int],
              color: tuple) -> None:
    """A body limb as the peers draw it: the filled ellipse `ellipse2Poly` between the two float
    endpoints (xs, ys: pixel coordinates of both ends), axes (int(length / 2), half_width),
    angle int(degrees), centre truncated. `half_width` may be a function of the length."""
    dx, dy = xs[0] - xs[1], ys[0] - ys[1]
    length = (dy ** 2 + dx ** 2) ** 0.5
    angle = math.degrees(math.atan2(dy, dx))
    width = half_width(length) if callable(half_width) else half_width
    polygon = cv2.ellipse2Poly((int(np.mean(xs)), int(np.mean(ys))), (int(length / 2), int(width)),
                               int(angle), 0, 360, 1)
    cv2.fillConvexPoly(canvas, polygon, color)


def draw_hand(canvas: np.ndarray, points: np.ndarray, edge_color: Callable[[int], tuple],
              joint_color: Callable[[int], tuple], joint_radius: int,
              thickness: int | Callable[[float], int] = 2) -> None:
    """One hand as the ControlNet-derived peers draw it: `points` (21, 2) are fractions of the
    canvas, truncated to pixels; each edge whose four coordinates pass the eps check becomes a
    line, then each joint passing it a filled circle. Colours come per edge / joint index; the
    thickness may be a function of the edge's length in pixels."""
    height, width = canvas.shape[:2]
    pixels = [(int(x * width), int(y * height)) for x, y in points]
    for edge, (a, b) in enumerate(HAND_EDGES):
        (x1, y1), (x2, y2) = pixels[a], pixels[b]
        if passes_eps(x1, y1, x2, y2):
            line_width = thickness(((x1 - x2) ** 2 + (y1 - y2) ** 2) ** 0.5) if callable(thickness) else thickness
            cv2.line(canvas, (x1, y1), (x2, y2), edge_color(edge), thickness=line_width)
    draw_dots(canvas, points, joint_radius, joint_color)


def draw_dots(canvas: np.ndarray, points: np.ndarray, radius: int, color: Callable[[int], tuple]) -> None:
    """Filled circles at `points` (K, 2), fractions of the canvas, for those passing the eps
    check (face dots, hand joints)."""
    height, width = canvas.shape[:2]
    for index, (x, y) in enumerate(points):
        x, y = int(x * width), int(y * height)
        if passes_eps(x, y):
            cv2.circle(canvas, (x, y), radius, color(index), thickness=-1)


def smart_width(distance: float) -> int:
    """MusePose's limb half-width / line thickness for a limb of this length in pixels."""
    for limit, width in ((5, 1), (10, 2), (20, 3), (40, 4), (80, 5), (160, 6), (320, 7)):
        if distance < limit:
            return width
    return 8


# (v * 0.6) truncated, for every uint8 v: exactly `(canvas * 0.6).astype(uint8)`, per value.
_DIM_TABLE = (np.arange(256) * 0.6).astype(np.uint8)


def dim(canvas: np.ndarray) -> np.ndarray:
    """The reference's `(canvas * 0.6).astype(uint8)`, in place through a 256-entry lookup table:
    no float copy of the canvas (that copy alone was 8x the canvas in memory)."""
    return cv2.LUT(canvas, _DIM_TABLE, dst=canvas)


def draw_feet(canvas: np.ndarray, points: np.ndarray, present: np.ndarray, thickness: int = 2) -> None:
    """Our optional feet for one person: white lines ankle -> toes/heel. `points` (134, 2) are
    canvas pixel coordinates, `present` (134,) the points to use; the eps check applies."""
    for a, b in FOOT_LINKS:
        if not (present[a] and present[b]):
            continue
        x1, y1, x2, y2 = int(points[a, 0]), int(points[a, 1]), int(points[b, 0]), int(points[b, 1])
        if passes_eps(x1, y1, x2, y2):
            cv2.line(canvas, (x1, y1), (x2, y2), FOOT_COLOR, thickness=thickness)
