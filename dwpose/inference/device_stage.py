"""The device-side steps of the pose stage: the image uploaded once, and person crops warped
from it with OpenCV 4.x's own `warpAffine` arithmetic (INTER_LINEAR, constant-0 border) as
tensor operations, so that the crops equal `cv2.warpAffine`'s byte for byte.

OpenCV 4.x warps 8-bit images in fixed point (imgwarp.cpp, `WarpAffineInvoker` + `remap`):
- the 2x3 matrix is inverted in double precision; per output column x it keeps
  `round(M00*x*1024)`, `round(M10*x*1024)`, per output row y `round((M01*y + M02)*1024) + 16`,
  `round((M11*y + M12)*1024) + 16` (round half to even, AB_BITS = 10, round_delta = 16);
- a pixel's source position is `(row + column) >> 5`: integer part `>> 5`, 1/32 fraction `& 31`;
- the four neighbours are blended with 15-bit weights `(32 - fy or fy) * (32 - fx or fx) * 32`
  and rounded as `(sum + 2**14) >> 15`; neighbours outside the image read 0.
The first two steps are cheap per box and run on the host in float64 exactly as OpenCV does;
the per-pixel integer work runs on the device."""

from __future__ import annotations

import numpy as np
import torch

AB_BITS = 10          # fixed-point bits of the source coordinates in WarpAffineInvoker
INTER_BITS = 5        # 1/32-pixel interpolation table
ROUND_DELTA = (1 << AB_BITS) // (1 << INTER_BITS) // 2
BLEND_BITS = 2 * INTER_BITS  # the 15-bit table weights are (wy * wx) << 5; dropping the common 5 bits is exact


def upload(array: np.ndarray, device: torch.device) -> torch.Tensor:
    """`array` as a tensor on `device` (through pinned memory, asynchronously, on CUDA)."""
    tensor = torch.from_numpy(np.ascontiguousarray(array))
    if device.type == "cuda":
        tensor = tensor.pin_memory()
    return tensor.to(device, non_blocking=True)


def _inverse_affine(matrices: np.ndarray) -> np.ndarray:
    """Inverse of (N, 2, 3) forward matrices, in OpenCV's operation order (float64)."""
    m = np.asarray(matrices, np.float64).reshape(-1, 6).T.copy()  # rows m[0..5] = M[0..5]
    det = m[0] * m[4] - m[1] * m[3]
    det = np.divide(1.0, det, out=np.zeros_like(det), where=det != 0)
    a11, a22 = m[4] * det, m[0] * det
    m[0], m[1], m[3], m[4] = a11, m[1] * -det, m[3] * -det, a22
    b1 = -m[0] * m[2] - m[1] * m[5]
    b2 = -m[3] * m[2] - m[4] * m[5]
    m[2], m[5] = b1, b2
    return m


def _round_to_int32(values: np.ndarray) -> np.ndarray:
    """OpenCV's saturate_cast<int>(double): round half to even, saturated."""
    info = np.iinfo(np.int32)
    return np.clip(np.rint(values), info.min, info.max).astype(np.int32)


def warp_coordinates(matrices: np.ndarray, output_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """OpenCV's fixed-point source coordinates for forward warp matrices (N, 2, 3) to an output
    of (W, H): per-row terms `rows` (N, 2, H) and per-column terms `columns` (N, 2, W), int32
    (index 0: x, 1: y); output pixel (x, y) reads source `(rows[:, :, y] + columns[:, :, x]) / 1024`."""
    width, height = output_size
    m = _inverse_affine(matrices)
    scale = float(1 << AB_BITS)
    x = np.arange(width, dtype=np.float64)
    y = np.arange(height, dtype=np.float64)
    columns = np.stack([_round_to_int32(m[0][:, None] * x * scale), _round_to_int32(m[3][:, None] * x * scale)], 1)
    rows = np.stack([_round_to_int32((m[1][:, None] * y + m[2][:, None]) * scale),
                     _round_to_int32((m[4][:, None] * y + m[5][:, None]) * scale)], 1) + ROUND_DELTA
    return rows.astype(np.int32), columns


SHORT_MIN, SHORT_MAX = -32768, 32767  # OpenCV keeps the integer source position in a short map


def source_window(rows: np.ndarray, columns: np.ndarray, image_hw: tuple[int, int]) -> tuple[int, int, int, int]:
    """The part (x0, y0, x1, y1) of an image of size `image_hw` that crops with these
    `warp_coordinates` read (every in-image neighbour of every crop pixel): uploading only it
    gives the same crops, and a small person in a large frame moves far fewer bytes."""
    h, w = image_hw
    # floor(floor(v / 32) / 32) == floor(v / 1024); the sum of row and column terms is smallest
    # (largest) where both are.
    low = (rows.min(axis=2).astype(np.int64) + columns.min(axis=2)).min(axis=0) >> AB_BITS
    high = (rows.max(axis=2).astype(np.int64) + columns.max(axis=2)).max(axis=0) >> AB_BITS
    low, high = np.clip(low, SHORT_MIN, SHORT_MAX), np.clip(high, SHORT_MIN, SHORT_MAX) + 1  # + the right/lower neighbour
    x0, x1 = int(np.clip(low[0], 0, w)), int(np.clip(high[0] + 1, 0, w))
    y0, y1 = int(np.clip(low[1], 0, h)), int(np.clip(high[1] + 1, 0, h))
    if x0 >= x1 or y0 >= y1:  # the crops read no image pixel: any in-image window will do
        return 0, 0, 1, 1
    return x0, y0, x1, y1


def warp_crops(window: torch.Tensor, rows: torch.Tensor, columns: torch.Tensor,
               origin: tuple[int, int] = (0, 0)) -> torch.Tensor:
    """Crops (N, H, W, C) uint8 of an image, from the int32 `warp_coordinates` (on the device
    of `window`): `cv2.warpAffine(INTER_LINEAR, BORDER_CONSTANT 0)` byte for byte. `window` is
    the image (h, w, C) uint8, or the part of it from `source_window` whose top-left corner is
    at `origin` (x, y) in the image."""
    h, w, channels = window.shape
    # 1/32-pixel source positions; >> is an arithmetic (floor) shift on signed integers, as in C.
    fixed_x = (rows[:, 0, :, None] + columns[:, 0, None, :]) >> (AB_BITS - INTER_BITS)
    fixed_y = (rows[:, 1, :, None] + columns[:, 1, None, :]) >> (AB_BITS - INTER_BITS)
    fx = fixed_x & ((1 << INTER_BITS) - 1)
    fy = fixed_y & ((1 << INTER_BITS) - 1)
    # Constant-0 border: the window gets a 2-pixel zero frame, and a top-left neighbour beyond it
    # is moved onto it (both of its neighbours are outside the image then, and read 0 alike).
    border = 2
    x0 = ((fixed_x >> INTER_BITS).clamp(SHORT_MIN, SHORT_MAX) - origin[0]).clamp(-border, w) + border
    y0 = ((fixed_y >> INTER_BITS).clamp(SHORT_MIN, SHORT_MAX) - origin[1]).clamp(-border, h) + border
    stride = w + 2 * border
    pixels = torch.nn.functional.pad(window, (0, 0, border, border, border, border)).reshape(-1, channels)
    top_left = (y0 * stride + x0).reshape(-1)

    def neighbour(offset: int) -> torch.Tensor:
        return pixels.index_select(0, top_left + offset).reshape(*x0.shape, channels).to(torch.int32)

    one = 1 << INTER_BITS
    weight_x0, weight_x1 = (one - fx).unsqueeze(-1), fx.unsqueeze(-1)
    weight_y0, weight_y1 = (one - fy).unsqueeze(-1), fy.unsqueeze(-1)
    # OpenCV's 15-bit weights are (wy * wx) << 5 and it rounds (sum + 2**14) >> 15: the same
    # integer as the separable sum below rounded (sum + 2**9) >> 10.
    upper = neighbour(0) * weight_x0 + neighbour(1) * weight_x1
    lower = neighbour(stride) * weight_x0 + neighbour(stride + 1) * weight_x1
    total = upper * weight_y0 + lower * weight_y1
    return ((total + (1 << (BLEND_BITS - 1))) >> BLEND_BITS).to(torch.uint8)
