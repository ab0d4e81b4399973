"""COCO-WholeBody style annotations (COCO-WholeBody v1.0 and UBody) -> top-down samples.

Training samples come from ground-truth boxes (with mmpose's filters); evaluation samples from
a detection-results file or the ground-truth boxes. Malformed files raise DatasetError naming
the file and the record."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from ..errors import DatasetError
from ..skeleton import NUM_KEYPOINTS, PART_ANNOTATION_FIELDS

_PART_LENGTHS = {"keypoints": 17, "foot_kpts": 6, "face_kpts": 68, "lefthand_kpts": 21, "righthand_kpts": 21}


@dataclass
class Sample:
    """One person instance of one image."""

    image_path: str
    image_id: int
    bbox: np.ndarray                       # xyxy (clipped to the image)
    keypoints: np.ndarray                  # (133, 2)
    visible: np.ndarray                    # (133,) 0/1
    bbox_score: float = 1.0
    meta: dict = field(default_factory=dict)


def read_json(path: str | os.PathLike, what: str = "annotation file") -> dict | list:
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{what} not found: {path}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:  # JSON is UTF-8 (RFC 8259); say so instead of a codec traceback
        raise DatasetError(f"{what} {path} is not UTF-8 text (byte {exc.start}): save it as UTF-8 JSON") from None
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{what} {path} is not valid JSON: {exc}") from None
    except OSError as exc:
        raise DatasetError(f"cannot read {what} {path}: {exc.strerror or exc}") from None


def _instance_keypoints(ann: dict, source: str) -> np.ndarray:
    parts = []
    for key in PART_ANNOTATION_FIELDS.values():
        values = ann.get(key)
        if values is None:
            if key == "keypoints":
                raise DatasetError(f"{source}: annotation id {ann.get('id')} has no 'keypoints'")
            values = [0.0] * (3 * _PART_LENGTHS[key])  # a part not annotated counts as unlabelled
        array = np.asarray(values, dtype=np.float32)
        if array.size != 3 * _PART_LENGTHS[key]:
            raise DatasetError(f"{source}: annotation id {ann.get('id')} field '{key}' has {array.size} numbers, "
                               f"expected {3 * _PART_LENGTHS[key]}")
        parts.append(array.reshape(-1, 3))
    return np.concatenate(parts)


def _clip_xywh(bbox, width: float, height: float) -> np.ndarray:
    x, y, w, h = (float(v) for v in bbox)
    return np.array([np.clip(x, 0, width - 1), np.clip(y, 0, height - 1),
                     np.clip(x + w, 0, width - 1), np.clip(y + h, 0, height - 1)], dtype=np.float32)


def _images(data: dict, source: str) -> dict[int, dict]:
    if not isinstance(data, dict) or "images" not in data or "annotations" not in data:
        raise DatasetError(f"{source}: not a COCO-style file (needs 'images' and 'annotations')")
    images = {}
    for i, image in enumerate(data["images"]):
        for key in ("id", "file_name", "width", "height"):
            if key not in image:
                raise DatasetError(f"{source}: images[{i}] lacks '{key}'")
        images[int(image["id"])] = image
    return images


def _annotated_images(ann_file: str | os.PathLike) -> Iterator[tuple[dict, dict]]:
    """(annotation, its image entry) of a COCO-style file; an annotation without `image_id`, or
    without a 4-number `bbox`, or of an unknown image is a DatasetError naming it."""
    source = str(ann_file)
    data = read_json(ann_file)
    images = _images(data, source)
    for i, ann in enumerate(data["annotations"]):
        if "image_id" not in ann or "bbox" not in ann:
            raise DatasetError(f"{source}: annotations[{i}] (id {ann.get('id')}) lacks 'image_id' or 'bbox'")
        image = images.get(int(ann["image_id"]))
        if image is None:
            raise DatasetError(f"{source}: annotation id {ann.get('id')} refers to unknown image_id {ann['image_id']}")
        if len(ann["bbox"]) != 4:
            raise DatasetError(f"{source}: annotation id {ann.get('id')} bbox has {len(ann['bbox'])} numbers, expected 4")
        yield ann, image


def load_annotations(ann_file: str | os.PathLike, image_root: str | os.PathLike, train: bool = True,
                     image_filter=None) -> list[Sample]:
    """Samples from ground-truth boxes. With `train`, mmpose's top-down filters apply: no crowd,
    body `num_keypoints` > 0, positive clipped box, some keypoint coordinate > 0."""
    image_root = Path(image_root)
    samples = []
    for ann, image in _annotated_images(ann_file):
        if image_filter is not None and not image_filter(image):
            continue
        triples = _instance_keypoints(ann, str(ann_file))
        bbox = _clip_xywh(ann["bbox"], image["width"], image["height"])
        if train:
            if ann.get("iscrowd", 0) or ann.get("num_keypoints", 0) == 0:
                continue
            if bbox[2] <= bbox[0] or bbox[3] <= bbox[1] or not (triples[:, :2] > 0).any():
                continue
        samples.append(Sample(
            image_path=str(image_root / image["file_name"]), image_id=int(image["id"]), bbox=bbox,
            keypoints=triples[:, :2].copy(), visible=np.minimum(1, triples[:, 2] > 0).astype(np.float32),
            meta={"annotation_id": ann.get("id"), "area": ann.get("area")},
        ))
    return samples


def recorded_image_root(ann_file: str | os.PathLike) -> Path | None:
    """The `image_root` an annotation file records (`dwpose label` writes one: the folder its
    `file_name`s are relative to; a relative one is relative to the file's folder), or None."""
    data = read_json(ann_file)
    root = data.get("image_root") if isinstance(data, dict) else None
    if not isinstance(root, str) or not root:
        return None
    return Path(ann_file).parent / root  # an absolute root stays itself


def load_boxes(ann_file: str | os.PathLike, image_root: str | os.PathLike) -> list[Sample]:
    """Samples from the person boxes alone, for label-free distillation: every non-crowd
    annotation whose box has an area inside its image; keypoints, if any, are ignored (none are
    needed: a COCO-style file with `bbox`es, or `dwpose label`'s output). Boxes are clipped to
    the image as the inference pipeline clips them ([0, width] x [0, height]), so the box of a
    `dwpose label` annotation gives back the crop its teacher saw."""
    image_root = Path(image_root)
    samples = []
    for ann, image in _annotated_images(ann_file):
        x, y, w, h = (float(v) for v in ann["bbox"])
        bbox = np.clip(np.array([x, y, x + w, y + h]), 0, [image["width"], image["height"]] * 2).astype(np.float32)
        if ann.get("iscrowd", 0) or bbox[2] <= bbox[0] or bbox[3] <= bbox[1]:
            continue
        samples.append(Sample(
            image_path=str(image_root / image["file_name"]), image_id=int(image["id"]), bbox=bbox,
            keypoints=np.zeros((NUM_KEYPOINTS, 2), np.float32), visible=np.zeros(NUM_KEYPOINTS, np.float32),
            meta={"annotation_id": ann.get("id"), "area": ann.get("area")},
        ))
    return samples


def load_detections(det_file: str | os.PathLike, ann_file: str | os.PathLike, image_root: str | os.PathLike,
                    image_filter=None) -> list[Sample]:
    """Evaluation samples from a COCO detection-results file (person = category 1, no score
    threshold), xywh -> xyxy."""
    source = str(det_file)
    detections = read_json(det_file, "detection file")
    images = _images(read_json(ann_file), str(ann_file))
    if not isinstance(detections, list):
        raise DatasetError(f"{source}: expected a list of detections")
    image_root = Path(image_root)
    samples = []
    for i, det in enumerate(detections):
        if not isinstance(det, dict) or not {"image_id", "bbox", "score"} <= det.keys():
            raise DatasetError(f"{source}: record {i} needs 'image_id', 'bbox' and 'score'")
        if det.get("category_id", 1) != 1:
            continue
        image = images.get(int(det["image_id"]))
        if image is None or (image_filter is not None and not image_filter(image)):
            continue
        x, y, w, h = (float(v) for v in det["bbox"])
        samples.append(Sample(
            image_path=str(image_root / image["file_name"]), image_id=int(image["id"]),
            bbox=np.array([x, y, x + w, y + h], np.float32), keypoints=np.zeros((NUM_KEYPOINTS, 2), np.float32),
            visible=np.zeros(NUM_KEYPOINTS, np.float32), bbox_score=float(det["score"]),
        ))
    return samples


# --------------------------------------------------------------------------- UBody

UBODY_SCENES = ("Magic_show", "Entertainment", "ConductMusic", "Online_class", "TalkShow", "Speech", "Fitness",
                "Interview", "Olympic", "TVShow", "Singing", "SignLanguage", "Movie", "LiveVlog", "VideoConference")
UBODY_EVAL_SCENES = tuple(s for s in UBODY_SCENES if s not in ("Speech", "Movie"))


def ubody_video_name(file_name: str) -> str:
    """Video of a UBody frame: the parent folder of `file_name` without any `_Trim...` suffix."""
    return re.sub(r"_Trim.*$", "", Path(file_name).parent.name)


def ubody_image_filter(test_videos: set[str] | None, test: bool, interval: int = 10):
    """Every `interval`-th frame (img_id % interval == 0); train excludes and test keeps only the
    intra-scene test-split videos (when a split list is given)."""
    def keep(image: dict) -> bool:
        if int(image["id"]) % interval != 0:
            return False
        if test_videos is None:
            return True
        return (ubody_video_name(image["file_name"]) in test_videos) == test
    return keep


def load_ubody_split(path: str | os.PathLike | None) -> set[str] | None:
    """The intra-scene test video list (`intra_scene_test_list.npy`, or a text file)."""
    if path is None:
        return None
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"UBody split list not found: {path}")
    if path.suffix == ".npy":
        names = np.load(path, allow_pickle=True).tolist()
    else:
        names = path.read_text().split()
    return {ubody_video_name(f"{n}/x") if "/" not in str(n) else ubody_video_name(str(n)) for n in names}


def load_ubody(root: str | os.PathLike, scenes=UBODY_SCENES, train: bool = True, split_list=None,
               annotation_name: str = "keypoint_annotation.json") -> list[Sample]:
    """UBody samples of several scenes: `root/annotations/<scene>/<annotation_name>` with images
    under `root/images/<scene>/`."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"UBody root not found: {root}")
    test_videos = load_ubody_split(split_list)
    samples = []
    for scene in scenes:
        ann = root / "annotations" / scene / annotation_name
        scene_samples = load_annotations(ann, root / "images" / scene, train=train,
                                         image_filter=ubody_image_filter(test_videos, test=not train))
        # Releases differ in whether `file_name` already starts with the scene folder.
        if scene_samples and not Path(scene_samples[0].image_path).exists():
            relative = Path(scene_samples[0].image_path).relative_to(root / "images" / scene)
            if (root / "images" / relative).exists():
                for sample in scene_samples:
                    sample.image_path = str(root / "images" / Path(sample.image_path).relative_to(root / "images" / scene))
        for sample in scene_samples:
            sample.meta["scene"] = scene
        samples += scene_samples
    return samples
