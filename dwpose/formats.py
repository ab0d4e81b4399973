"""The one home of pose results and their output formats: `PoseResult`, COCO-WholeBody results
records, COCO-WholeBody annotations (a trainable dataset, as `dwpose label` writes it), the
Parquet rows of `dwpose label`, the 134-point OpenPose-ordered layout, and OpenPose JSON as the
ControlNet tool chains read it. A leaf module (NumPy and `skeleton` only; pyarrow only inside
`parquet_schema`), so inference, drawing, evaluation and labelling all import it without
importing each other."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import InputError
from .skeleton import KEYPOINT_NAMES, PART_ANNOTATION_FIELDS, PARTS, SKELETON_LINKS

# OpenPose-18 reorder of the first 18 points after inserting the neck at 17 (DWPose reference).
_OPENPOSE_DST = [1, 2, 3, 4, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16, 17]
_OPENPOSE_SRC = [17, 6, 8, 10, 7, 9, 12, 14, 16, 13, 15, 2, 1, 4, 3]
VISIBILITY_THRESHOLD = 0.3
# The 134 layout's neck score: DWPose's 0/1 flag (both shoulders > 0.3) or rtmlib's weaker shoulder.
NECK_SCORES = ("flag", "min")
KEYPOINT_SCORE_THRESHOLD = 0.2  # instance rescoring of the COCO-WholeBody evaluation
# OpenPose JSON coordinates read back: OpenCV draws with 32-bit fixed-point coordinates, and no
# canvas is near this large, so a point farther off is a broken file, refused in one line.
MAX_COORDINATE = 1e6


@dataclass
class PoseResult:
    """Poses of one image. Coordinates are pixels of the image given to the pipeline."""

    boxes: np.ndarray        # (N, 4) xyxy
    box_scores: np.ndarray   # (N,)
    keypoints: np.ndarray    # (N, 133, 2)
    scores: np.ndarray       # (N, 133) raw SimCC scores
    image_size: tuple[int, int]  # (width, height)
    track_ids: np.ndarray | None = None  # (N,) stable ids in videos
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.keypoints)

    @classmethod
    def from_keypoints(cls, keypoints: np.ndarray, scores: np.ndarray, image_size: tuple[int, int]) -> "PoseResult":
        """A result from bare keypoints (N, 133, 2) and scores (N, 133), e.g. ground truth or
        another tool's output, for drawing and JSON conversion; boxes are the keypoint extents."""
        keypoints = np.asarray(keypoints)
        scores = np.asarray(scores)
        if keypoints.ndim != 3 or keypoints.shape[-1] != 2 or scores.shape != keypoints.shape[:2]:
            raise InputError(f"expected keypoints (N, K, 2) and scores (N, K), got {keypoints.shape} and {scores.shape}")
        boxes = (np.concatenate([keypoints.min(1), keypoints.max(1)], axis=1) if len(keypoints)
                 else np.zeros((0, 4), np.float32))
        return cls(boxes, np.ones(len(keypoints), np.float32), keypoints, scores, tuple(image_size))

    @classmethod
    def empty(cls, image_size: tuple[int, int], num_keypoints: int = 133) -> "PoseResult":
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32),
                   np.zeros((0, num_keypoints, 2), np.float32), np.zeros((0, num_keypoints), np.float32),
                   image_size)

    @classmethod
    def from_openpose_json(cls, data: object) -> "PoseResult":
        """Poses read back from OpenPose JSON as `to_openpose_json` and comfyui_controlnet_aux
        write it (its POSE_KEYPOINT frames): pixel x, y, c triples on a `canvas_width` x
        `canvas_height` canvas; a None or missing part is absent (scores 0). Scores are the file's
        c (1.0 for every present point in comfyui's files); the neck is recomputed from the
        shoulders, as when drawing. Coordinates stay float64, as the JSON holds them."""
        if not isinstance(data, dict) or not isinstance(data.get("people"), list):
            raise InputError("OpenPose JSON must be a dict with a 'people' list (comfyui's POSE_KEYPOINT frame)")
        try:
            size = (int(data["canvas_width"]), int(data["canvas_height"]))
        except (KeyError, TypeError, ValueError):
            raise InputError("OpenPose JSON needs whole-number canvas_width and canvas_height") from None
        from .inference.io import check_image_size  # (a module-level import would be circular)

        check_image_size(*size, what="OpenPose JSON canvas")  # drawn on: no larger than an image dwpose takes
        # (key, first index in the 134 layout, points read): the face's 70 end with the body's eyes.
        parts = (("pose_keypoints_2d", 0, 18), ("foot_keypoints_2d", 18, 6), ("face_keypoints_2d", 24, 68),
                 ("hand_left_keypoints_2d", 92, 21), ("hand_right_keypoints_2d", 113, 21))
        info = np.zeros((len(data["people"]), 134, 3), np.float64)
        for i, person in enumerate(data["people"]):
            if not isinstance(person, dict):
                raise InputError(f"OpenPose JSON person {i} is not a dict")
            for key, start, count in parts:
                values = person.get(key)
                if not values:
                    continue
                try:
                    triples = np.asarray(values, np.float64).reshape(-1, 3)
                except (TypeError, ValueError):
                    raise InputError(f"OpenPose JSON person {i}: {key} must be flat x, y, c numbers") from None
                if len(triples) < count or not np.isfinite(triples).all():
                    raise InputError(f"OpenPose JSON person {i}: {key} needs {count} finite x, y, c triples, "
                                     f"got {len(triples)}")
                if np.abs(triples[:count, :2]).max() > MAX_COORDINATE:
                    raise InputError(f"OpenPose JSON person {i}: {key} has a coordinate beyond +-{MAX_COORDINATE:g} px "
                                     "(OpenCV draws with 32-bit coordinates; no canvas is that large)")
                info[i, start:start + count] = triples[:count]
        keypoints, scores = from_openpose134(info[..., :2], info[..., 2])
        return cls.from_keypoints(keypoints, scores, size)

    def instance_scores(self) -> np.ndarray:
        """bbox score x mean of the keypoint scores above 0.2 (0 when none), as mmpose rescores."""
        return instance_scores(self.scores, self.box_scores).astype(np.float32)

    def to_coco_wholebody(self, image_id: int) -> list[dict]:
        """COCO-WholeBody results records (what the evaluators read)."""
        triples = np.concatenate([self.keypoints, self.scores[..., None]], axis=-1)
        return [coco_wholebody_record(image_id, t, s) for t, s in zip(triples, self.instance_scores())]

    def to_coco_wholebody_annotations(self, image_id: int, first_annotation_id: int,
                                      visibility_threshold: float = VISIBILITY_THRESHOLD) -> list[dict]:
        """COCO-WholeBody ground-truth style annotations (a dataset to train on), ids from
        `first_annotation_id` on; see `coco_wholebody_annotation`."""
        instance = self.instance_scores()
        return [coco_wholebody_annotation(first_annotation_id + i, image_id, self.boxes[i], self.box_scores[i],
                                          float(instance[i]), self.keypoints[i], self.scores[i], self.image_size,
                                          visibility_threshold)
                for i in range(len(self))]

    def to_openpose134(self, neck_score: str = "flag") -> np.ndarray:
        """(N, 134, 3) x, y, score in the OpenPose order: 18 body points (neck inserted), 6 feet,
        68 face, 21 left hand, 21 right hand. The neck's score is DWPose's 0/1 flag
        (`neck_score="flag"`, what the ControlNet tool chains draw with) or rtmlib's weaker
        shoulder score (`"min"`)."""
        return to_openpose134(self.keypoints, self.scores, neck_score)

    def to_openpose_json(
        self,
        include_body: bool = True,
        include_hand: bool = True,
        include_face: bool = True,
        include_foot: bool = False,
        controlnet_compat: bool = False,
    ) -> dict:
        """OpenPose JSON in pixels, in comfyui_controlnet_aux's layout: 18 body points, the face's
        68 points plus the two body eyes (OpenPose's 70; None when none of the 68 is present),
        each hand None when none of its points is present. A point is present when its score is
        >= 0.3; absent points are 0, 0, 0.

        With `controlnet_compat` it is exactly what comfyui_controlnet_aux's
        `encode_poses_as_dict` writes: present points carry c = 1.0 (its reader drops c < 1.0)
        and their unrounded coordinates. Otherwise present points carry their real score (the
        neck: the weaker shoulder's) and values are rounded to 3 decimals. The toggles replace
        the body by absent points, hands and face by None, and add `foot_keypoints_2d` (6)."""
        width, height = self.image_size
        info = self.to_openpose134()
        # The neck gets a real score: the weaker shoulder (its layout score is a 0/1 flag).
        info[:, 1, 2] = np.minimum(self.scores[:, 5], self.scores[:, 6]) * info[:, 1, 2]
        people = []
        for person in info:
            body = person[:18]
            face = _openpose_json_part(person[24:92], controlnet_compat) if include_face else None
            if face is not None:  # OpenPose's 70 face points: the 68 and the two eyes of the body
                face += _openpose_json_part(body[[14, 15]], controlnet_compat, nullable=False)
            hands = [_openpose_json_part(person[start:start + 21], controlnet_compat) if include_hand else None
                     for start in (92, 113)]
            entry: dict = {
                "pose_keypoints_2d": (_openpose_json_part(body, controlnet_compat, nullable=False) if include_body
                                      else [0.0] * 54),
                "face_keypoints_2d": face,
                "hand_left_keypoints_2d": hands[0],
                "hand_right_keypoints_2d": hands[1],
            }
            if include_foot:
                entry["foot_keypoints_2d"] = _openpose_json_part(person[18:24], controlnet_compat)
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


def instance_scores(scores: np.ndarray, box_scores: np.ndarray) -> np.ndarray:
    """mmpose's `bbox_keypoint` rescoring: box score x mean keypoint score above 0.2 (0 if none)."""
    above = scores > KEYPOINT_SCORE_THRESHOLD
    mean = np.where(above.any(1), (scores * above).sum(1) / np.maximum(above.sum(1), 1), 0.0)
    return box_scores * mean


def coco_wholebody_record(image_id: int, triples: np.ndarray, score: float) -> dict:
    """One COCO-WholeBody results record from (133, 3) x, y, score triples."""
    record: dict = {"image_id": int(image_id), "category_id": 1, "score": float(score)}
    for part, key in PART_ANNOTATION_FIELDS.items():
        start, stop = PARTS[part]
        record[key] = triples[start:stop].reshape(-1).astype(float).tolist()
    return record


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
    info = np.insert(info, 17, neck, axis=1)
    info[:, _OPENPOSE_DST] = info[:, _OPENPOSE_SRC]
    return info


def from_openpose134(keypoints: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """COCO-WholeBody keypoints (N, 133, 2) and scores (N, 133) of the 134-point layout
    (N, 134, 2), (N, 134): the reorder undone and the neck dropped."""
    info = np.concatenate([keypoints, scores[..., None]], axis=-1)
    info[:, _OPENPOSE_SRC] = info[:, _OPENPOSE_DST]
    info = np.delete(info, 17, axis=1)
    return info[..., :2], info[..., 2]


# --------------------------------------------------------------------------- COCO-WholeBody annotations

# Per-part flags and boxes of the COCO-WholeBody annotation format.
PART_VALID_FIELDS = {"foot": "foot_valid", "face": "face_valid", "left_hand": "lefthand_valid",
                     "right_hand": "righthand_valid"}
PART_BOX_FIELDS = {"face": "face_box", "left_hand": "lefthand_box", "right_hand": "righthand_box"}
COORDINATE_DECIMALS = 2  # 0.01 px: below any annotation's precision, keeps files small

COCO_WHOLEBODY_CATEGORY = {
    "id": 1, "name": "person", "supercategory": "person",
    "keypoints": list(KEYPOINT_NAMES[:17]),
    "skeleton": [[a + 1, b + 1] for a, b in SKELETON_LINKS[:19]],  # COCO's body links, 1-based
}


def _round(values: np.ndarray | float) -> list[float] | float:
    rounded = np.round(np.asarray(values, np.float64), COORDINATE_DECIMALS)
    return rounded.tolist()


def coco_wholebody_annotation(annotation_id: int, image_id: int, box_xyxy: np.ndarray, box_score: float,
                              instance_score: float, keypoints: np.ndarray, scores: np.ndarray,
                              image_size: tuple[int, int], visibility_threshold: float = VISIBILITY_THRESHOLD) -> dict:
    """One person as a COCO-WholeBody ground-truth annotation, readable by our COCO-WholeBody
    reader, mmpose and xtcocotools: a keypoint inside the `image_size` (width, height) image
    whose score is >= `visibility_threshold` is labelled (v = 2), any other is unlabelled
    (0, 0, 0), as in the human-made annotations. `bbox` is the person box (x, y, w, h)
    and `area` its w * h; a part is `*_valid` when it has a labelled point, and the face and
    hand boxes are the extent of their labelled points ([0, 0, 0, 0] when none). `score`
    (instance score, mmpose rescoring) and `bbox_score` are extra fields the readers ignore."""
    x1, y1, x2, y2 = (float(v) for v in box_xyxy)
    points = np.asarray(keypoints, np.float64)
    inside = (points >= 0).all(1) & (points[:, 0] < image_size[0]) & (points[:, 1] < image_size[1])
    visible = (np.asarray(scores) >= visibility_threshold) & inside
    triples = np.zeros((len(keypoints), 3), np.float64)
    triples[visible, :2] = np.round(points[visible], COORDINATE_DECIMALS)
    triples[visible, 2] = 2
    record: dict = {"id": int(annotation_id), "image_id": int(image_id), "category_id": 1, "iscrowd": 0,
                    "segmentation": [], "bbox": _round([x1, y1, x2 - x1, y2 - y1]),
                    "area": _round((x2 - x1) * (y2 - y1)),
                    "num_keypoints": int(visible[slice(*PARTS["body"])].sum())}
    for part, key in PART_ANNOTATION_FIELDS.items():
        start, stop = PARTS[part]
        record[key] = triples[start:stop].reshape(-1).tolist()
        part_visible = visible[start:stop]
        if part in PART_BOX_FIELDS:
            labelled = triples[start:stop, :2][part_visible]
            extent = [*labelled.min(0), *(labelled.max(0) - labelled.min(0))] if len(labelled) else [0.0] * 4
            record[PART_BOX_FIELDS[part]] = _round(extent)
        if part in PART_VALID_FIELDS:
            record[PART_VALID_FIELDS[part]] = bool(part_visible.any())
    record["score"] = round(float(instance_score), 4)
    record["bbox_score"] = round(float(box_score), 4)
    return record


def coco_wholebody_image(image_id: int, file_name: str, width: int, height: int, **extra) -> dict:
    """An `images` entry; `extra` (e.g. `video`, `frame_index`) is kept as given."""
    return {"id": int(image_id), "file_name": file_name, "width": int(width), "height": int(height), **extra}


def coco_wholebody_dataset(images: list[dict], annotations: list[dict]) -> dict:
    """A COCO-WholeBody annotation file's content."""
    return {"images": images, "annotations": annotations, "categories": [COCO_WHOLEBODY_CATEGORY]}


# --------------------------------------------------------------------------- a `dwpose label` run folder

LABEL_MANIFEST = "manifest.json"      # the run file: models, settings, inputs, logits layout
LABEL_SHARD_FOLDER = "shards"         # NNNNNN.json / .parquet / .logits.npy / .done.json
LABEL_MERGED = "annotations.json"     # all shards in one COCO-WholeBody file
LABEL_FRAME_FOLDER = "frames"         # frames/<video>/<frame>.jpg (--write-frames)
LABEL_LOGITS_SUFFIX = ".logits.npy"   # structured records of dwpose.codec.topk
LABEL_IMAGE_FOLDER = "images"        # the inputs placed in the run folder (--copy-images, --link-images)
# Marks a folder as written by a dwpose command (`label`, `synth`): {"tool": "dwpose", "kind": ...}.
# Without it a non-empty folder is not theirs: they neither write into it nor delete from it.
RUN_MARKER = ".dwpose-run.json"
_RUN_KINDS = {"label": "label run", "synth": "synth dataset"}


def read_run_marker(folder: os.PathLike | str, kind: str) -> dict | None:
    """The run marker of `folder` when a dwpose `kind` run wrote it; None when there is none.
    A marker that is not dwpose's, or of another kind, is an InputError (one rule for every tool)."""
    path = Path(folder) / RUN_MARKER
    if not path.is_file():
        return None
    try:
        marker = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        marker = None
    if not isinstance(marker, dict) or marker.get("tool") != "dwpose":
        raise InputError(f"{path} is not a dwpose run marker; delete the folder {folder} or choose another output")
    found = marker.get("kind")
    if found != kind:
        raise InputError(f"{folder} holds a dwpose {_RUN_KINDS.get(found, found)}, not a {_RUN_KINDS[kind]}; "
                         "choose another output folder")
    return marker


# --------------------------------------------------------------------------- Parquet rows

def parquet_row(result: PoseResult, image_id: int, source: str, frame_index: int | None,
                annotation_ids: list[int]) -> dict:
    """One image or video frame as a row of `dwpose label`'s Parquet files (`parquet_schema`):
    everything the pipeline found, unthresholded, in float32 pixels of the image."""
    return {
        "image_id": int(image_id), "source": source, "frame_index": frame_index,
        "width": int(result.image_size[0]), "height": int(result.image_size[1]),
        "annotation_ids": [int(i) for i in annotation_ids],
        "boxes": np.asarray(result.boxes, np.float32).reshape(-1, 4).tolist(),
        "box_scores": np.asarray(result.box_scores, np.float32).tolist(),
        "keypoints": np.asarray(result.keypoints, np.float32).tolist(),
        "scores": np.asarray(result.scores, np.float32).tolist(),
        "track_ids": None if result.track_ids is None else [int(t) for t in result.track_ids],
    }


def parquet_schema(num_keypoints: int = 133):
    """The pyarrow schema of `parquet_row` (pyarrow is an optional dependency)."""
    import pyarrow as pa

    f32 = pa.float32()
    return pa.schema([
        ("image_id", pa.int64()), ("source", pa.string()), ("frame_index", pa.int64()),
        ("width", pa.int32()), ("height", pa.int32()),
        ("annotation_ids", pa.list_(pa.int64())),
        ("boxes", pa.list_(pa.list_(f32, 4))),                               # xyxy per person
        ("box_scores", pa.list_(f32)),
        ("keypoints", pa.list_(pa.list_(pa.list_(f32, 2), num_keypoints))),  # (persons, K, 2)
        ("scores", pa.list_(pa.list_(f32, num_keypoints))),
        ("track_ids", pa.list_(pa.int64())),                                 # videos only
    ])
