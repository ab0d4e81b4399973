"""Small 3D helpers for the synthetic person model: rotations and the draw primitives the
renderer rasterises (in the person's 3D frame before the camera, in image pixels after)."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from itertools import accumulate

import numpy as np

DEG = np.pi / 180.0


class WeightedChoice:
    """`rng.choice(options, p=weights)` without its per-call overhead (it runs several times per
    person): one uniform draw against the cumulative weights."""

    def __init__(self, options, weights) -> None:
        self.options = tuple(options)
        total = float(sum(weights))
        self.cumulative = [w / total for w in accumulate(weights)][:-1]

    def __call__(self, rng: np.random.Generator):
        return self.options[bisect_right(self.cumulative, rng.random())]


def rot_x(angle: float) -> np.ndarray:
    """Rotation about X by `angle` radians (turns +Y towards +Z)."""
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def rot_y(angle: float) -> np.ndarray:
    """Rotation about Y by `angle` radians (turns +Z towards +X)."""
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def rot_z(angle: float) -> np.ndarray:
    """Rotation about Z by `angle` radians (turns +X towards +Y)."""
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def rotate_about(vector: np.ndarray, axis: np.ndarray, angle: float) -> np.ndarray:
    """Rodrigues: `vector` rotated by `angle` radians about the unit `axis`."""
    c, s = np.cos(angle), np.sin(angle)
    return vector * c + cross(axis, vector) * s + axis * np.dot(axis, vector) * (1.0 - c)


def cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cross product of two 3-vectors (np.cross is slow for single vectors)."""
    return np.array([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]])


# --------------------------------------------------------------------------- primitives
# Every primitive carries `sub`: the sub-part id it paints into the label map (see parts.py).

@dataclass
class Capsule:
    """A tapered limb: the segment a-b swept by a disc whose radius goes from ra to rb."""

    a: np.ndarray
    b: np.ndarray
    ra: float
    rb: float
    sub: int
    points: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.points = np.array([self.a, self.b])


@dataclass
class Hull:
    """The convex hull of some points (torso, palm, foot, nose)."""

    points: np.ndarray
    sub: int


@dataclass
class Ellipsoid:
    """An ellipsoid: centre + 3x3 matrix whose columns are the semi-axis vectors."""

    centre: np.ndarray
    axes: np.ndarray
    sub: int

    @property
    def points(self) -> np.ndarray:
        return self.centre[None]


@dataclass
class Stroke:
    """A polyline of `width` (brows, jaw line) or, with `filled`, a polygon (eyes, lips).
    Points whose `normals` face away from the camera are culled."""

    points: np.ndarray
    width: float
    sub: int
    filled: bool = False
    closed: bool = False
    normals: np.ndarray | None = None
