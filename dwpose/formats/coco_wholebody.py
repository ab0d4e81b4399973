"""COCO-WholeBody files written by dwpose: results records (what the evaluators read), and
ground-truth style annotations, images and whole annotation files (a dataset to train on, as
`dwpose label` and `dwpose synth` write it)."""

from __future__ import annotations

import numpy as np

from ..skeleton import KEYPOINT_NAMES, PART_ANNOTATION_FIELDS, PARTS, SKELETON_LINKS, VISIBILITY_THRESHOLD

KEYPOINT_SCORE_THRESHOLD = 0.2  # instance rescoring of the COCO-WholeBody evaluation
# Per-part flags and boxes of the COCO-WholeBody annotation format.
PART_VALID_FIELDS = {"foot": "foot_valid", "face": "face_valid", "left_hand": "lefthand_valid",
                     "right_hand": "righthand_valid"}
PART_BOX_FIELDS = {"face": "face_box", "left_hand": "lefthand_box", "right_hand": "righthand_box"}
COORDINATE_DECIMALS = 2  # 0.01 px: below any annotation's precision, keeps files small

PERSON_CATEGORY_ID = 1  # COCO's person, the only category of COCO-WholeBody
COCO_WHOLEBODY_CATEGORY = {
    "id": PERSON_CATEGORY_ID, "name": "person", "supercategory": "person",
    "keypoints": list(KEYPOINT_NAMES[:17]),
    "skeleton": [[a + 1, b + 1] for a, b in SKELETON_LINKS[:19]],  # COCO's body links, 1-based
}


def instance_scores(scores: np.ndarray, box_scores: np.ndarray) -> np.ndarray:
    """mmpose's `bbox_keypoint` rescoring: box score x mean keypoint score above 0.2 (0 if none)."""
    above = scores > KEYPOINT_SCORE_THRESHOLD
    mean = np.where(above.any(1), (scores * above).sum(1) / np.maximum(above.sum(1), 1), 0.0)
    return box_scores * mean


def coco_wholebody_record(image_id: int, triples: np.ndarray, score: float) -> dict:
    """One COCO-WholeBody results record from (133, 3) x, y, score triples."""
    record: dict = {"image_id": int(image_id), "category_id": PERSON_CATEGORY_ID, "score": float(score)}
    for part, key in PART_ANNOTATION_FIELDS.items():
        start, stop = PARTS[part]
        record[key] = triples[start:stop].reshape(-1).astype(float).tolist()
    return record


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
    record: dict = {"id": int(annotation_id), "image_id": int(image_id), "category_id": PERSON_CATEGORY_ID,
                    "iscrowd": 0, "segmentation": [], "bbox": _round([x1, y1, x2 - x1, y2 - y1]),
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
