"""Top-down pose stage: boxes -> centre/scale -> affine crops -> network (one batch for all
persons) -> SimCC decode -> keypoints in image pixels."""

from __future__ import annotations

import os

import cv2
import numpy as np
from torch import nn

from ..backends import BACKENDS, FILE_BACKENDS, TorchRunner, file_runner
from ..codec import SimCCCodec, flip_simcc_back
from ..errors import InputError
from ..geometry import bbox_xyxy_to_center_scale, crop_to_image, fix_aspect_ratio, get_warp_matrix
from ..models import RGB_MEAN, RGB_STD
from ..skeleton import FLIP_INDICES

BBOX_PADDING = 1.25


def crop_persons(
    image_bgr: np.ndarray, boxes: np.ndarray, input_size: tuple[int, int], padding: float = BBOX_PADDING
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Affine crops (N, H, W, 3) uint8 BGR of xyxy boxes, with their centres and aspect-fixed
    scales (N, 2) needed to map keypoints back."""
    width, height = input_size
    center, scale = bbox_xyxy_to_center_scale(boxes, padding)
    scale = fix_aspect_ratio(scale, width / height)
    crops = np.empty((len(boxes), height, width, 3), dtype=np.uint8)
    for i in range(len(boxes)):
        matrix = get_warp_matrix(center[i], scale[i], 0.0, input_size)
        cv2.warpAffine(image_bgr, matrix, (width, height), dst=crops[i], flags=cv2.INTER_LINEAR)
    return crops, center, scale


class Normalizer:
    """BGR uint8 crops (N, H, W, 3) -> normalised RGB float32 NCHW, in one pass."""

    def __init__(self, mean: tuple[float, ...] = RGB_MEAN, std: tuple[float, ...] = RGB_STD) -> None:
        self.mean = np.asarray(mean, np.float32)
        self.std = np.asarray(std, np.float32)

    def __call__(self, crops_bgr: np.ndarray) -> np.ndarray:
        rgb = crops_bgr[..., ::-1].astype(np.float32)
        return np.ascontiguousarray(((rgb - self.mean) / self.std).transpose(0, 3, 1, 2))


class PoseEstimator:
    """RTMPose/DWPose on person boxes of a BGR uint8 image.

    `model`: an official-signature ONNX path (backend "onnxruntime" or "openvino"), a `.pth`/`.onnx` path for
    backend "torch" (architecture detected from the file, or named by `arch`), or an RTMPose
    module. The network always receives RGB, normalised as in training.
    """

    def __init__(
        self,
        model: str | os.PathLike | nn.Module,
        backend: str = "onnxruntime",
        device: str = "cpu",
        dtype: str = "float32",
        arch: str | None = None,
        flip_test: bool = False,
        padding: float = BBOX_PADDING,
        max_batch_size: int = 64,
        device_pipeline: bool | None = None,
        compile: bool = False,
    ) -> None:
        if backend in FILE_BACKENDS:
            if isinstance(model, nn.Module):
                raise InputError(f"backend {backend!r} needs an ONNX file, not a PyTorch module")
            self.runner = file_runner(backend, model, device, dtype, expect="pose")
            height, width = self.runner.input_hw
            self.input_size = (width, height)
        elif backend == "torch":
            from ..models import create_model
            from ..models.registry import detect_model_name

            if not isinstance(model, nn.Module):
                model = create_model(arch or detect_model_name(model), checkpoint=model)
            self.runner = TorchRunner(model, device, dtype)
            self.input_size = tuple(model.input_size)
            # On a GPU, crops, normalisation and decoding run on the device too (flip test aside).
            if device_pipeline is None:
                device_pipeline = device.startswith("cuda") and not flip_test
            if device_pipeline:
                from .device_stage import DevicePoseStage

                self.device_stage = DevicePoseStage(model, device, dtype, compile=compile, padding=padding)
        else:
            raise InputError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
        self.device_stage = getattr(self, "device_stage", None)
        self.codec = SimCCCodec.for_input_size(self.input_size, for_training=False)
        self.normalize = Normalizer()
        self.flip_test = flip_test
        self.padding = padding
        self.max_batch_size = max_batch_size  # bounds memory on crowded images

    @property
    def device_info(self) -> str:
        return self.runner.device_info

    def infer_crops(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Raw SimCC logits for a normalised batch (with flip test when enabled)."""
        simcc_x, simcc_y = self.runner(batch)[:2]
        if self.flip_test:
            flipped_x, flipped_y = self.runner(np.ascontiguousarray(batch[..., ::-1]))[:2]
            flipped_x, flipped_y = flip_simcc_back(flipped_x, flipped_y, FLIP_INDICES)
            simcc_x, simcc_y = (simcc_x + flipped_x) * 0.5, (simcc_y + flipped_y) * 0.5
        return simcc_x, simcc_y

    def __call__(self, image_bgr: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Keypoints (N, K, 2) in image pixels and scores (N, K) for xyxy boxes (N, 4)."""
        return self.predict_many([image_bgr], [boxes])[0]

    def predict_many(
        self, images_bgr: list[np.ndarray], boxes: list[np.ndarray]
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """All persons of all images in one network batch."""
        if self.device_stage is not None:
            return self.device_stage.predict_many(images_bgr, boxes)
        crops, centers, scales, counts = [], [], [], []
        for image, image_boxes in zip(images_bgr, boxes):
            image_boxes = np.asarray(image_boxes, np.float32).reshape(-1, 4)
            c, center, scale = crop_persons(image, image_boxes, self.input_size, self.padding)
            crops.append(c), centers.append(center), scales.append(scale), counts.append(len(image_boxes))
        total = sum(counts)
        if total == 0:
            empty = (np.zeros((0, 133, 2), np.float32), np.zeros((0, 133), np.float32))
            return [empty for _ in images_bgr]
        crops = np.concatenate(crops)
        parts = [self.infer_crops(self.normalize(crops[i:i + self.max_batch_size]))
                 for i in range(0, total, self.max_batch_size)]
        simcc_x = np.concatenate([p[0] for p in parts])
        simcc_y = np.concatenate([p[1] for p in parts])
        keypoints, scores = self.codec.decode(simcc_x, simcc_y)
        keypoints = crop_to_image(keypoints, np.concatenate(centers), np.concatenate(scales), self.input_size)
        splits = np.cumsum(counts)[:-1]
        return list(zip(np.split(keypoints, splits), np.split(scores.astype(np.float32), splits)))
