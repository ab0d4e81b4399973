"""COCO-WholeBody evaluation: six xtcocotools COCOeval runs (body, foot, face, left hand, right
hand, whole body) with the per-part sigmas and the whole-person area, as mmpose/DWPose do;
hand AP is the mean of left and right. Plus the instance rescoring and OKS-NMS that turn raw
top-down predictions into a results file."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
import numbers
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import EvaluationError
from ..formats import coco_wholebody_record, instance_scores
from ..skeleton import PART_ANNOTATION_FIELDS, PARTS, SIGMAS
from .oks import oks_nms

STAT_NAMES = ("AP", "AP .5", "AP .75", "AP (M)", "AP (L)", "AR", "AR .5", "AR .75", "AR (M)", "AR (L)")
# iouType suffix of xtcocotools per part, in evaluation order.
_IOU_TYPES = {"body": "body", "foot": "foot", "face": "face", "left_hand": "lefthand",
              "right_hand": "righthand", "wholebody": "wholebody"}
OKS_NMS_THRESHOLD = 0.9


def _cocoeval():
    try:
        from xtcocotools.coco import COCO
        from xtcocotools.cocoeval import COCOeval
    except (ImportError, ValueError) as exc:  # ValueError: a wheel built against NumPy 1
        raise EvaluationError(
            f"xtcocotools is not usable ({exc}); with NumPy 2 build it from source: "
            "pip install cython && pip install --no-binary xtcocotools --no-build-isolation xtcocotools") from None
    return COCO, COCOeval


@dataclass
class WholebodyStats:
    """Stat vectors (10 numbers, STAT_NAMES order) per part, plus the hand mean."""

    parts: dict[str, list[float]]

    @property
    def hand_ap(self) -> float:
        return (self.parts["left_hand"][0] + self.parts["right_hand"][0]) / 2

    def summary(self) -> dict[str, float]:
        out = {f"{part}/AP": stats[0] for part, stats in self.parts.items()}
        out["hand/AP"] = self.hand_ap
        out["wholebody/AR"] = self.parts["wholebody"][5]
        return out

    def to_dict(self) -> dict:
        return {"parts": {p: dict(zip(STAT_NAMES, s)) for p, s in self.parts.items()}, "hand_AP": self.hand_ap}

    def table(self) -> str:
        rows = [f"{'part':<11}" + "".join(f"{n:>8}" for n in STAT_NAMES)]
        for part, stats in self.parts.items():
            rows.append(f"{part:<11}" + "".join(f"{v:8.4f}" for v in stats))
        rows.append(f"{'hand (mean)':<11}{self.hand_ap:8.4f}")
        return "\n".join(rows)


def load_coco(ground_truth: str | os.PathLike | dict):
    """An xtcocotools COCO object from a path or an already loaded dict."""
    COCO, _ = _cocoeval()
    coco = COCO()
    if isinstance(ground_truth, dict):
        data = copy.deepcopy(ground_truth)
    else:
        path = Path(ground_truth)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise EvaluationError(f"cannot read ground truth {path}: {exc}") from None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), list) for k in ("images", "annotations", "categories")):
        where = "ground truth" if isinstance(ground_truth, dict) else f"ground truth {ground_truth}"
        raise EvaluationError(f"{where} is not COCO keypoint ground truth: it needs 'images', 'annotations' "
                              "and 'categories' lists")
    coco.dataset = data
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


# Keypoint field of a results record -> number of values (x, y, score per keypoint).
RESULT_FIELDS = {field: (PARTS[part][1] - PARTS[part][0]) * 3 for part, field in PART_ANNOTATION_FIELDS.items()}
# Optional per-part scores xtcocotools reads when present (else it uses "score").
_PART_SCORES = ("body_score", "foot_score", "face_score", "lefthand_score", "righthand_score", "wholebody_score")


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _record_problem(record: object, image_ids: set, category_ids: set) -> str | None:
    """Why one results record cannot be scored, or None."""
    if not isinstance(record, Mapping):
        return f"expected an object, got {type(record).__name__}"
    if "image_id" not in record:
        return "missing field 'image_id'"
    image_id = record["image_id"]
    if isinstance(image_id, bool) or not isinstance(image_id, (int, str)):
        return f"'image_id' must be an integer, got {image_id!r}"
    if image_id not in image_ids:
        return f"image_id {image_id!r} is not an image of the ground truth"
    if "category_id" not in record:
        return "missing field 'category_id'"
    category_id = record["category_id"]
    if isinstance(category_id, bool) or not isinstance(category_id, int) or category_id not in category_ids:
        return f"category_id {category_id!r} is not a category of the ground truth ({sorted(category_ids)})"
    for key in ("score", *_PART_SCORES):
        if key not in record:
            if key == "score":
                return "missing field 'score'"
            continue
        if not _is_number(record[key]) or not math.isfinite(record[key]):
            return f"'{key}' must be a finite number, got {record[key]!r}"
    for field, length in RESULT_FIELDS.items():
        if field not in record:
            return f"missing field '{field}'"
        values = record[field]
        if not isinstance(values, (list, tuple)):
            return f"'{field}' must be a list of {length} numbers, got {type(values).__name__}"
        if len(values) != length:
            return f"'{field}' has {len(values)} values, expected {length} (x, y, score for {length // 3} keypoints)"
        for j, value in enumerate(values):
            if not _is_number(value) or not math.isfinite(value):
                return f"'{field}'[{j}] must be a finite number, got {value!r}"
    return None


def validate_results(results: object, image_ids, category_ids=(1,)) -> None:
    """Raise EvaluationError naming the first record (index and image id) that cannot be scored:
    wrong types, missing fields, wrong lengths, NaN or infinite values, unknown image or category
    ids. xtcocotools itself would crash on these or, for NaN, count the keypoints as perfect."""
    if not isinstance(results, list):
        raise EvaluationError(f"results must be a list of records, got {type(results).__name__}")
    image_ids, category_ids = set(image_ids), set(category_ids)
    for index, record in enumerate(results):
        problem = _record_problem(record, image_ids, category_ids)
        if problem is not None:
            image = record.get("image_id") if isinstance(record, Mapping) else None
            where = f"results record {index}" + (f" (image_id {image!r})" if image is not None else "")
            raise EvaluationError(f"{where}: {problem}")


def evaluate_coco_wholebody(
    ground_truth: str | os.PathLike | dict, results: list[dict], use_area: bool = True, verbose: bool = False
) -> WholebodyStats:
    """Evaluate COCO-WholeBody results records (see `PoseResult.to_coco_wholebody`); the records
    are validated first (see `validate_results`)."""
    _, COCOeval = _cocoeval()
    coco = load_coco(ground_truth)
    validate_results(results, coco.getImgIds(), coco.getCatIds())
    if not results:
        return WholebodyStats({part: [0.0] * 10 for part in _IOU_TYPES})
    with contextlib.redirect_stdout(io.StringIO()) as log:
        coco_det = coco.loadRes(copy.deepcopy(results))
    parts: dict[str, list[float]] = {}
    for part, suffix in _IOU_TYPES.items():
        if part == "wholebody":
            sigmas = SIGMAS
        else:
            start, stop = PARTS[part]
            sigmas = SIGMAS[start:stop]
        evaluator = COCOeval(coco, coco_det, f"keypoints_{suffix}", np.array(sigmas), use_area=use_area)
        evaluator.params.useSegm = None
        with contextlib.redirect_stdout(log), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "'foot_score' not found, use 'score'"
            evaluator.evaluate()
            evaluator.accumulate()
            evaluator.summarize()
        parts[part] = [float(v) for v in evaluator.stats]
    if verbose:
        print(log.getvalue())
    return WholebodyStats(parts)


def results_from_annotations(dataset: dict, ground_truth: str | os.PathLike | dict) -> list[dict]:
    """Results records from a COCO-WholeBody annotation file of predictions (what `dwpose label`
    writes) for scoring against `ground_truth`: images are matched by file name (the last path
    component), each annotation becomes a record with its `score` (1.0 when absent) and its
    keypoint triples as they are (unlabelled points stay at 0, 0)."""
    if not isinstance(dataset, dict) or not {"images", "annotations"} <= dataset.keys():
        raise EvaluationError("expected a COCO-style file with 'images' and 'annotations'")
    truth = load_coco(ground_truth).dataset
    gt_ids = {Path(image["file_name"]).name: int(image["id"]) for image in truth["images"]}
    to_gt = {int(image["id"]): gt_ids.get(Path(image["file_name"]).name) for image in dataset["images"]}
    if not any(v is not None for v in to_gt.values()):
        raise EvaluationError("none of the file names of the results' images is in the ground truth")
    records = []
    for ann in dataset["annotations"]:
        image_id = to_gt.get(int(ann["image_id"]))
        if image_id is None:
            continue
        record = {"image_id": image_id, "category_id": 1, "score": float(ann.get("score", 1.0))}
        for key in PART_ANNOTATION_FIELDS.values():
            record[key] = [float(v) for v in ann[key]]
        records.append(record)
    return records


def rescore_and_nms(
    image_ids: np.ndarray, keypoints: np.ndarray, scores: np.ndarray, box_scores: np.ndarray,
    areas: np.ndarray, nms_threshold: float = OKS_NMS_THRESHOLD,
) -> list[dict]:
    """Results records from raw per-instance predictions: instance score = box score x mean of
    keypoint scores > 0.2; per-image OKS-NMS over all 133 keypoints with the crop areas."""
    rescored = instance_scores(scores, box_scores)
    triples = np.concatenate([keypoints, scores[..., None]], axis=-1)
    records = []
    for image_id in np.unique(image_ids):
        idx = np.flatnonzero(image_ids == image_id)
        kept = idx[oks_nms(triples[idx], rescored[idx], areas[idx], SIGMAS, nms_threshold)] if nms_threshold else idx
        records += [coco_wholebody_record(image_id, triples[i], rescored[i]) for i in kept]
    return records
