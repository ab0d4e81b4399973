"""The whole-body pipeline: image -> person boxes -> pose stage -> PoseResult."""

from __future__ import annotations

import os
import warnings
from typing import Sequence

import numpy as np

from ..backends import backend_for_files
from ..detection import YOLOXDetector
from ..detection.yolox import NMS_THRESHOLD, SCORE_THRESHOLD
from ..errors import InputError
from ..media import check_image_size
from ..result import PoseResult
from .pose import PoseEstimator


def clip_boxes(boxes: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Person boxes (N, 4) xyxy clipped to a `width` x `height` image, and the indices of the
    boxes kept. A box with a non-finite coordinate is an InputError naming it; a box with no
    area left inside the image (inverted, zero-area or outside it) is dropped."""
    array = np.asarray(boxes, dtype=np.float64)  # float64: huge values stay finite until clipped
    if array.size % 4:
        raise InputError(f"boxes must be [x1, y1, x2, y2] rows, got shape {array.shape}")
    array = array.reshape(-1, 4)
    finite = np.isfinite(array).all(axis=1)
    if not finite.all():
        index = int(np.flatnonzero(~finite)[0])
        raise InputError(f"box {index} {array[index].tolist()} has a non-finite coordinate")
    clipped = np.empty_like(array)
    clipped[:, 0::2] = array[:, 0::2].clip(0, width)
    clipped[:, 1::2] = array[:, 1::2].clip(0, height)
    keep = np.flatnonzero((clipped[:, 2] > clipped[:, 0]) & (clipped[:, 3] > clipped[:, 1]))
    return clipped[keep].astype(np.float32), keep


class WholebodyPipeline:
    """Detector + pose estimator on BGR uint8 images.

    Person boxes come from `boxes=` when given (clipped to the image; boxes with no area inside
    it are dropped with a warning, non-finite ones are an InputError), else from the detector;
    with no detector (`detector=None`) the whole image is one person box. An image in which the
    detector finds nobody gives an empty result.
    """

    def __init__(self, pose: PoseEstimator, detector: YOLOXDetector | None = None) -> None:
        self.pose = pose
        self.detector = detector

    @classmethod
    def from_files(
        cls,
        pose_model: str | os.PathLike,
        detector_model: str | os.PathLike | None = None,
        backend: str | None = None,
        device: str = "cpu",
        dtype: str = "float32",
        detector_arch: str | None = None,
        score_threshold: float = SCORE_THRESHOLD,
        nms_threshold: float = NMS_THRESHOLD,
        flip_test: bool = False,
        max_persons: int | None = None,
        compile: bool = False,
        pose_arch: str | None = None,
        placement: str | None = None,
        threads: int | None = None,
        detector_input_size: tuple[int, int] | None = None,
    ) -> "WholebodyPipeline":
        """`threads`: onnxruntime intra-op threads of each network (None: one per core);
        `detector_input_size` (width, height): for detector files that do not fix their own.
        `backend` None: the one that reads the files (`backends.backend_for_files`)."""
        backend = backend_for_files(pose_model, detector_model, backend=backend)
        pose = PoseEstimator(pose_model, backend=backend, device=device, dtype=dtype, flip_test=flip_test,
                             compile=compile, arch=pose_arch, placement=placement, threads=threads)
        detector = None
        if detector_model is not None:
            detector = YOLOXDetector(detector_model, backend=backend, device=device, arch=detector_arch,
                                     score_threshold=score_threshold, nms_threshold=nms_threshold, dtype=dtype,
                                     max_detections=max_persons, threads=threads, input_size=detector_input_size)
        return cls(pose, detector)

    @property
    def device_info(self) -> str:
        parts = [f"pose: {self.pose.device_info}"]
        if self.detector is not None:
            parts.append(f"detector: {self.detector.device_info}")
        return "; ".join(parts)

    def __call__(self, image_bgr: np.ndarray, boxes: np.ndarray | None = None) -> PoseResult:
        return self.predict_batch([image_bgr], None if boxes is None else [boxes])[0]

    @staticmethod
    def _user_boxes(boxes: np.ndarray, image: np.ndarray) -> np.ndarray:
        height, width = image.shape[:2]
        clipped, kept = clip_boxes(boxes, width, height)
        dropped = np.asarray(boxes).size // 4 - len(kept)
        if dropped:
            warnings.warn(f"{dropped} box(es) with no area inside the {width}x{height} image dropped", stacklevel=3)
        return clipped

    def predict_batch(
        self, images_bgr: Sequence[np.ndarray], boxes: Sequence[np.ndarray] | None = None, *, clip: bool = True,
        keep_logits: bool = False,
    ) -> list[PoseResult]:
        """Several images: detection batched, then every person of every image in one pose batch.
        `clip=False` uses `boxes` as they are: for boxes that come from this pipeline's own
        results (the video tracker), like the detector's, which are not clipped either.
        `keep_logits` puts each result's raw SimCC logits in `meta["simcc"]` ((N, K, Wx), (N, K, Wy))."""
        images = list(images_bgr)
        for image in images:
            if not (isinstance(image, np.ndarray) and image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8):
                got = getattr(image, "shape", type(image).__name__)
                raise InputError(f"expected BGR uint8 images (H, W, 3), got {got}; see dwpose.inference.io.to_bgr")
            check_image_size(image.shape[1], image.shape[0])
        if boxes is not None:
            boxes = list(boxes)
            if len(boxes) != len(images):
                raise InputError(f"{len(boxes)} box lists for {len(images)} images")
            box_list = [self._user_boxes(b, image) if clip else np.asarray(b, np.float32).reshape(-1, 4)
                        for image, b in zip(images, boxes)]
            score_list = [np.ones(len(b), np.float32) for b in box_list]
        elif self.detector is not None:
            detections = self.detector.detect_batch(images)
            box_list = [d.boxes for d in detections]
            score_list = [d.scores for d in detections]
        else:
            box_list = [np.array([[0, 0, im.shape[1], im.shape[0]]], np.float32) for im in images]
            score_list = [np.ones(1, np.float32) for _ in images]
        poses = self.pose.predict_many(images, box_list, keep_logits=keep_logits)
        results = []
        for image, image_boxes, image_scores, (keypoints, scores, *logits) in zip(images, box_list, score_list, poses):
            size = (image.shape[1], image.shape[0])
            results.append(PoseResult(image_boxes, image_scores, keypoints, scores, size))
            if logits:
                results[-1].meta["simcc"] = logits[0]
        return results
