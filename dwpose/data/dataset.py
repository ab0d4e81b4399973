"""PyTorch datasets over top-down samples."""

from __future__ import annotations

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from ..codec import SimCCCodec
from .coco_wholebody import Sample
from .transforms import AugmentConfig, TrainTransform
from ..errors import DatasetError


def read_rgb(path: str) -> np.ndarray:
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise DatasetError(f"cannot read image {path}")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def epoch_indices(groups: list[tuple[int, float]], seed: int, epoch: int) -> np.ndarray:
    """Sample indices of one epoch (before shuffling) for sources laid out one after the other,
    `groups` = (samples, weight) of each: round(weight x samples) draws of each source, whole
    repeats first, the remainder a subset without repeats that depends on (seed, epoch, source)
    only. With every weight 1 it is simply every sample once."""
    parts, start = [], 0
    for number, (count, weight) in enumerate(groups):
        draws = int(round(weight * count))
        repeats, rest = divmod(draws, count) if count else (0, 0)
        parts.append(np.tile(np.arange(start, start + count), repeats))
        if rest:
            rng = np.random.default_rng([seed, epoch, number])
            parts.append(start + np.sort(rng.choice(count, rest, replace=False)))
        start += count
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)


class TopDownTrainDataset(Dataset):
    """Augmented crops with SimCC labels. `set_epoch` selects the epoch's random stream and,
    from `switch_epoch` on, the stage-B augmentation (`stage_b`, default `augment.stage_b()`:
    the RTMPose recipe's milder one). A sample whose `meta` holds "teacher_logits" (a
    `StoredLogits`) also yields the teacher's stored logits for its annotation id ("teacher_x",
    "teacher_y")."""

    def __init__(self, samples: list[Sample], input_size: tuple[int, int], augment: AugmentConfig,
                 seed: int = 21, switch_epoch: int | None = None, stage_b: AugmentConfig | None = None) -> None:
        if not samples:
            raise DatasetError("the training set is empty (no usable person instances)")
        self.samples = samples
        self.input_size = input_size
        self.codec = SimCCCodec.for_input_size(input_size)
        self.transforms = {"A": TrainTransform(input_size, augment),
                           "B": TrainTransform(input_size, stage_b or augment.stage_b())}
        self.seed = seed
        self.switch_epoch = switch_epoch
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    @property
    def stage(self) -> str:
        return "B" if self.switch_epoch is not None and self.epoch >= self.switch_epoch else "A"

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        sample = self.samples[index]
        rng = np.random.default_rng([self.seed, self.epoch, index])
        crop, keypoints, visible = self.transforms[self.stage](
            read_rgb(sample.image_path), sample.bbox, sample.keypoints, sample.visible, rng)
        labels_x, labels_y, weights = self.codec.encode(keypoints[None], visible[None])
        item = {
            "image": torch.from_numpy(np.ascontiguousarray(crop.transpose(2, 0, 1))),  # uint8 RGB
            "labels_x": torch.from_numpy(labels_x[0]),
            "labels_y": torch.from_numpy(labels_y[0]),
            "weights": torch.from_numpy(weights[0]),
        }
        stored = sample.meta.get("teacher_logits")
        if stored is not None:
            teacher_x, teacher_y = stored.get(sample.meta["annotation_id"])
            item["teacher_x"], item["teacher_y"] = torch.from_numpy(teacher_x), torch.from_numpy(teacher_y)
        return item
