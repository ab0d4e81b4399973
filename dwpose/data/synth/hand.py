"""A hand with five jointed fingers whose joints are the 21 COCO-WholeBody hand keypoints:
root (wrist), then thumb, forefinger, middle, ring and pinky, each base to tip (4 points)."""

from __future__ import annotations

import numpy as np

from .geometry3d import DEG, Capsule, Hull, Stroke, WeightedChoice
from .parts import FINGERS, SUB

# Per finger (thumb first): base joint along the hand axis and towards the thumb side, and the
# three phalanx lengths, in units of the hand length (wrist to the middle fingertip). The
# thumb's base is its CMC joint.
_BASE_ALONG = np.array([0.13, 0.45, 0.46, 0.44, 0.40])
_BASE_ACROSS = np.array([0.13, 0.105, 0.035, -0.04, -0.105])
_PHALANGES = np.array([[0.17, 0.14, 0.12], [0.22, 0.13, 0.10], [0.24, 0.15, 0.11], [0.22, 0.14, 0.10],
                       [0.17, 0.10, 0.09]])
_SPLAY_DEG = np.array([40.0, 7.0, 0.0, -7.0, -15.0])
_WIDTHS = np.array([0.055, 0.045, 0.047, 0.044, 0.038])

# Joint limits (degrees), flexion towards the palm; hyperextension negative. Fingers: MCP, PIP,
# DIP. Thumb: CMC, MCP, IP.
FINGER_LIMITS_DEG = np.array([[-10.0, 90.0], [0.0, 110.0], [0.0, 80.0]])
THUMB_LIMITS_DEG = np.array([[0.0, 20.0], [-5.0, 60.0], [-10.0, 80.0]])

HAND_STYLES = WeightedChoice(("open", "relaxed", "fist", "point", "random"), (0.25, 0.3, 0.15, 0.1, 0.2))
_FINGER_SUBS = [[SUB[f"{side}_{finger}"] for finger in FINGERS] for side in ("left", "right")]


def sample_curls(rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """Per-finger curl in [0, 1] (thumb first) and a spread factor, from a random hand style."""
    style = HAND_STYLES(rng)
    low, high = {"open": (0.0, 0.15), "relaxed": (0.2, 0.55), "fist": (0.75, 1.0), "point": (0.75, 1.0),
                 "random": (0.0, 1.0)}[style]
    curls = rng.uniform(low, high, 5)
    if style == "point":
        curls[1] = rng.uniform(0.0, 0.1)
    return curls, float(rng.uniform(0.0, 1.3))


def finger_angles(curls: np.ndarray, jitter: np.ndarray) -> np.ndarray:
    """(5, 3) joint flexion in degrees for curls in [0, 1] (with a little independent jitter on
    open fingers), inside the joint limits."""
    limits = np.concatenate([THUMB_LIMITS_DEG[None], np.repeat(FINGER_LIMITS_DEG[None], 4, axis=0)])
    angles = limits[:, :, 1] * curls[:, None] + jitter * (1.0 - curls[:, None])
    return np.clip(angles, limits[:, :, 0], limits[:, :, 1])


def build_hand(root: np.ndarray, axis: np.ndarray, palm_normal: np.ndarray, thumb_side: np.ndarray, length: float,
               curls: np.ndarray, spread: float, side: str, rng: np.random.Generator, fingers: bool = True):
    """(21, 3) keypoints and the hand's primitives. `axis` points from the wrist to the fingers,
    `palm_normal` out of the palm, `thumb_side` across the palm towards the thumb (all unit).
    Without `fingers` (a hand too small to label) the hand is drawn as one mitten."""
    bases = root + length * (_BASE_ALONG[:, None] * axis + _BASE_ACROSS[:, None] * thumb_side)
    bases[0] += 0.04 * length * palm_normal
    splay = (_SPLAY_DEG * (0.6 + 0.5 * spread) + rng.uniform(-4.0, 4.0, 5)) * DEG
    directions = np.cos(splay)[:, None] * axis + np.sin(splay)[:, None] * thumb_side
    # Fingers bend towards the palm; the thumb across it, towards the little finger.
    towards = np.repeat(palm_normal[None], 5, axis=0)
    towards[0] = palm_normal * 0.8 - thumb_side * 0.6
    towards -= np.sum(towards * directions, axis=1, keepdims=True) * directions
    towards /= np.linalg.norm(towards, axis=1, keepdims=True)
    angles = finger_angles(curls, rng.uniform(-5.0, 5.0, (5, 3)))
    cumulative = np.cumsum(angles, axis=1) * DEG                           # (5, 3)
    steps = (np.cos(cumulative)[..., None] * directions[:, None] + np.sin(cumulative)[..., None] * towards[:, None])
    joints = bases[:, None] + np.cumsum(length * _PHALANGES[..., None] * steps, axis=1)   # (5, 3, 3)
    fingers_xyz = np.concatenate([bases[:, None], joints], axis=1)                         # (5, 4, 3)
    keypoints = np.concatenate([root[None], fingers_xyz.reshape(20, 3)])
    subs = _FINGER_SUBS[0 if side == "left" else 1]
    if not fingers:
        tips = fingers_xyz[1:, 3].mean(axis=0)
        return keypoints, [Capsule(root, root + 0.7 * (tips - root), 0.18 * length, 0.2 * length, SUB[f"{side}_palm"])]
    primitives = []
    for f in range(5):
        start = root + 0.5 * (bases[0] - root) if f == 0 else bases[f] - 0.1 * length * axis
        primitives.append(Stroke(np.concatenate([start[None], fingers_xyz[f]]), _WIDTHS[f] * length * 0.5, subs[f]))
    palm_corners = np.array([
        root + 0.05 * length * thumb_side, root - 0.07 * length * thumb_side, keypoints[1],
        keypoints[5] + 0.02 * length * thumb_side, keypoints[9], keypoints[13], keypoints[17] - 0.025 * length * thumb_side,
    ])
    thickness = 0.07 * length * palm_normal
    primitives.append(Hull(np.concatenate([palm_corners + thickness, palm_corners - thickness * 0.5]),
                           SUB[f"{side}_palm"]))
    return keypoints, primitives

