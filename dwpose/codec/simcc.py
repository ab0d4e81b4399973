"""SimCC coordinate classification: Gaussian label encoding for training and argmax decoding
for inference, side by side (mmpose `SimCCLabel` semantics, split ratio 2, no DARK)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence, TypeVar

import numpy as np
import torch

from ..errors import InputError

ArrayT = TypeVar("ArrayT", np.ndarray, torch.Tensor)

# SimCC label sigma (x, y) in bins for each supported input size (width, height). mmpose's two
# values follow sigma = 4 * sqrt(side / 128) per axis; (96, 128) continues that rule for the small
# models trained on synthetic data (`dwpose synth`, benchmarks/synth_tpd.py).
SIGMA_BY_INPUT_SIZE: dict[tuple[int, int], tuple[float, float]] = {
    (192, 256): (4.9, 5.66),
    (288, 384): (6.0, 6.93),
    (96, 128): (3.46, 4.0),
}


@dataclass(frozen=True)
class SimCCCodec:
    """Encoder/decoder between keypoints in input-crop pixels and SimCC bins.

    `input_size` is (width, height); one bin is 1/`split_ratio` input pixel. `sigma` (bins) is
    needed for encoding only.
    """

    input_size: tuple[int, int]
    sigma: tuple[float, float] | None = None
    split_ratio: float = 2.0

    @classmethod
    def for_input_size(cls, input_size: tuple[int, int], split_ratio: float = 2.0,
                       for_training: bool = True) -> "SimCCCodec":
        input_size = (int(input_size[0]), int(input_size[1]))
        if input_size not in SIGMA_BY_INPUT_SIZE and for_training:
            raise InputError(f"no SimCC sigma known for input size {input_size}; pass sigma explicitly")
        return cls(input_size, SIGMA_BY_INPUT_SIZE.get(input_size), split_ratio)

    @property
    def bins(self) -> tuple[int, int]:
        """Number of bins (x, y)."""
        return (int(round(self.input_size[0] * self.split_ratio)), int(round(self.input_size[1] * self.split_ratio)))

    # ------------------------------------------------------------------ encode
    def encode(
        self, keypoints: np.ndarray, visible: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Gaussian labels for keypoints (N, K, 2) in input pixels with visibility (N, K).

        Returns `labels_x` (N, K, Wx), `labels_y` (N, K, Hy) float32 with peak 1 (not
        normalised), and `weights` (N, K) float32. A keypoint keeps weight 1 while its 3-sigma
        window overlaps the bins, even if the point itself is outside the crop.
        """
        if self.sigma is None:
            raise InputError("this SimCCCodec has no sigma: it can decode but not encode")
        keypoints = np.asarray(keypoints, dtype=np.float64)
        visible = np.asarray(visible, dtype=np.float32)
        if keypoints.ndim != 3 or keypoints.shape[-1] != 2 or visible.shape != keypoints.shape[:2]:
            raise InputError(f"expected keypoints (N, K, 2) and visible (N, K), got {keypoints.shape} and {visible.shape}")
        bins_x, bins_y = self.bins
        sigma = np.asarray(self.sigma, dtype=np.float64)
        mu = np.around(keypoints * self.split_ratio).astype(np.int64)  # half-to-even, as numpy
        radius = 3.0 * sigma
        outside = (
            (mu[..., 0] - radius[0] >= bins_x) | (mu[..., 1] - radius[1] >= bins_y)
            | (mu[..., 0] + radius[0] + 1 < 0) | (mu[..., 1] + radius[1] + 1 < 0)
        )
        weights = visible.copy()
        active = visible >= 0.5
        weights[active & outside] = 0.0
        keep = (active & ~outside)[..., None]
        grid_x = np.arange(bins_x, dtype=np.float64)
        grid_y = np.arange(bins_y, dtype=np.float64)
        labels_x = np.exp(-((grid_x - mu[..., :1]) ** 2) / (2 * sigma[0] ** 2)) * keep
        labels_y = np.exp(-((grid_y - mu[..., 1:]) ** 2) / (2 * sigma[1] ** 2)) * keep
        return labels_x.astype(np.float32), labels_y.astype(np.float32), weights

    # ------------------------------------------------------------------ decode
    def decode(self, simcc_x: ArrayT, simcc_y: ArrayT) -> tuple[ArrayT, ArrayT]:
        """Keypoints (N, K, 2) in input pixels and scores (N, K) from raw logits.

        Location = argmax per axis / split ratio; score = min of the two per-axis maxima of the
        raw logits (no softmax); a keypoint with score <= 0 gets location -1 bin (-1/split px).
        Works on NumPy arrays and on torch tensors (on any device).
        """
        if simcc_x.ndim != 3 or simcc_y.ndim != 3 or simcc_x.shape[:2] != simcc_y.shape[:2]:
            raise InputError(f"expected simcc_x (N, K, Wx) and simcc_y (N, K, Hy), got {tuple(simcc_x.shape)} and {tuple(simcc_y.shape)}")
        if isinstance(simcc_x, torch.Tensor):
            max_x, ix = simcc_x.max(dim=-1)
            max_y, iy = simcc_y.max(dim=-1)
            scores = torch.minimum(max_x, max_y)
            locations = torch.stack((ix, iy), dim=-1).to(torch.float32)
            locations[scores <= 0] = -1.0
            return locations / self.split_ratio, scores
        simcc_x, simcc_y = np.asarray(simcc_x), np.asarray(simcc_y)
        ix, iy = simcc_x.argmax(axis=-1), simcc_y.argmax(axis=-1)
        max_x, max_y = simcc_x.max(axis=-1), simcc_y.max(axis=-1)
        scores = np.minimum(max_x, max_y)
        locations = np.stack((ix, iy), axis=-1).astype(np.float32)
        locations[scores <= 0] = -1.0
        return locations / np.float32(self.split_ratio), scores


    def decode_visibility(self, simcc_x: ArrayT, simcc_y: ArrayT, beta: float = 150.0) -> ArrayT:
        """Visibility (N, K) in [0, 1] as the RTMW 384x288 configs decode it (mmpose
        `decode_visibility=True`, `decode_beta` 150): the min-of-maxima rule of `decode` applied
        to softmax(logits * beta * sigma) over the bins of each axis. Needs `sigma`."""
        if self.sigma is None:
            raise InputError("this SimCCCodec has no sigma: visibility decoding needs it")
        if isinstance(simcc_x, torch.Tensor):
            prob_x = torch.softmax(simcc_x.float() * (beta * self.sigma[0]), dim=-1).amax(dim=-1)
            prob_y = torch.softmax(simcc_y.float() * (beta * self.sigma[1]), dim=-1).amax(dim=-1)
            return torch.minimum(prob_x, prob_y)
        maxima = []
        for logits, sigma in ((simcc_x, self.sigma[0]), (simcc_y, self.sigma[1])):
            scaled = np.asarray(logits, np.float64) * (beta * sigma)
            # Softmax maximum = 1 / sum(exp(x - max)), computed stably.
            maxima.append(1.0 / np.exp(scaled - scaled.max(axis=-1, keepdims=True)).sum(axis=-1))
        return np.minimum(*maxima).astype(np.float32)


def flip_simcc_back(
    simcc_x: ArrayT, simcc_y: ArrayT, flip_indices: Sequence[int]
) -> tuple[ArrayT, ArrayT]:
    """Map the outputs of a horizontally flipped input back to the original frame: swap
    left/right keypoints on both axes and reverse the x bins (mmpose flip test, including its
    uncompensated +1 bin shift)."""
    index = list(flip_indices)
    if isinstance(simcc_x, torch.Tensor):
        return simcc_x[:, index].flip(-1), simcc_y[:, index]
    return simcc_x[:, index][..., ::-1], simcc_y[:, index]
