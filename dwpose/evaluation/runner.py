"""Top-down predictions over an evaluation set and their COCO-WholeBody / UBody scores."""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

import numpy as np
from torch import nn

from ..data.coco_wholebody import Sample, load_annotations, load_detections, load_ubody
from ..formats.coco_wholebody import COCO_WHOLEBODY_CATEGORY
from ..geometry import BBOX_PADDING, bbox_xyxy_to_center_scale, fix_aspect_ratio
from ..inference.io import read_image
from ..inference.pose import PoseEstimator
from .coco_wholebody import WholebodyStats, evaluate_coco_wholebody, rescore_and_nms
from ..errors import EvaluationError


def predict_samples(estimator: PoseEstimator, samples: list[Sample], progress: bool = True) -> list[dict]:
    """Results records (rescored, OKS-NMS) for samples grouped by image."""
    from ..progress import progress as progress_bar

    by_image: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        by_image[sample.image_path].append(sample)
    width, height = estimator.input_size
    ids, keypoints, scores, box_scores, areas = [], [], [], [], []
    for path, group in progress_bar(by_image.items(), desc="evaluate", unit="img", disable=not progress, leave=False):
        boxes = np.stack([s.bbox for s in group])
        kp, sc = estimator(read_image(path), boxes)
        _, scale = bbox_xyxy_to_center_scale(boxes, BBOX_PADDING)
        scale = fix_aspect_ratio(scale, width / height)
        ids += [s.image_id for s in group]
        keypoints.append(kp), scores.append(sc)
        box_scores += [s.bbox_score for s in group]
        areas.append(scale.prod(axis=1))
    if not ids:
        return []
    return rescore_and_nms(np.asarray(ids), np.concatenate(keypoints), np.concatenate(scores),
                           np.asarray(box_scores, np.float64), np.concatenate(areas))


def evaluate_model(model: nn.Module | str | os.PathLike, ann_file: str | os.PathLike, images: str | os.PathLike,
                   det_file: str | os.PathLike | None = None, flip_test: bool = True, use_area: bool = True,
                   device: str = "cpu", progress: bool = True, backend: str = "torch") -> tuple[WholebodyStats, list[dict]]:
    """COCO-WholeBody AP of a model (module, checkpoint or ONNX) on one annotation file."""
    estimator = PoseEstimator(model, backend=backend, device=device, flip_test=flip_test)
    samples = (load_detections(det_file, ann_file, images) if det_file is not None
               else load_annotations(ann_file, images, train=False))
    if not samples:
        raise EvaluationError(f"no person boxes to evaluate in {det_file or ann_file}")
    records = predict_samples(estimator, samples, progress)
    return evaluate_coco_wholebody(ann_file, records, use_area=use_area), records


def evaluate_ubody(model: nn.Module | str | os.PathLike, root: str | os.PathLike, scenes, split_list=None,
                   annotation_name: str = "keypoint_annotation.json", flip_test: bool = True, device: str = "cpu",
                   progress: bool = True, backend: str = "torch") -> dict[str, WholebodyStats]:
    """UBody protocol: GT boxes, every 10th frame of the test-split videos, OKS area 0.53*w*h
    (use_area=False); per scene and overall (all scenes' GT merged)."""
    from ..data.coco_wholebody import read_json

    estimator = PoseEstimator(model, backend=backend, device=device, flip_test=flip_test)
    root = Path(root)
    merged = {"images": [], "annotations": [], "categories": [COCO_WHOLEBODY_CATEGORY]}
    all_records: list[dict] = []
    results: dict[str, WholebodyStats] = {}
    offset = 0
    for scene in scenes:
        ann_file = root / "annotations" / scene / annotation_name
        samples = load_ubody(root, [scene], train=False, split_list=split_list, annotation_name=annotation_name)
        if not samples:
            continue
        kept_ids = {s.image_id for s in samples}
        gt = read_json(ann_file)
        gt = {"images": [im for im in gt["images"] if im["id"] in kept_ids],
              "annotations": [a for a in gt["annotations"] if a["image_id"] in kept_ids],
              "categories": gt.get("categories") or merged["categories"]}
        for ann in gt["annotations"]:
            ann.pop("area", None)  # OKS area = 0.53 w h of the GT box
        records = predict_samples(estimator, samples, progress)
        results[scene] = evaluate_coco_wholebody(gt, records, use_area=False)
        # Re-number ids so that scenes do not collide in the overall evaluation.
        id_map = {im["id"]: offset + i for i, im in enumerate(gt["images"])}
        offset += len(id_map)
        merged["images"] += [{**im, "id": id_map[im["id"]]} for im in gt["images"]]
        merged["annotations"] += [{**a, "image_id": id_map[a["image_id"]], "id": len(merged["annotations"]) + j}
                                  for j, a in enumerate(gt["annotations"])]
        all_records += [{**r, "image_id": id_map[r["image_id"]]} for r in records]
    if not results:
        raise EvaluationError(f"no UBody test frames found under {root}")
    results["overall"] = evaluate_coco_wholebody(merged, all_records, use_area=False)
    return results
