"""Keypoint layouts: COCO-WholeBody's 133 points (names, parts, flip pairs, OKS sigmas, skeleton
links), the 134-point OpenPose layout derived from it, and the score from which a point counts
as present. The one source of truth for these facts; every other module imports from here."""

from __future__ import annotations

import numpy as np

NUM_KEYPOINTS = 133

_BODY_NAMES = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)
_FOOT_NAMES = (
    "left_big_toe", "left_small_toe", "left_heel",
    "right_big_toe", "right_small_toe", "right_heel",
)
_FACE_NAMES = tuple(f"face-{i}" for i in range(68))
_FINGERS = ("thumb", "forefinger", "middle_finger", "ring_finger", "pinky_finger")


def _hand_names(side: str) -> tuple[str, ...]:
    names = [f"{side}_hand_root"]
    for finger in _FINGERS:
        names += [f"{side}_{finger}{j}" for j in range(1, 5)]
    return tuple(names)


KEYPOINT_NAMES: tuple[str, ...] = (
    _BODY_NAMES + _FOOT_NAMES + _FACE_NAMES + _hand_names("left") + _hand_names("right")
)

# Half-open index ranges [start, stop) of each part in the 133 layout.
PARTS: dict[str, tuple[int, int]] = {
    "body": (0, 17),
    "foot": (17, 23),
    "face": (23, 91),
    "left_hand": (91, 112),
    "right_hand": (112, 133),
}

# The 134-point OpenPose layout of DWPose's ControlNet annotator (and rtmlib's openpose134): the
# 133 points with a neck (the shoulders' midpoint) inserted at OPENPOSE_NECK_INSERT, then the
# first 18 reordered into OpenPose-18's body: point OPENPOSE_BODY_SRC[i] goes to OPENPOSE_BODY_DST[i].
NUM_OPENPOSE_KEYPOINTS = 134
OPENPOSE_NECK_INSERT = 17
OPENPOSE_BODY_DST: tuple[int, ...] = (1, 2, 3, 4, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16, 17)
OPENPOSE_BODY_SRC: tuple[int, ...] = (17, 6, 8, 10, 7, 9, 12, 14, 16, 13, 15, 2, 1, 4, 3)
# Half-open index ranges of each part in the 134 layout (the 133 layout's, one later for the neck).
OPENPOSE_PARTS: dict[str, tuple[int, int]] = {
    "body": (0, 18),
    "foot": (18, 24),
    "face": (24, 92),
    "left_hand": (92, 113),
    "right_hand": (113, 134),
}

# A keypoint whose score is >= this is present: drawn, written to OpenPose JSON, labelled (v = 2)
# by `dwpose label`; DWPose's annotator and the tool chains built on it use the same 0.3.
VISIBILITY_THRESHOLD = 0.3

# Annotation field of each part in COCO-WholeBody JSON, in concatenation order.
PART_ANNOTATION_FIELDS: dict[str, str] = {
    "body": "keypoints",
    "foot": "foot_kpts",
    "face": "face_kpts",
    "left_hand": "lefthand_kpts",
    "right_hand": "righthand_kpts",
}

# Symmetric pairs (left <-> right) used by horizontal flip; unlisted points map to themselves.
FLIP_PAIRS: tuple[tuple[int, int], ...] = (
    (1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16),
    (17, 20), (18, 21), (19, 22),
    (23, 39), (24, 38), (25, 37), (26, 36), (27, 35), (28, 34), (29, 33), (30, 32),
    (40, 49), (41, 48), (42, 47), (43, 46), (44, 45),
    (54, 58), (55, 57),
    (59, 68), (60, 67), (61, 66), (62, 65), (63, 70), (64, 69),
    (71, 77), (72, 76), (73, 75),
    (78, 82), (79, 81),
    (83, 87), (84, 86),
    (88, 90),
) + tuple((91 + i, 112 + i) for i in range(21))


def _flip_indices() -> tuple[int, ...]:
    indices = list(range(NUM_KEYPOINTS))
    for a, b in FLIP_PAIRS:
        indices[a], indices[b] = b, a
    return tuple(indices)


FLIP_INDICES: tuple[int, ...] = _flip_indices()

# Half-body augmentation groups (body + feet only; face and hands belong to neither).
UPPER_BODY_IDS: tuple[int, ...] = tuple(range(0, 11))
LOWER_BODY_IDS: tuple[int, ...] = tuple(range(11, 23))

_BODY_SIGMAS = (
    0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072, 0.062, 0.062,
    0.107, 0.107, 0.087, 0.087, 0.089, 0.089,
)
_FOOT_SIGMAS = (0.068, 0.066, 0.066, 0.092, 0.094, 0.094)
_FACE_SIGMAS = (
    0.042, 0.043, 0.044, 0.043, 0.040, 0.035, 0.031, 0.025, 0.020, 0.023, 0.029,
    0.032, 0.037, 0.038, 0.043, 0.041, 0.045, 0.013, 0.012, 0.011, 0.011, 0.012, 0.012, 0.011,
    0.011, 0.013, 0.015, 0.009, 0.007, 0.007, 0.007, 0.012, 0.009, 0.008, 0.016, 0.010, 0.017,
    0.011, 0.009, 0.011, 0.009, 0.007, 0.013, 0.008, 0.011, 0.012, 0.010, 0.034, 0.008, 0.008,
    0.009, 0.008, 0.008, 0.007, 0.010, 0.008, 0.009, 0.009, 0.009, 0.007, 0.007, 0.008, 0.011,
    0.008, 0.008, 0.008, 0.010, 0.008,
)
_HAND_SIGMAS = (
    0.029, 0.022, 0.035, 0.037, 0.047, 0.026, 0.025, 0.024, 0.035, 0.018,
    0.024, 0.022, 0.026, 0.017, 0.021, 0.021, 0.032, 0.020, 0.019, 0.022, 0.031,
)

# Per-keypoint OKS sigmas of the COCO-WholeBody benchmark, in the 133 layout.
SIGMAS: np.ndarray = np.array(
    _BODY_SIGMAS + _FOOT_SIGMAS + _FACE_SIGMAS + _HAND_SIGMAS + _HAND_SIGMAS, dtype=np.float64
)
SIGMAS.setflags(write=False)


def part_sigmas(part: str) -> np.ndarray:
    """OKS sigmas of one part (`body`, `foot`, `face`, `left_hand`, `right_hand`)."""
    start, stop = PARTS[part]
    return SIGMAS[start:stop]


_HAND_EDGES = (
    (0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (0, 9), (9, 10),
    (10, 11), (11, 12), (0, 13), (13, 14), (14, 15), (15, 16), (0, 17), (17, 18),
    (18, 19), (19, 20),
)

# Skeleton links of the COCO-WholeBody metainfo (65): body, feet, left hand, right hand.
SKELETON_LINKS: tuple[tuple[int, int], ...] = (
    (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7),
    (6, 8), (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6),
    (15, 17), (15, 18), (15, 19), (16, 20), (16, 21), (16, 22),
) + tuple((91 + a, 91 + b) for a, b in _HAND_EDGES) + tuple(
    (112 + a, 112 + b) for a, b in _HAND_EDGES
)

# The 21-point hand edges in local hand indices (used by the OpenPose-style drawing).
HAND_EDGES: tuple[tuple[int, int], ...] = _HAND_EDGES

assert len(KEYPOINT_NAMES) == NUM_KEYPOINTS
assert len(SIGMAS) == NUM_KEYPOINTS
assert len(FLIP_PAIRS) == 61
assert OPENPOSE_PARTS["right_hand"][1] == NUM_OPENPOSE_KEYPOINTS
