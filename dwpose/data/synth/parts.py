"""Body parts of a synthetic person: the sub-parts painted into the label map (each with a
colour role), the anatomical part each belongs to, and which parts may carry each of the 133
keypoints. A keypoint is visible (v=2) when the pixel under it shows one of its parts of the same
person; the same label map gives the person's mask, box and area."""

from __future__ import annotations

import numpy as np

from ...skeleton import KEYPOINT_NAMES, NUM_KEYPOINTS, PARTS

# Anatomical parts (the unit of visibility).
ANATOMY = ("torso", "neck", "head",
           "left_upper_arm", "left_forearm", "left_hand", "right_upper_arm", "right_forearm", "right_hand",
           "left_thigh", "left_shin", "left_foot", "right_thigh", "right_shin", "right_foot")
_ANATOMY_ID = {name: i for i, name in enumerate(ANATOMY)}

FINGERS = ("thumb", "forefinger", "middle_finger", "ring_finger", "pinky_finger")

# Sub-parts: (name, anatomical part, colour role). Painted separately so that the picture shows
# fingers, eyes, lips ... (outlines are drawn where the label changes).
_SUBPARTS: list[tuple[str, str, str]] = [
    ("torso", "torso", "top"), ("neck", "neck", "skin"),
    ("hair", "head", "hair"), ("left_ear", "head", "skin"), ("right_ear", "head", "skin"), ("head", "head", "skin"),
    ("nose", "head", "skin_shade"), ("jaw_line", "head", "skin_shade"),
    ("right_eye_white", "head", "eye_white"), ("left_eye_white", "head", "eye_white"),
    ("right_iris", "head", "iris"), ("left_iris", "head", "iris"),
    ("right_brow", "head", "brow"), ("left_brow", "head", "brow"),
    ("lips", "head", "lips"), ("mouth_inside", "head", "mouth"),
]
for _side in ("left", "right"):
    _SUBPARTS += [(f"{_side}_upper_arm", f"{_side}_upper_arm", "sleeve"),
                  (f"{_side}_forearm", f"{_side}_forearm", "forearm"),
                  (f"{_side}_palm", f"{_side}_hand", "skin")]
    _SUBPARTS += [(f"{_side}_{finger}", f"{_side}_hand", "skin") for finger in FINGERS]
for _side in ("left", "right"):
    _SUBPARTS += [(f"{_side}_thigh", f"{_side}_thigh", "bottom"), (f"{_side}_shin", f"{_side}_shin", "shin"),
                  (f"{_side}_foot", f"{_side}_foot", "shoe")]

SUB = {name: i for i, (name, _, _) in enumerate(_SUBPARTS)}
SUBPART_ROLES: tuple[str, ...] = tuple(role for _, _, role in _SUBPARTS)
NUM_SUBPARTS = len(_SUBPARTS)
SUBPART_ANATOMY = np.array([_ANATOMY_ID[part] for _, part, _ in _SUBPARTS], dtype=np.int64)

# Label map values: 0 = background; a person p paints 1 + p * LABELS_PER_PERSON + sub-part;
# occluders paint from OCCLUDER_BASE on.
LABELS_PER_PERSON = 64
MAX_PERSONS = 16
OCCLUDER_BASE = 1 + MAX_PERSONS * LABELS_PER_PERSON
MAX_OCCLUDER_LABELS = 64
NUM_LABELS = OCCLUDER_BASE + MAX_OCCLUDER_LABELS
assert NUM_SUBPARTS <= LABELS_PER_PERSON


def person_label(person: int, sub: int) -> int:
    return 1 + person * LABELS_PER_PERSON + sub


def _lookup_tables() -> tuple[np.ndarray, np.ndarray]:
    person = np.full(NUM_LABELS, -1, np.int8)
    part = np.full(NUM_LABELS, -1, np.int8)
    for p in range(MAX_PERSONS):
        start = 1 + p * LABELS_PER_PERSON
        person[start:start + LABELS_PER_PERSON] = p
        part[start:start + NUM_SUBPARTS] = SUBPART_ANATOMY
    return person, part


_PERSON_OF_LABEL, _PART_OF_LABEL = _lookup_tables()


def decode_labels(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(person index or -1, anatomical part id or -1) of label-map values."""
    return np.take(_PERSON_OF_LABEL, labels), np.take(_PART_OF_LABEL, labels)


def label_owner(labels: np.ndarray) -> np.ndarray:
    """Person index (or -1: background, occluder) of label-map values."""
    return np.take(_PERSON_OF_LABEL, labels)


def _keypoint_owners() -> np.ndarray:
    """(133, len(ANATOMY)) bool: the parts whose pixels show each keypoint."""
    owners = np.zeros((NUM_KEYPOINTS, len(ANATOMY)), dtype=bool)
    body = {"nose": ["head"], "eye": ["head"], "ear": ["head"], "shoulder": ["torso", "upper_arm"],
            "elbow": ["upper_arm", "forearm"], "wrist": ["forearm", "hand"], "hip": ["torso", "thigh"],
            "knee": ["thigh", "shin"], "ankle": ["shin", "foot"]}
    for k, name in enumerate(KEYPOINT_NAMES[:17]):
        side, _, joint = name.partition("_") if "_" in name else ("", "", name)
        for part in body[joint]:
            owners[k, _ANATOMY_ID[part if part in ("head", "torso") else f"{side}_{part}"]] = True
    for k in range(*PARTS["foot"]):
        owners[k, _ANATOMY_ID[f"{KEYPOINT_NAMES[k].split('_')[0]}_foot"]] = True
    owners[slice(*PARTS["face"]), _ANATOMY_ID["head"]] = True
    for side in ("left", "right"):
        owners[slice(*PARTS[f"{side}_hand"]), _ANATOMY_ID[f"{side}_hand"]] = True
    return owners


KEYPOINT_OWNERS: np.ndarray = _keypoint_owners()
assert KEYPOINT_OWNERS.any(axis=1).all()
