"""Compact SimCC logits for offline logit distillation: the top-k bins of each keypoint and axis.

What is kept per person, keypoint and axis (x and y alike):
- `bins`   (k,) uint16: the indices of the k largest logits, largest first;
- `values` (k,) float16: those logits minus the largest one (so values[0] == 0, the rest <= 0);
- `tail`   ()   float16: the one logit value (also relative to the largest) that, given to
  each of the other B - k bins, keeps their total probability under softmax(beta * logits) —
  the temperature of the distillation loss (beta = 10) — what it was:
  tail = (logsumexp(beta * z_rest) - log(B - k)) / beta - max(z).

`expand_topk` rebuilds an approximate logit vector of B bins from these: `tail` everywhere, the
k stored values at their bins. softmax(beta * .) of it equals the teacher's on the k bins (to
float16 precision) and puts the right total mass on the others, spread evenly; the absolute
level is lost, which the softmax-based KD loss never sees. Differences to the top are stored,
not the logits themselves, so float16 keeps ~3 significant digits where the mass is.

Size: 8 + 2 * K * (4k + 2) bytes per person (K = 133, with its 8-byte annotation id): 9052 bytes
at k = 8, against
4 * K * (Bx + By) bytes for float32 logits (476 672 at 256x192, 714 856 at 384x288).
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError

KD_BETA = 10.0  # the logit multiplier of the KD loss (distillation.losses.LogitKDLoss)
DEFAULT_TOP_K = 8


def topk_dtype(num_keypoints: int, k: int) -> np.dtype:
    """The record of one person in a logits file: its annotation id, then x and y top-k data."""
    fields = [("annotation_id", "<i8")]
    for axis in ("x", "y"):
        fields += [(f"{axis}_bins", "<u2", (num_keypoints, k)), (f"{axis}_values", "<f2", (num_keypoints, k)),
                   (f"{axis}_tail", "<f2", (num_keypoints,))]
    return np.dtype(fields)


def compress_topk(logits: np.ndarray, k: int = DEFAULT_TOP_K, beta: float = KD_BETA
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N, K, B) logits of one axis -> bins (N, K, k) uint16, values (N, K, k) float16 and
    tail (N, K) float16 (see the module docstring)."""
    logits = np.asarray(logits, np.float64)
    num_bins = logits.shape[-1]
    if not 1 <= k < num_bins:
        raise InputError(f"top-k must be between 1 and {num_bins - 1} for {num_bins} bins, got {k}")
    if num_bins > np.iinfo(np.uint16).max:
        raise InputError(f"{num_bins} bins do not fit uint16 indices")
    # Largest first; ties broken by the lower bin so the result does not depend on the sort.
    order = np.argsort(-logits, axis=-1, kind="stable")
    bins = order[..., :k]
    top = np.take_along_axis(logits, bins, axis=-1)
    peak = top[..., :1]
    rest = np.take_along_axis(logits, order[..., k:], axis=-1)
    scaled = beta * (rest - peak)
    rest_lse = np.log(np.exp(scaled - scaled.max(-1, keepdims=True)).sum(-1)) + scaled.max(-1)
    tail = (rest_lse - np.log(num_bins - k)) / beta
    return bins.astype(np.uint16), (top - peak).astype(np.float16), tail.astype(np.float16)


def expand_topk(bins: np.ndarray, values: np.ndarray, tail: np.ndarray, num_bins: int) -> np.ndarray:
    """Approximate logits (N, K, num_bins) float32 from `compress_topk`'s output."""
    bins = np.asarray(bins, np.int64)
    if bins.size and int(bins.max()) >= num_bins:
        raise InputError(f"stored bin {int(bins.max())} is outside {num_bins} bins (wrong model or input size?)")
    out = np.repeat(np.asarray(tail, np.float32)[..., None], num_bins, axis=-1)
    np.put_along_axis(out, bins, np.asarray(values, np.float32), axis=-1)
    return out


def pack_persons(annotation_ids: np.ndarray, simcc_x: np.ndarray, simcc_y: np.ndarray,
                 k: int = DEFAULT_TOP_K) -> np.ndarray:
    """Structured records (`topk_dtype`) of persons' logits, one per annotation id."""
    num_persons, num_keypoints = simcc_x.shape[:2]
    records = np.zeros(num_persons, topk_dtype(num_keypoints, k))
    records["annotation_id"] = annotation_ids
    for axis, logits in (("x", simcc_x), ("y", simcc_y)):
        if num_persons:
            records[f"{axis}_bins"], records[f"{axis}_values"], records[f"{axis}_tail"] = compress_topk(logits, k)
    return records


def unpack_persons(records: np.ndarray, bins: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Approximate (simcc_x, simcc_y) of structured records, for `bins` = (Bx, By)."""
    return tuple(expand_topk(records[f"{axis}_bins"], records[f"{axis}_values"], records[f"{axis}_tail"], n)
                 for axis, n in zip("xy", bins))
