"""The pose stage on the compute device (GPU): crops sampled from the uploaded image with
`grid_sample` (bilinear, zero border: the same warp as the OpenCV path), normalisation, the
network in float32/bf16/fp16 with channels_last, SimCC decode and the mapping back to image
pixels, all as tensors; one transfer back per call.

Optional `compile=True` wraps the network in `torch.compile`, and batches are padded to
power-of-two buckets so that compiled graphs (and CUDA graphs under "reduce-overhead") are
reused instead of rebuilt for every person count."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..codec import SimCCCodec
from ..errors import InputError
from ..geometry import bbox_xyxy_to_center_scale, crop_to_image, fix_aspect_ratio
from ..models import RGB_MEAN, RGB_STD, RTMPose
from .pose import empty_poses, split_per_image

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def bucket_size(n: int, max_batch: int) -> int:
    """Smallest power of two >= n (capped at max_batch)."""
    return min(max(1, 1 << (max(n, 1) - 1).bit_length()), max_batch)


def crop_grids(centers: torch.Tensor, scales: torch.Tensor, input_size: tuple[int, int],
               image_size: tuple[int, int]) -> torch.Tensor:
    """Sampling grids (N, H_in, W_in, 2) in grid_sample's normalised coordinates
    (align_corners=False) for non-rotated top-down crops: crop pixel (x, y) reads image pixel
    c + ((x, y) - input_size / 2) * s_w / W_in — the inverse of the OpenCV warp matrix."""
    width, height = input_size
    img_w, img_h = image_size
    device, dtype = centers.device, torch.float32
    xs = torch.arange(width, device=device, dtype=dtype) - width / 2
    ys = torch.arange(height, device=device, dtype=dtype) - height / 2
    step = (scales[:, 0] / width).to(dtype)[:, None]                      # image pixels per crop pixel
    src_x = centers[:, 0:1].to(dtype) + xs[None] * step                   # (N, W_in)
    src_y = centers[:, 1:2].to(dtype) + ys[None] * step                   # (N, H_in)
    grid_x = (2 * src_x + 1) / img_w - 1
    grid_y = (2 * src_y + 1) / img_h - 1
    n = centers.shape[0]
    return torch.stack((grid_x[:, None, :].expand(n, height, width), grid_y[:, :, None].expand(n, height, width)), dim=-1)


class DevicePoseStage:
    """RTMPose on person boxes with every step after the image upload on `device`."""

    def __init__(self, model: RTMPose, device: str = "cuda", dtype: str = "float32", compile: bool = False,
                 max_batch: int = 256, padding: float = 1.25) -> None:
        if dtype not in _DTYPES:
            raise InputError(f"dtype must be one of {', '.join(_DTYPES)}")
        self.device = torch.device(device)
        self.dtype = _DTYPES[dtype]
        self.model = model.eval().to(self.device)
        if self.device.type == "cuda":
            self.model = self.model.to(memory_format=torch.channels_last)
        if self.dtype != torch.float32:
            self.model = self.model.to(self.dtype)
        self.network = torch.compile(self.model, mode="reduce-overhead" if self.device.type == "cuda" else "default",
                                     dynamic=False) if compile else self.model
        self.compiled = compile
        self.input_size = tuple(model.input_size)
        self.codec = SimCCCodec.for_input_size(self.input_size, for_training=False)
        self.max_batch = max_batch
        self.padding = padding
        self.mean = torch.tensor(RGB_MEAN, device=self.device).view(1, 3, 1, 1)
        self.std = torch.tensor(RGB_STD, device=self.device).view(1, 3, 1, 1)

    def upload(self, image_bgr: np.ndarray) -> torch.Tensor:
        """(1, 3, H, W) float32 RGB on the device (pinned, asynchronous copy on CUDA)."""
        tensor = torch.from_numpy(np.ascontiguousarray(image_bgr))
        if self.device.type == "cuda":
            tensor = tensor.pin_memory()
        tensor = tensor.to(self.device, non_blocking=True)
        return tensor.permute(2, 0, 1).flip(0)[None].float()

    def crops(self, image: torch.Tensor, boxes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Normalised crops (N, 3, H_in, W_in) of one uploaded image, with centres and scales."""
        center, scale = bbox_xyxy_to_center_scale(boxes, self.padding)
        scale = fix_aspect_ratio(scale, self.input_size[0] / self.input_size[1])
        grid = crop_grids(center, scale, self.input_size, (image.shape[3], image.shape[2]))
        patches = F.grid_sample(image.expand(len(boxes), -1, -1, -1), grid, mode="bilinear",
                                padding_mode="zeros", align_corners=False)
        return (patches - self.mean) / self.std, center, scale

    @torch.inference_mode()
    def run(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits for a normalised batch, padded to a bucket size (reuses compiled graphs)."""
        outs_x, outs_y = [], []
        for start in range(0, len(batch), self.max_batch):
            chunk = batch[start:start + self.max_batch]
            n = len(chunk)
            size = bucket_size(n, self.max_batch) if self.compiled else n
            if size > n:
                chunk = torch.cat([chunk, chunk.new_zeros((size - n, *chunk.shape[1:]))])
            chunk = chunk.to(self.dtype)
            if self.device.type == "cuda":
                chunk = chunk.contiguous(memory_format=torch.channels_last)
            if self.compiled and self.device.type == "cuda":
                torch.compiler.cudagraph_mark_step_begin()
            simcc_x, simcc_y = self.network(chunk)
            # Copies: a CUDA-graph replay reuses its output buffers for the next chunk.
            outs_x.append(simcc_x[:n].to(torch.float32, copy=True))
            outs_y.append(simcc_y[:n].to(torch.float32, copy=True))
        return torch.cat(outs_x), torch.cat(outs_y)

    @torch.inference_mode()
    def predict_many(self, images_bgr: list[np.ndarray], boxes: list[np.ndarray], keep_logits: bool = False) -> list[tuple]:
        """Keypoints (N, K, 2) and scores (N, K) per image, all persons in one network batch
        (and with `keep_logits` the SimCC logits, see `PoseEstimator.predict_many`)."""
        crops, centers, scales, counts = [], [], [], []
        for image, image_boxes in zip(images_bgr, boxes):
            image_boxes = np.asarray(image_boxes, np.float32).reshape(-1, 4)
            counts.append(len(image_boxes))
            if len(image_boxes) == 0:
                continue
            c, center, scale = self.crops(self.upload(image), torch.from_numpy(image_boxes).to(self.device))
            crops.append(c), centers.append(center), scales.append(scale)
        if not crops:
            return [empty_poses(self.codec, keep_logits) for _ in images_bgr]
        simcc_x, simcc_y = self.run(torch.cat(crops))
        keypoints, scores = self.codec.decode(simcc_x, simcc_y)
        keypoints = crop_to_image(keypoints, torch.cat(centers), torch.cat(scales), self.input_size)
        keypoints, scores = keypoints.cpu().numpy(), scores.cpu().numpy()  # one transfer
        logits = (simcc_x.cpu().numpy(), simcc_y.cpu().numpy()) if keep_logits else None
        return split_per_image(counts, keypoints, scores, logits)

    def __call__(self, image_bgr: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.predict_many([image_bgr], [boxes])[0]
