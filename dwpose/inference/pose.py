"""Top-down pose stage: boxes -> centre/scale/warp matrix -> affine crops -> network (one batch
for all persons, optional flip test) -> SimCC decode -> keypoints in image pixels.

Each step runs on the host (NumPy/OpenCV) or on the compute device (torch tensors): the
"placement". The two placements share every step except the crop itself (cv2.warpAffine on the
host; the same fixed-point arithmetic as tensor operations on the device, see `device_stage`),
and both give the same crops byte for byte."""

from __future__ import annotations

import os
from typing import Union

import cv2
import numpy as np
import torch
from torch import nn

from ..backends import FILE_BACKENDS, torch_dtype
from ..codec import SimCCCodec, flip_simcc_back
from ..errors import InputError
from ..geometry import BBOX_PADDING, bbox_xyxy_to_center_scale, crop_to_image, fix_aspect_ratio, get_warp_matrix
from ..models.release import Normalisation
from ..runtime import load
from ..skeleton import FLIP_INDICES
from . import device_stage

# Persons per network call (both placements, and the largest compiled bucket): large enough to
# fill a GPU, small enough to bound memory on crowded images.
MAX_BATCH_SIZE = 256
PLACEMENTS = ("host", "device")

Batch = Union[np.ndarray, torch.Tensor]


def crop_geometry(
    boxes: np.ndarray, input_size: tuple[int, int], padding: float = BBOX_PADDING
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centres (N, 2), aspect-fixed scales (N, 2) and forward warp matrices (N, 2, 3) of xyxy
    boxes: what both placements crop with and map keypoints back with."""
    width, height = input_size
    center, scale = bbox_xyxy_to_center_scale(boxes, padding)
    scale = fix_aspect_ratio(scale, width / height)
    matrices = np.stack([get_warp_matrix(center[i], scale[i], 0.0, input_size) for i in range(len(center))]) \
        if len(center) else np.zeros((0, 2, 3))
    return center, scale, matrices


def warp_on_host(image_bgr: np.ndarray, matrices: np.ndarray, input_size: tuple[int, int]) -> np.ndarray:
    """Affine crops (N, H, W, 3) uint8 with cv2.warpAffine (INTER_LINEAR, constant-0 border)."""
    width, height = input_size
    crops = np.empty((len(matrices), height, width, 3), dtype=np.uint8)
    for i, matrix in enumerate(matrices):
        cv2.warpAffine(image_bgr, matrix, (width, height), dst=crops[i], flags=cv2.INTER_LINEAR)
    return crops


def crop_persons(
    image_bgr: np.ndarray, boxes: np.ndarray, input_size: tuple[int, int], padding: float = BBOX_PADDING
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Affine crops (N, H, W, 3) uint8 BGR of xyxy boxes, with their centres and aspect-fixed
    scales (N, 2) needed to map keypoints back."""
    center, scale, matrices = crop_geometry(boxes, input_size, padding)
    return warp_on_host(image_bgr, matrices, input_size), center, scale


class Normalizer:
    """BGR uint8 crops (N, H, W, 3) -> the network's input, float32 NCHW, with the model's own
    normalisation (`TopdownPoseModel.normalisation`, RGB). NumPy in: a contiguous array; tensor
    in: a tensor on the same device (an NCHW view of channels_last memory)."""

    def __init__(self, normalisation: Normalisation) -> None:
        if normalisation.channels != "RGB" or normalisation.mean is None or normalisation.std is None:
            raise InputError(f"the pose stage feeds RGB crops with mean/std; the model wants {normalisation}")
        self.mean = np.asarray(normalisation.mean, np.float32)
        self.std = np.asarray(normalisation.std, np.float32)
        self._on_device: dict[torch.device, tuple[torch.Tensor, torch.Tensor]] = {}

    def __call__(self, crops_bgr: Batch) -> Batch:
        if isinstance(crops_bgr, torch.Tensor):
            if crops_bgr.device not in self._on_device:
                self._on_device[crops_bgr.device] = (torch.from_numpy(self.mean).to(crops_bgr.device),
                                                     torch.from_numpy(self.std).to(crops_bgr.device))
            mean, std = self._on_device[crops_bgr.device]
            rgb = crops_bgr.flip(-1).to(torch.float32)
            return ((rgb - mean) / std).permute(0, 3, 1, 2)
        rgb = crops_bgr[..., ::-1].astype(np.float32)
        return np.ascontiguousarray(((rgb - self.mean) / self.std).transpose(0, 3, 1, 2))


def flip_width(batch: Batch) -> Batch:
    """The batch mirrored left-right (last axis)."""
    if isinstance(batch, torch.Tensor):
        return batch.flip(-1)
    return np.ascontiguousarray(batch[..., ::-1])


def _concat(parts: list[Batch]) -> Batch:
    return torch.cat(parts) if isinstance(parts[0], torch.Tensor) else np.concatenate(parts)


class PoseEstimator:
    """A top-down SimCC pose model (RTMPose/DWPose, RTMW) on person boxes of a BGR uint8 image.

    `model`: an official-signature ONNX path (backend "onnxruntime" or "openvino"), a
    `.pth`/`.onnx` path for backend "torch" (architecture detected from the file, or named by
    `arch`), or a pose module (`dwpose.models.TopdownPoseModel`: RTMPose, RTMW). The network
    always receives RGB, normalised as in training.

    `placement`: where crops, normalisation, flip test, decoding and the mapping back run:
    "host" (NumPy/OpenCV) or "device" (torch tensors on `device`; backend "torch" only).
    Default: "device" for the torch backend on a GPU, else "host". `dtype`: a name of
    `backends.TORCH_DTYPES` (torch backend; openvino: its inference precision hint).
    `compile` (torch backend): torch.compile of the network, with power-of-two batch buckets
    (CUDA graphs on GPUs), and of the device crops. At most `max_batch_size` persons go through
    the network at once. `threads`: onnxruntime/openvino intra-op threads (None: one per core).
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
        max_batch_size: int = MAX_BATCH_SIZE,
        placement: str | None = None,
        compile: bool = False,
        threads: int | None = None,
    ) -> None:
        is_float32 = torch_dtype(dtype) == torch.float32
        if not isinstance(max_batch_size, int) or max_batch_size < 1:
            raise InputError(f"max_batch_size must be a positive integer, got {max_batch_size!r}")
        if placement not in (None, *PLACEMENTS):
            raise InputError(f"unknown placement {placement!r}; use 'host' or 'device'")
        if backend in FILE_BACKENDS and not isinstance(model, nn.Module):
            if placement == "device":
                raise InputError("placement='device' runs the steps as torch tensors: it needs backend='torch'")
            if compile:
                raise InputError("compile=True needs backend='torch'")
            if backend == "onnxruntime" and not is_float32:
                raise InputError(f"dtype {dtype!r} needs backend='torch' or 'openvino' (onnxruntime runs the "
                                 "file's float32 graph)")
        loaded = load(model, "pose", backend, device, dtype, arch=arch, compile=compile, max_batch=max_batch_size,
                      threads=threads)
        self.runner = loaded.runner
        self.input_size = loaded.input_size
        if backend in FILE_BACKENDS:
            placement = "host"
        elif placement is None:
            placement = "device" if self.runner.device.type == "cuda" else "host"
        self.placement = placement
        # Compiled, the device crops fuse into a kernel or two instead of some forty elementwise
        # passes (dynamic shapes: window sizes and person counts vary).
        self.warp_crops = torch.compile(device_stage.warp_crops, dynamic=True) \
            if compile and placement == "device" else device_stage.warp_crops
        self.codec = SimCCCodec.for_input_size(self.input_size, for_training=False)
        self.normalize = Normalizer(loaded.normalisation)
        self.flip_test = flip_test
        self.padding = padding
        self.max_batch_size = max_batch_size

    @property
    def device_info(self) -> str:
        return f"{self.runner.device_info}, crops and decoding on the {self.placement}"

    def network(self, batch: Batch) -> tuple[Batch, Batch]:
        """Raw SimCC logits of a normalised batch: NumPy in and out on the host placement,
        tensors in and out on the device placement."""
        if isinstance(batch, torch.Tensor):
            outputs = self.runner.run_tensor(batch)  # type: ignore[union-attr]
        else:
            outputs = self.runner(batch)
        return outputs[0], outputs[1]

    def infer_crops(self, batch: Batch) -> tuple[Batch, Batch]:
        """Raw SimCC logits for a normalised batch, with flip test when enabled (both placements)."""
        simcc_x, simcc_y = self.network(batch)
        if self.flip_test:
            flipped_x, flipped_y = flip_simcc_back(*self.network(flip_width(batch)), FLIP_INDICES)
            simcc_x, simcc_y = (simcc_x + flipped_x) * 0.5, (simcc_y + flipped_y) * 0.5
        return simcc_x, simcc_y

    def crops(self, images_bgr: list[np.ndarray], matrices: list[np.ndarray]) -> Batch:
        """Crops (N, H, W, 3) uint8 BGR of all images: NumPy on the host, a tensor on the device."""
        if self.placement == "host":
            return np.concatenate([warp_on_host(image, m, self.input_size) for image, m in zip(images_bgr, matrices)])
        device = self.runner.device  # type: ignore[union-attr]
        rows, columns = device_stage.warp_coordinates(np.concatenate(matrices), self.input_size)
        rows_on_device, columns_on_device = device_stage.upload(rows, device), device_stage.upload(columns, device)
        parts, start = [], 0
        for image, m in zip(images_bgr, matrices):
            if len(m):
                stop = start + len(m)
                # Only the part of the image that the crops read travels to the device.
                x0, y0, x1, y1 = device_stage.source_window(rows[start:stop], columns[start:stop], image.shape[:2])
                window = device_stage.upload(image[y0:y1, x0:x1], device)
                parts.append(self.warp_crops(window, rows_on_device[start:stop], columns_on_device[start:stop], (x0, y0)))
                start = stop
        return torch.cat(parts)

    def __call__(self, image_bgr: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Keypoints (N, K, 2) in image pixels and scores (N, K) for xyxy boxes (N, 4)."""
        return self.predict_many([image_bgr], [boxes])[0]

    @torch.inference_mode()
    def predict_many(
        self, images_bgr: list[np.ndarray], boxes: list[np.ndarray], keep_logits: bool = False
    ) -> list[tuple]:
        """All persons of all images in network batches of at most `max_batch_size`:
        (keypoints, scores) per image, and with `keep_logits` a third item, the raw SimCC logits
        (simcc_x, simcc_y) of its persons as NumPy arrays."""
        if len(images_bgr) != len(boxes):
            raise InputError(f"{len(boxes)} box lists for {len(images_bgr)} images")
        boxes = [np.asarray(b, np.float32).reshape(-1, 4) for b in boxes]
        geometry = [crop_geometry(b, self.input_size, self.padding) for b in boxes]
        counts = [len(b) for b in boxes]
        total = sum(counts)
        if total == 0:
            return [self._empty(keep_logits) for _ in images_bgr]
        # Crops, normalisation and network run per chunk of persons: the limit bounds memory on
        # both placements (a chunk may span images).
        owner = np.repeat(np.arange(len(images_bgr)), counts)
        matrices = np.concatenate([g[2] for g in geometry])
        parts = []
        for start in range(0, total, self.max_batch_size):
            chunk = slice(start, min(start + self.max_batch_size, total))
            in_chunk = np.unique(owner[chunk])
            crops = self.crops([images_bgr[k] for k in in_chunk], [matrices[chunk][owner[chunk] == k] for k in in_chunk])
            parts.append(self.infer_crops(self.normalize(crops)))
        simcc_x, simcc_y = _concat([p[0] for p in parts]), _concat([p[1] for p in parts])
        keypoints, scores = self.codec.decode(simcc_x, simcc_y)
        centers, scales = np.concatenate([g[0] for g in geometry]), np.concatenate([g[1] for g in geometry])
        keypoints = crop_to_image(keypoints, centers, scales, self.input_size)
        if isinstance(keypoints, torch.Tensor):  # one transfer back
            both = torch.cat([keypoints, scores[..., None].to(torch.float32)], -1).cpu().numpy()
            keypoints, scores = np.ascontiguousarray(both[..., :2]), np.ascontiguousarray(both[..., 2])
        splits = np.cumsum(counts)[:-1]
        per_image = [np.split(keypoints, splits), np.split(scores.astype(np.float32), splits)]
        if keep_logits:
            if isinstance(simcc_x, torch.Tensor):
                simcc_x, simcc_y = simcc_x.float().cpu().numpy(), simcc_y.float().cpu().numpy()
            per_image.append(list(zip(np.split(simcc_x, splits), np.split(simcc_y, splits))))
        return list(zip(*per_image))

    def _empty(self, keep_logits: bool) -> tuple:
        """The output of an image with no person."""
        empty = (np.zeros((0, 133, 2), np.float32), np.zeros((0, 133), np.float32))
        if not keep_logits:
            return empty
        bins_x, bins_y = self.codec.bins
        return (*empty, (np.zeros((0, 133, bins_x), np.float32), np.zeros((0, 133, bins_y), np.float32)))
