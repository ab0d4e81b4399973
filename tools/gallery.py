"""Render the README's drawing-style gallery: one PNG per style of `dwpose.drawing.STYLES`, of the
ground-truth poses in docs/gallery/pose.json (two people of the COCO-WholeBody val sample; no
model weights are needed), written to docs/gallery/<style>.png.

    python tools/gallery.py            # rewrite docs/gallery/*.png
    python tools/gallery.py --out DIR  # somewhere else (the test compares the two)

tests/test_gallery.py checks that the committed images are this script's output, so a change of
a style shows up as a failing test until the gallery is regenerated."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
GALLERY = ROOT / "docs" / "gallery"
FIXTURE = GALLERY / "pose.json"


def gallery_images(fixture: Path = FIXTURE) -> dict[str, np.ndarray]:
    """style name -> RGB image of the fixture's poses drawn in that style (its defaults; the
    photo-style ones on black, as without `image=`)."""
    from dwpose.drawing import STYLES, render
    from dwpose.result import PoseResult

    data = json.loads(fixture.read_text(encoding="utf-8"))
    keypoints = np.array([p["keypoints"] for p in data["people"]], np.float32)
    scores = np.array([p["scores"] for p in data["people"]], np.float32)
    result = PoseResult.from_keypoints(keypoints, scores, tuple(data["image_size"]))
    return {name: render(result, name) for name in STYLES}


def write_gallery(out: Path = GALLERY) -> list[Path]:
    from dwpose.fileio import atomic_open

    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, rgb in gallery_images().items():
        ok, png = cv2.imencode(".png", np.ascontiguousarray(rgb[..., ::-1]), [cv2.IMWRITE_PNG_COMPRESSION, 9])
        if not ok:
            raise OSError(f"cannot encode the {name} image")
        path = out / f"{name}.png"
        with atomic_open(path, "wb") as handle:
            handle.write(png.tobytes())
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=GALLERY, help="folder for the PNGs (default: docs/gallery)")
    args = parser.parse_args(argv)
    for path in write_gallery(args.out):
        print(f"{path} ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))  # run from a clone without installing
    sys.exit(main())
