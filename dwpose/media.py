"""What dwpose takes as input: which files are images and which videos (by suffix, lower case),
and how large an image or drawing may be. A leaf module, so that the CLI, the web demo, `label`,
the UBody frame extraction, drawing and the OpenPose JSON reader share one statement of each."""

from __future__ import annotations

from .errors import ImageTooLargeError

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".jp2", ".pgm", ".ppm",
                            ".pbm"})
VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"})

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
