"""YOLOX person detector: letterbox pre-processing, network (onnxruntime or PyTorch), grid
decoding and NMS, as in the DWPose reference pipeline."""

from __future__ import annotations

import os
from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ..backends import TorchRunner
from ..runtime import load
from .nms import nms

PERSON_CLASS = 0
PAD_VALUE = 114
STRIDES = (8, 16, 32)


@dataclass
class Detections:
    boxes: np.ndarray   # (N, 4) xyxy in image pixels, float32
    scores: np.ndarray  # (N,) person score = objectness * class probability


def letterbox(image: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, float]:
    """Resize keeping the aspect ratio into the top-left corner of a (W, H) canvas filled with
    114; returns the HWC uint8 canvas and the scale factor r."""
    width, height = size
    h, w = image.shape[:2]
    ratio = min(height / h, width / w)
    canvas = np.full((height, width, 3), PAD_VALUE, dtype=np.uint8)
    new_w, new_h = max(int(w * ratio), 1), max(int(h * ratio), 1)
    canvas[:new_h, :new_w] = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    return canvas, ratio


def _grids(size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    width, height = size
    grids, strides = [], []
    for stride in STRIDES:
        xv, yv = np.meshgrid(np.arange(width // stride), np.arange(height // stride))
        grids.append(np.stack((xv, yv), axis=2).reshape(-1, 2))
        strides.append(np.full((grids[-1].shape[0], 1), stride))
    return np.concatenate(grids).astype(np.float32), np.concatenate(strides).astype(np.float32)


# DWPose's person detector defaults: keep boxes scoring 0.3 or more, drop the weaker of two that
# overlap above IoU 0.45 (its own NMS: person class only, +1 areas). The pipeline and the CLI
# take these; the adapters keep their peers' own values.
SCORE_THRESHOLD = 0.3
NMS_THRESHOLD = 0.45


class YOLOXDetector:
    """Person boxes from a BGR uint8 image.

    `model` is a path to an ONNX file (onnxruntime backend), or to a `.pth`/`.onnx` with
    `backend="torch"` (`arch` names the YOLOX size, else it is read from the file), or an
    `nn.Module` returning the raw (B, anchors, 85) export output. An ONNX file may also be an
    mmdeploy end2end export with NMS inside (`dets`, `labels`: the SDK zips of rtmlib's modes);
    its person boxes are taken as they are (score > `score_threshold`, as rtmlib). `input_size`
    (width, height): the ONNX file's input where it fixes one, else this argument, the
    registered model's, or 640x640. Pre-processing is the same for all (rtmlib's YOLOX: letterbox
    on 114, BGR 0..255, no normalisation; the Human-Art detectors included).
    """

    def __init__(
        self,
        model: str | os.PathLike | object,
        backend: str = "onnxruntime",
        device: str = "cpu",
        arch: str | None = None,
        score_threshold: float = SCORE_THRESHOLD,
        nms_threshold: float = NMS_THRESHOLD,
        candidate_threshold: float = 0.1,
        input_size: tuple[int, int] | None = None,
        dtype: str = "float32",
        max_detections: int | None = None,
        threads: int | None = None,
    ) -> None:
        self.max_detections = max_detections  # keep only the best k persons (None: all)
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        self.candidate_threshold = candidate_threshold
        loaded = load(model, "detector", backend, device, dtype, arch=arch, threads=threads)  # type: ignore[arg-type]
        self.runner = loaded.runner
        self.with_nms = loaded.signature == "detector-nms"
        if loaded.backend == "torch":  # the argument overrides the module's size
            input_size = input_size or loaded.input_size or (640, 640)
        else:  # a file's fixed size wins over the argument
            input_size = loaded.input_size or input_size or (640, 640)
        self.input_size = tuple(input_size)
        self._grid, self._stride = _grids(input_size)

    @property
    def device_info(self) -> str:
        return self.runner.device_info

    def preprocess(self, image: np.ndarray) -> tuple[np.ndarray, float]:
        canvas, ratio = letterbox(image, self.input_size)
        return canvas.transpose(2, 0, 1)[None].astype(np.float32), ratio

    def postprocess(self, output: np.ndarray, ratio: float) -> Detections:
        """Decode one image's (anchors, 85) output into person boxes in image pixels."""
        # Class-aware NMS runs per class and only persons are kept, so only class 0 matters.
        scores = output[:, 4] * output[:, 5 + PERSON_CLASS]
        index = np.flatnonzero(scores > self.candidate_threshold)
        return self._decode_candidates(output[index], index, ratio)

    def _decode_candidates(self, rows: np.ndarray, index: np.ndarray, ratio: float) -> Detections:
        """Boxes of the candidate anchors `index` (rows of the raw output), NMS, final filter."""
        xy = (rows[:, :2] + self._grid[index]) * self._stride[index]
        wh = np.exp(rows[:, 2:4]) * self._stride[index]
        boxes = np.concatenate((xy - wh / 2, xy + wh / 2), axis=1) / ratio
        scores = rows[:, 4] * rows[:, 5 + PERSON_CLASS]
        if len(scores):
            keep = nms(boxes, scores, self.nms_threshold)
            boxes, scores = boxes[keep], scores[keep]
        final = np.flatnonzero(scores > self.score_threshold)  # NMS order: best first
        if self.max_detections is not None:
            final = final[: self.max_detections]
        return Detections(boxes[final].astype(np.float32).reshape(-1, 4), scores[final].astype(np.float32))

    def postprocess_nms(self, dets: np.ndarray, labels: np.ndarray, ratio: float) -> Detections:
        """One image's end2end output: (k, 5) boxes + score in network pixels, (k,) class ids."""
        keep = np.flatnonzero((labels == PERSON_CLASS) & (dets[:, 4] > self.score_threshold))
        keep = keep[np.argsort(-dets[keep, 4], kind="stable")][: self.max_detections]
        return Detections((dets[keep, :4] / ratio).astype(np.float32).reshape(-1, 4), dets[keep, 4].astype(np.float32))

    def __call__(self, image: np.ndarray) -> Detections:
        return self.detect_batch([image])[0]

    def detect_batch(self, images: list[np.ndarray]) -> list[Detections]:
        """Detect on several images in one network call (where the backend batches)."""
        if not images:
            return []
        if isinstance(self.runner, TorchRunner) and self.runner.device.type == "cuda":
            return self._detect_batch_on_device(images)
        prepared = [self.preprocess(image) for image in images]
        if self.with_nms:  # a different number of boxes per image: one call each
            return [self.postprocess_nms(*(out[0] for out in self.runner(canvas)[:2]), ratio)
                    for canvas, ratio in prepared]
        batch = np.concatenate([p[0] for p in prepared])
        (outputs,) = self.runner(batch)[:1]
        return [self.postprocess(outputs[i], ratio) for i, (_, ratio) in enumerate(prepared)]

    def letterbox_on_device(self, images: list[np.ndarray]) -> tuple[torch.Tensor, list[float]]:
        """Letterboxed batch built on the runner's device: upload uint8, bilinear resize
        (half-pixel centres, as cv2.INTER_LINEAR), paste top-left on a 114 canvas."""
        device = self.runner.device
        width, height = self.input_size
        batch = torch.full((len(images), 3, height, width), float(PAD_VALUE), device=device)
        ratios = []
        for i, image in enumerate(images):
            h, w = image.shape[:2]
            ratio = min(height / h, width / w)
            new_w, new_h = max(int(w * ratio), 1), max(int(h * ratio), 1)
            tensor = torch.from_numpy(np.ascontiguousarray(image))
            if device.type == "cuda":
                tensor = tensor.pin_memory()
            tensor = tensor.to(device, non_blocking=True).permute(2, 0, 1)[None].float()
            resized = F.interpolate(tensor, size=(new_h, new_w), mode="bilinear", align_corners=False)
            batch[i, :, :new_h, :new_w] = resized[0].round().clamp(0, 255)
            ratios.append(ratio)
        return batch, ratios

    def _detect_batch_on_device(self, images: list[np.ndarray]) -> list[Detections]:
        batch, ratios = self.letterbox_on_device(images)
        (outputs,) = self.runner.run_tensor(batch)[:1]
        # Only the person candidates above the pre-NMS threshold leave the device.
        scores = outputs[..., 4] * outputs[..., 5 + PERSON_CLASS]
        results = []
        for i, ratio in enumerate(ratios):
            index = (scores[i] > self.candidate_threshold).nonzero()[:, 0]
            rows = outputs[i][index]
            results.append(self._decode_candidates(rows.cpu().numpy(), index.cpu().numpy(), ratio))
        return results
