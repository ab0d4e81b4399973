"""The README's drawing-style gallery (docs/gallery/*.png) is what tools/gallery.py draws now: a
change of a style fails here until the gallery is regenerated (`python tools/gallery.py`)."""

import importlib.util
from pathlib import Path

import cv2
import numpy as np

from dwpose.drawing import STYLES

ROOT = Path(__file__).resolve().parents[1]


def load_script():
    spec = importlib.util.spec_from_file_location("gallery", ROOT / "tools" / "gallery.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_gallery_is_the_scripts_output(tmp_path):
    gallery = load_script()
    drawn = gallery.gallery_images()
    assert sorted(drawn) == sorted(STYLES)  # one image per style, no stale extra
    committed = sorted(p.stem for p in (ROOT / "docs" / "gallery").glob("*.png"))
    assert committed == sorted(STYLES)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name, rgb in drawn.items():
        assert rgb.any(), name  # the poses are drawn, not a blank canvas
        png = ROOT / "docs" / "gallery" / f"{name}.png"
        stored = cv2.imread(str(png), cv2.IMREAD_COLOR)
        assert stored is not None and stored.shape == rgb.shape, name
        np.testing.assert_array_equal(stored[..., ::-1], rgb, err_msg=f"{png} is stale: run python tools/gallery.py")
        assert f"](docs/gallery/{name}.png)" in readme, name
    assert sum(p.stat().st_size for p in (ROOT / "docs" / "gallery").iterdir()) < 1_000_000
    # the script writes what it draws (PNG is lossless)
    written = gallery.write_gallery(tmp_path)
    assert sorted(p.stem for p in written) == sorted(STYLES)
    again = cv2.imread(str(tmp_path / "controlnet.png"), cv2.IMREAD_COLOR)
    np.testing.assert_array_equal(again[..., ::-1], drawn["controlnet"])
