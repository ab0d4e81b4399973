"""OpenPose output: the 134-point OpenPose layout of COCO-WholeBody results (what the ControlNet
annotators draw) and OpenPose JSON as comfyui_controlnet_aux writes and reads it (POSE_KEYPOINT).
Array in, array or dict out: `PoseResult` wraps these as methods."""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..media import check_image_size
from ..skeleton import (NUM_OPENPOSE_KEYPOINTS, OPENPOSE_BODY_DST, OPENPOSE_BODY_SRC, OPENPOSE_NECK_INSERT,
                        OPENPOSE_PARTS, VISIBILITY_THRESHOLD)

# The 134 layout's neck score: DWPose's 0/1 flag (both shoulders > 0.3) or rtmlib's weaker shoulder.
NECK_SCORES = ("flag", "min")
# OpenPose JSON coordinates read back: OpenCV draws with 32-bit fixed-point coordinates, and no
# canvas is near this large, so a point farther off is a broken file, refused in one line.
MAX_COORDINATE = 1e6
# OpenPose JSON's keys for the parts of the 134 layout; the face's 70 points end with the body's eyes.
JSON_PART_KEYS = {"body": "pose_keypoints_2d", "foot": "foot_keypoints_2d", "face": "face_keypoints_2d",
                  "left_hand": "hand_left_keypoints_2d", "right_hand": "hand_right_keypoints_2d"}
_EYES = [14, 15]  # the body's eyes in the 134 layout


def to_openpose134(keypoints: np.ndarray, scores: np.ndarray, neck_score: str = "flag") -> np.ndarray:
    """(N, 134, 3) OpenPose-ordered x, y, score of COCO-WholeBody keypoints (N, 133, 2) and
    scores (N, 133); the inserted neck's score is the `"flag"` or `"min"` rule (`NECK_SCORES`)."""
    if neck_score not in NECK_SCORES:
        raise InputError(f"neck_score must be one of {', '.join(NECK_SCORES)}, got {neck_score!r}")
    # Keeps the caller's float type: the drawing's int(x / W * W) rounding depends on it.
    info = np.concatenate([keypoints, scores[..., None]], axis=-1)
    if not np.issubdtype(info.dtype, np.floating):
        info = info.astype(np.float32)
    neck = info[:, [5, 6]].mean(axis=1)
    if neck_score == "flag":
        neck[:, 2] = ((info[:, 5, 2] > VISIBILITY_THRESHOLD) & (info[:, 6, 2] > VISIBILITY_THRESHOLD))
    else:
        neck[:, 2] = np.minimum(info[:, 5, 2], info[:, 6, 2])
    info = np.insert(info, OPENPOSE_NECK_INSERT, neck, axis=1)
    info[:, OPENPOSE_BODY_DST] = info[:, OPENPOSE_BODY_SRC]
    return info


def from_openpose134(keypoints: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """COCO-WholeBody keypoints (N, 133, 2) and scores (N, 133) of the 134-point layout
    (N, 134, 2), (N, 134): the reorder undone and the neck dropped."""
    info = np.concatenate([keypoints, scores[..., None]], axis=-1)
    info[:, OPENPOSE_BODY_SRC] = info[:, OPENPOSE_BODY_DST]
    info = np.delete(info, OPENPOSE_NECK_INSERT, axis=1)
    return info[..., :2], info[..., 2]


def to_openpose_json(keypoints: np.ndarray, scores: np.ndarray, image_size: tuple[int, int],
                     include_body: bool = True, include_hand: bool = True, include_face: bool = True,
                     include_foot: bool = False, controlnet_compat: bool = False) -> dict:
    """OpenPose JSON of keypoints (N, 133, 2) and scores (N, 133) on a (width, height) canvas;
    see `PoseResult.to_openpose_json`."""
    width, height = image_size
    info = to_openpose134(keypoints, scores)
    # The neck gets a real score: the weaker shoulder (its layout score is a 0/1 flag).
    info[:, 1, 2] = np.minimum(scores[:, 5], scores[:, 6]) * info[:, 1, 2]
    people = []
    for person in info:
        part = {name: person[slice(*span)] for name, span in OPENPOSE_PARTS.items()}
        body = part["body"]
        face = _openpose_json_part(part["face"], controlnet_compat) if include_face else None
        if face is not None:  # OpenPose's 70 face points: the 68 and the two eyes of the body
            face += _openpose_json_part(body[_EYES], controlnet_compat, nullable=False)
        hands = [_openpose_json_part(part[side], controlnet_compat) if include_hand else None
                 for side in ("left_hand", "right_hand")]
        entry: dict = {
            JSON_PART_KEYS["body"]: (_openpose_json_part(body, controlnet_compat, nullable=False) if include_body
                                     else [0.0] * 3 * len(body)),
            JSON_PART_KEYS["face"]: face,
            JSON_PART_KEYS["left_hand"]: hands[0],
            JSON_PART_KEYS["right_hand"]: hands[1],
        }
        if include_foot:
            entry[JSON_PART_KEYS["foot"]] = _openpose_json_part(part["foot"], controlnet_compat)
        people.append(entry)
    return {"people": people, "canvas_height": int(height), "canvas_width": int(width)}


def _openpose_json_part(points: np.ndarray, controlnet_compat: bool, nullable: bool = True) -> list[float] | None:
    """Flat x, y, c triples of (K, 3) points; None when `nullable` and no point is present."""
    present = points[:, 2] >= VISIBILITY_THRESHOLD
    if nullable and not present.any():
        return None
    values: list[float] = []
    for (x, y, score), shown in zip(points.tolist(), present.tolist()):
        if not shown:
            values += [0.0, 0.0, 0.0]
        elif controlnet_compat:
            values += [x, y, 1.0]
        else:
            values += [round(x, 3), round(y, 3), round(score, 3)]
    return values


def from_openpose_json(data: object) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """COCO-WholeBody keypoints (N, 133, 2), scores (N, 133) and the (width, height) canvas of
    OpenPose JSON; see `PoseResult.from_openpose_json`. Anything else is an InputError."""
    if not isinstance(data, dict) or not isinstance(data.get("people"), list):
        raise InputError("OpenPose JSON must be a dict with a 'people' list (comfyui's POSE_KEYPOINT frame)")
    try:
        size = (int(data["canvas_width"]), int(data["canvas_height"]))
    except (KeyError, TypeError, ValueError):
        raise InputError("OpenPose JSON needs whole-number canvas_width and canvas_height") from None
    check_image_size(*size, what="OpenPose JSON canvas")  # drawn on: no larger than an image dwpose takes
    info = np.zeros((len(data["people"]), NUM_OPENPOSE_KEYPOINTS, 3), np.float64)
    for i, person in enumerate(data["people"]):
        if not isinstance(person, dict):
            raise InputError(f"OpenPose JSON person {i} is not a dict")
        for part, key in JSON_PART_KEYS.items():
            start, stop = OPENPOSE_PARTS[part]
            info[i, start:stop] = _read_json_part(person.get(key), stop - start, f"OpenPose JSON person {i}: {key}")
    keypoints, scores = from_openpose134(info[..., :2], info[..., 2])
    return keypoints, scores, size


def _read_json_part(values: object, count: int, what: str) -> np.ndarray:
    """The first `count` x, y, c triples of one part's flat list; zeros (absent) when None or empty."""
    if not values:
        return np.zeros((count, 3), np.float64)
    try:
        triples = np.asarray(values, np.float64).reshape(-1, 3)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be flat x, y, c numbers") from None
    if len(triples) < count or not np.isfinite(triples).all():
        raise InputError(f"{what} needs {count} finite x, y, c triples, got {len(triples)}")
    if np.abs(triples[:count, :2]).max() > MAX_COORDINATE:
        raise InputError(f"{what} has a coordinate beyond +-{MAX_COORDINATE:g} px "
                         "(OpenCV draws with 32-bit coordinates; no canvas is that large)")
    return triples[:count]
