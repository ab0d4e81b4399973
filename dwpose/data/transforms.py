"""Top-down training augmentation: flip, half-body, bbox scale/shift/rotation, affine crop, a
colour jitter (RTMPose: YOLOX HSV; RTMW: mmpose PhotometricDistortion), blur / median blur /
coarse dropout (albumentations), SimCC targets. `pipeline_stages` gives the two stages (before
and after the pipeline switch) of each recipe.

All randomness comes from one `np.random.Generator` per sample, so a sample's augmentation
depends only on (seed, epoch, index): reproducible with any number of workers and on resume."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import cv2
import numpy as np

from ..errors import InputError
from ..geometry import bbox_xyxy_to_center_scale, fix_aspect_ratio, get_warp_matrix
from ..skeleton import FLIP_INDICES, LOWER_BODY_IDS, UPPER_BODY_IDS


@dataclass(frozen=True)
class AugmentConfig:
    """Strength of the augmentations. Defaults = the DWPose fork's stage A for t/s/m/l."""

    flip_prob: float = 0.5
    half_body_prob: float = 0.3
    shift_factor: float = 0.16
    shift_prob: float = 0.3
    scale_factor: tuple[float, float] = (0.6, 1.4)
    rotate_factor: float = 80.0
    rotate_prob: float = 0.6
    hsv_delta: tuple[int, int, int] = (5, 30, 30)
    blur_prob: float = 0.1
    median_blur_prob: float = 0.1
    dropout_prob: float = 1.0
    # "hsv": mmdet YOLOXHSVRandomAug (RTMPose); "photometric": mmpose PhotometricDistortion
    # (RTMW); "none": no colour jitter.
    color: Literal["hsv", "photometric", "none"] = "hsv"

    @classmethod
    def none(cls) -> "AugmentConfig":
        """No augmentation at all: the plain top-down crop (debugging, overfitting checks)."""
        return cls(flip_prob=0.0, half_body_prob=0.0, shift_factor=0.0, shift_prob=0.0, scale_factor=(1.0, 1.0),
                   rotate_factor=0.0, rotate_prob=0.0, hsv_delta=(0, 0, 0), blur_prob=0.0, median_blur_prob=0.0,
                   dropout_prob=0.0)

    def stage_b(self) -> "AugmentConfig":
        """The milder pipeline of the last epochs: no shift, scale [0.75, 1.25], rotation 60,
        dropout p 0.5 (x configs keep their scale/rotation). The RTMPose recipe's switch; see
        `pipeline_stages` for RTMW's."""
        if self == AugmentConfig.none():
            return self
        if self.scale_factor == (0.5, 1.5):  # RTMPose-x and upstream ubody configs
            return replace(self, shift_factor=0.0, dropout_prob=0.5)
        return replace(self, shift_factor=0.0, scale_factor=(0.75, 1.25), rotate_factor=60.0, dropout_prob=0.5)


Pipeline = Literal["rtmpose", "rtmw"]


def pipeline_stages(pipeline: Pipeline, scale_factor: tuple[float, float], rotate_factor: float
                    ) -> tuple[AugmentConfig, AugmentConfig]:
    """(before, after) the pipeline switch of a recipe, with its stage-1 bbox scale / rotation.

    - "rtmpose" (DWPose fork configs): HSV jitter, coarse dropout p 1; then no shift, milder
      scale/rotation (not for x), dropout p 0.5 (`AugmentConfig.stage_b`).
    - "rtmw" (cocktail14 configs): PhotometricDistortion, coarse dropout p 0.5; then no shift,
      no colour jitter, no dropout (blur and median blur only), scale/rotation kept."""
    if pipeline == "rtmw":
        first = AugmentConfig(scale_factor=scale_factor, rotate_factor=rotate_factor, dropout_prob=0.5,
                              color="photometric")
        return first, replace(first, shift_factor=0.0, dropout_prob=0.0, color="none")
    if pipeline == "rtmpose":
        first = AugmentConfig(scale_factor=scale_factor, rotate_factor=rotate_factor)
        return first, first.stage_b()
    raise InputError(f"unknown augmentation pipeline {pipeline!r}; use 'rtmpose' or 'rtmw'")


def truncated_normal(rng: np.random.Generator, size: int | tuple = ()) -> np.ndarray:
    """Standard normal truncated to [-1, 1] (scipy truncnorm(-1, 1)), by rejection."""
    out = rng.standard_normal(size)
    bad = np.abs(out) > 1
    while np.any(bad):
        out[bad] = rng.standard_normal(int(np.sum(bad)))
        bad = np.abs(out) > 1
    return out


def random_flip(image: np.ndarray, center: np.ndarray, keypoints: np.ndarray, visible: np.ndarray,
                rng: np.random.Generator, prob: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mirror the image and the instance with probability `prob` (left/right ids swapped)."""
    if rng.random() >= prob:
        return image, center, keypoints, visible
    width = image.shape[1]
    image = np.ascontiguousarray(image[:, ::-1])
    center = np.array([width - center[0] - 1, center[1]], np.float32)  # mmpose's order of operations
    keypoints = keypoints.copy()
    keypoints[:, 0] = width - 1 - keypoints[:, 0]
    index = list(FLIP_INDICES)
    return image, center, keypoints[index], visible[index]


def random_half_body(center: np.ndarray, scale: np.ndarray, keypoints: np.ndarray, visible: np.ndarray,
                     rng: np.random.Generator, prob: float, min_total: int = 9, min_upper: int = 2,
                     min_lower: int = 3, padding: float = 1.5) -> tuple[np.ndarray, np.ndarray]:
    """Re-centre on the upper or lower body (face and hands belong to neither)."""
    if visible.sum() < min_total or rng.random() > prob:
        return center, scale
    upper = [i for i in UPPER_BODY_IDS if visible[i] > 0]
    lower = [i for i in LOWER_BODY_IDS if visible[i] > 0]
    upper_ok, lower_ok = len(upper) >= min_upper, len(lower) >= min_lower
    if not upper_ok and not lower_ok:
        return center, scale
    if not lower_ok:
        chosen = upper
    elif not upper_ok:
        chosen = lower
    else:
        chosen = upper if rng.random() < 0.7 else lower
    points = keypoints[chosen]
    return points.mean(0).astype(np.float32), ((points.max(0) - points.min(0)) * padding).astype(np.float32)


def random_bbox_transform(center: np.ndarray, scale: np.ndarray, rng: np.random.Generator,
                          config: AugmentConfig) -> tuple[np.ndarray, np.ndarray, np.float32]:
    """Random shift, scale and rotation of the box (truncated-normal draws, as mmpose). The draws
    are float32 and so is every product, as in mmpose, so that the rotation reaching the warp
    matrix is the float32 angle the reference computes with."""
    t_shift, t_scale, t_rot = (truncated_normal(rng, size).astype(np.float32) for size in (2, (), ()))
    center, scale = np.asarray(center, np.float32), np.asarray(scale, np.float32)
    if config.shift_factor and rng.random() < config.shift_prob:
        center = center + t_shift * config.shift_factor * scale
    low, high = config.scale_factor
    scale = scale * (t_scale * ((high - low) * 0.5) + (high + low) * 0.5)
    rotation = t_rot * np.float32(config.rotate_factor) if rng.random() < config.rotate_prob else np.float32(0.0)
    return center.astype(np.float32), scale.astype(np.float32), rotation


def hsv_jitter(image_rgb: np.ndarray, rng: np.random.Generator, delta=(5, 30, 30)) -> np.ndarray:
    """mmdet YOLOXHSVRandomAug on an RGB buffer (so RGB<->HSV conversions)."""
    gains = rng.uniform(-1, 1, 3) * np.asarray(delta) * rng.integers(0, 2, 3)
    gains = gains.astype(np.int16)
    hsv = cv2.cvtColor(image_rgb, cv2.COLOR_RGB2HSV).astype(np.int16)
    hsv[..., 0] = (hsv[..., 0] + gains[0]) % 180
    hsv[..., 1] = np.clip(hsv[..., 1] + gains[1], 0, 255)
    hsv[..., 2] = np.clip(hsv[..., 2] + gains[2], 0, 255)
    return cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB)


def _scale_shift(image: np.ndarray, alpha: float = 1.0, beta: float = 0.0) -> np.ndarray:
    """alpha * image + beta in float32, clipped to 0..255, truncated to uint8 (mmpose `_convert`)."""
    return np.clip(image.astype(np.float32) * np.float32(alpha) + np.float32(beta), 0, 255).astype(np.uint8)


def photometric_distortion(image_rgb: np.ndarray, rng: np.random.Generator, brightness_delta: int = 32,
                           contrast_range: tuple[float, float] = (0.5, 1.5),
                           saturation_range: tuple[float, float] = (0.5, 1.5), hue_delta: int = 18) -> np.ndarray:
    """mmpose PhotometricDistortion (the RTMW recipe) on an RGB buffer: brightness, contrast,
    saturation and/or hue (in OpenCV's 8-bit HSV), channel permutation, each drawn as mmpose
    draws them. Kept as the reference code does it: contrast is applied only when its mode is
    1, and then both before and after the HSV step (the code tests the same mode twice), and the
    hue shift wraps modulo 256 in the uint8 hue channel."""
    contrast_mode, brightness_on, contrast_on = (int(rng.integers(2)) for _ in range(3))
    hsv_mode, swap_on = int(rng.integers(4)), int(rng.integers(2))
    brightness = rng.uniform(-brightness_delta, brightness_delta)
    contrast = rng.uniform(*contrast_range)
    saturation = rng.uniform(*saturation_range)
    hue = int(rng.integers(-hue_delta, hue_delta))
    order = rng.permutation(3)
    image = image_rgb
    if brightness_on:
        image = _scale_shift(image, beta=brightness)
    if contrast_mode == 1 and contrast_on:
        image = _scale_shift(image, alpha=contrast)
    if hsv_mode:
        hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV)
        if hsv_mode in (1, 3):
            hsv[..., 1] = _scale_shift(hsv[..., 1], alpha=saturation)
        if hsv_mode in (2, 3):
            hsv[..., 0] = (hsv[..., 0].astype(np.int64) + hue).astype(np.uint8)
        image = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    if contrast_mode == 1 and contrast_on:
        image = _scale_shift(image, alpha=contrast)
    if swap_on:
        image = np.ascontiguousarray(image[..., order])
    return image


class PixelAugment:
    """Blur, median blur and one coarse-dropout hole, through albumentations."""

    def __init__(self, config: AugmentConfig) -> None:
        import albumentations as A

        self.compose = A.Compose([
            A.Blur(blur_limit=(3, 7), p=config.blur_prob),
            A.MedianBlur(blur_limit=(3, 7), p=config.median_blur_prob),
            A.CoarseDropout(num_holes_range=(1, 1), hole_height_range=(0.2, 0.4), hole_width_range=(0.2, 0.4),
                            fill=0, p=config.dropout_prob),
        ])

    def __call__(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        self.compose.set_random_seed(int(rng.integers(0, 2**31 - 1)))
        return self.compose(image=image)["image"]


def affine_crop(image: np.ndarray, center: np.ndarray, scale: np.ndarray, rotation: float,
                input_size: tuple[int, int], keypoints: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Warp to the network input; returns the crop, the aspect-fixed scale and moved keypoints."""
    width, height = input_size
    scale = fix_aspect_ratio(scale, width / height)
    matrix = get_warp_matrix(center, scale, rotation, input_size)
    crop = cv2.warpAffine(image, matrix, (int(width), int(height)), flags=cv2.INTER_LINEAR)
    if keypoints is not None:
        keypoints = cv2.transform(keypoints[None].astype(np.float32), matrix)[0]
    return crop, scale, keypoints


class TrainTransform:
    """One training sample: RGB image + GT -> crop (H, W, 3) RGB uint8 and crop keypoints."""

    def __init__(self, input_size: tuple[int, int], config: AugmentConfig) -> None:
        self.input_size = input_size
        self.config = config
        self.pixel = PixelAugment(config)

    def __call__(self, image_rgb: np.ndarray, bbox: np.ndarray, keypoints: np.ndarray, visible: np.ndarray,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        center, scale = (a[0] for a in bbox_xyxy_to_center_scale(bbox[None]))
        image, center, keypoints, visible = random_flip(image_rgb, center, keypoints, visible, rng, self.config.flip_prob)
        center, scale = random_half_body(center, scale, keypoints, visible, rng, self.config.half_body_prob)
        center, scale, rotation = random_bbox_transform(center, scale, rng, self.config)
        crop, _, keypoints = affine_crop(image, center, scale, rotation, self.input_size, keypoints)
        # (No lossy RGB-HSV round trip when the jitter is off.)
        if self.config.color == "hsv" and any(self.config.hsv_delta):
            crop = hsv_jitter(crop, rng, self.config.hsv_delta)
        elif self.config.color == "photometric":
            crop = photometric_distortion(crop, rng)
        crop = self.pixel(crop, rng)
        return crop, keypoints, visible
