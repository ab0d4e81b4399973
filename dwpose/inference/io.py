"""Reading images robustly: every readable file becomes 8-bit BGR (OpenCV's convention);
anything else raises ImageReadError with the reason. Also the two ways OpenCV is kept away
from file names it cannot take: images are encoded and decoded in memory, and a video file is
handed to OpenCV under an ASCII alias."""

from __future__ import annotations

import contextlib
import os
import tempfile
import warnings
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from ..errors import ImageReadError, ImageTooLargeError, InputError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".jp2", ".pgm", ".ppm", ".pbm"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"}


# OpenCV's warpAffine (the person crops) takes sides below SHRT_MAX (32767) only: a larger image
# is refused up front with one line, in `check_image_size`, which the pipeline and `read_image` use.
MAX_IMAGE_SIDE = 32766
# The largest skeleton canvas or detection resolution (CLI --resolution, the adapters'
# detect_resolution / image_resolution, the ComfyUI node): more is a typo and would take tens of GB.
MAX_RESOLUTION = 16384


def check_image_size(width: int, height: int, what: str = "image") -> None:
    """Refuse an image a side of which OpenCV cannot crop from, naming the limit."""
    if max(width, height) > MAX_IMAGE_SIDE:
        raise ImageTooLargeError(f"{what}: {width}x{height} px, over the {MAX_IMAGE_SIDE} px per side dwpose "
                                 "takes (OpenCV's limit); downscale it first")


def image_header_size(path: str | os.PathLike) -> tuple[int, int] | None:
    """(width, height) from the file's header, no pixel decoded; None when Pillow does not know
    the format (the caller then checks the decoded image). Pillow's decompression-bomb guard is
    side-stepped here: it would refuse the very files whose size is asked for."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                return image.size
    except Image.DecompressionBombError:
        pass
    except Exception:  # not a format Pillow reads (or not an image): OpenCV's decode decides
        return None
    with open(path, "rb") as file:  # what Image.open does, without the bomb check
        prefix = file.read(16)
        for name in Image.ID:
            factory, accept = Image.OPEN[name]
            if accept is None or accept(prefix):
                file.seek(0)
                try:
                    with factory(file, str(path)) as image:
                        return image.size
                except Exception:
                    continue
    return None


def read_image(path: str | os.PathLike) -> np.ndarray:
    """BGR uint8 (H, W, 3). Grayscale, RGBA (alpha dropped), 16-bit (scaled to 8-bit) and
    EXIF-rotated JPEGs are converted the way OpenCV's colour decode does; non-ASCII paths work."""
    path = Path(path)
    if path.is_dir():
        raise ImageReadError(f"{path}: is a folder, not an image")
    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError as exc:
        raise ImageReadError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if data.size == 0:
        raise ImageReadError(f"{path}: empty file (0 bytes)")
    size = image_header_size(path)
    if size is not None:  # before decoding: a huge image is refused without taking its memory
        check_image_size(*size, what=str(path))
    image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        raise ImageReadError(f"{path}: not a decodable image (corrupt or unsupported format)")
    check_image_size(image.shape[1], image.shape[0], str(path))
    return image


def encode_png(image_bgr: np.ndarray) -> bytes:
    """PNG bytes of a BGR (or gray) uint8 image, encoded in memory: the caller writes them
    through `dwpose.fileio`, so OpenCV never sees the file name."""
    ok, data = cv2.imencode(".png", image_bgr)
    if not ok:
        raise InputError(f"cannot encode an image of shape {image_bgr.shape} as PNG")
    return data.tobytes()


@contextlib.contextmanager
def opencv_path(path: str | os.PathLike) -> Iterator[str]:
    """A name for `path` that OpenCV's file functions (VideoCapture, VideoWriter) can be given.

    OpenCV crashes (segfault) on a name that is not valid UTF-8 and mishandles non-ASCII names
    on some platforms, so a non-ASCII path is reached through an ASCII symlink in a temporary
    folder, removed when the block ends: a link to the file itself when its name is the
    problem, else a link to its folder (so that a new file can be created there too)."""
    text = str(path)
    if text.isascii():
        yield text
        return
    path = Path(os.path.abspath(path))
    with tempfile.TemporaryDirectory(prefix="dwpose-alias-") as folder:
        if path.name.isascii():
            link = Path(folder) / "folder"
            link.symlink_to(path.parent, target_is_directory=True)
            yield str(link / path.name)
        else:
            suffix = path.suffix if path.suffix.isascii() else ""  # decoders may look at it
            link = Path(folder) / f"file{suffix}"
            link.symlink_to(path)
            yield str(link)


def to_bgr(image: np.ndarray, channel_order: str = "bgr") -> np.ndarray:
    """Normalise an in-memory array to BGR uint8: gray, RGBA/BGRA, 16-bit and float in [0, 1]
    are accepted; `channel_order` says whether colour input is "bgr" (OpenCV) or "rgb" (PIL)."""
    array = np.asarray(image)
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)):
        raise InputError(f"expected an image of shape (H, W), (H, W, 3) or (H, W, 4), got {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise InputError(f"empty image of shape {array.shape}")
    if array.dtype == np.uint16:
        array = (array >> 8).astype(np.uint8)
    elif array.dtype in (np.float32, np.float64):
        array = np.clip(array * 255.0 if array.max() <= 1.0 else array, 0, 255).round().astype(np.uint8)
    elif array.dtype == bool:
        array = array.astype(np.uint8) * 255
    elif array.dtype != np.uint8:
        raise InputError(f"unsupported image dtype {array.dtype}")
    if array.ndim == 2 or array.shape[2] == 1:
        return cv2.cvtColor(array.reshape(array.shape[0], array.shape[1]), cv2.COLOR_GRAY2BGR)
    if array.shape[2] == 4:
        array = array[..., :3]
    if channel_order == "rgb":
        array = array[..., ::-1]
    elif channel_order != "bgr":
        raise InputError(f"channel_order must be 'bgr' or 'rgb', got {channel_order!r}")
    return np.ascontiguousarray(array)


def from_pil(image: object) -> np.ndarray:
    """BGR uint8 from a PIL image of any mode (EXIF orientation applied)."""
    from PIL import Image, ImageOps

    if not isinstance(image, Image.Image):
        raise TypeError(f"expected a PIL image, got {type(image).__name__}")
    image = ImageOps.exif_transpose(image)
    if image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    return to_bgr(np.asarray(image), "rgb")
