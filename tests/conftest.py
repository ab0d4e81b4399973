from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
REFERENCE = SHARED / "reference"
DATA = SHARED / "data"


@pytest.fixture(scope="session")
def reference() -> Path:
    assert REFERENCE.is_dir(), f"reference fixtures missing: {REFERENCE} (shared/ must sit beside the repo)"
    return REFERENCE


@pytest.fixture(scope="session")
def t_input(reference: Path) -> np.ndarray:
    return np.load(reference / "rtmpose_t_256x192_input.npy")


@pytest.fixture(scope="session")
def t_checkpoint(reference: Path) -> Path:
    return reference / "rtmpose_t_256x192_random.pth"


@pytest.fixture(scope="session")
def yolox_s_onnx(tmp_path_factory) -> Path:
    """A random-weight YOLOX-s exported with the official signature (images -> output)."""
    import torch

    from dwpose.models.onnx_io import YOLOX_IO_NAMES, export_onnx
    from dwpose.models import create_model

    torch.manual_seed(0)
    model = create_model("yolox-s")
    path = tmp_path_factory.mktemp("yolox") / "yolox_s_random.onnx"
    export_onnx(model, path, dynamic_batch=False, input_name=YOLOX_IO_NAMES[0], output_names=YOLOX_IO_NAMES[1])
    return path


@pytest.fixture(scope="session")
def nobody_onnx(tmp_path_factory) -> Path:
    """A YOLOX-s whose class scores are ~0 everywhere: it never finds a person."""
    import torch

    from dwpose.models.onnx_io import YOLOX_IO_NAMES, export_onnx
    from dwpose.models import create_model

    model = create_model("yolox-s")
    with torch.no_grad():
        for pred in model.head.cls_preds:
            pred.weight.zero_()
            pred.bias.fill_(-30.0)
    path = tmp_path_factory.mktemp("yolox") / "nobody.onnx"
    export_onnx(model, path, dynamic_batch=False, input_name=YOLOX_IO_NAMES[0], output_names=YOLOX_IO_NAMES[1])
    return path


@pytest.fixture(scope="session")
def pose_onnx(reference: Path) -> Path:
    return reference / "rtmpose_t_256x192_random.onnx"


@pytest.fixture(scope="session")
def sample_bgr() -> np.ndarray:
    import cv2

    return cv2.imread(str(DATA / "media" / "human-pose.jpeg"))


@pytest.fixture(scope="session")
def clip(tmp_path_factory) -> Path:
    """A 7-frame 10 fps video whose bright block moves: a detector's boxes change from frame to frame."""
    import cv2

    from tests.media import write_video

    frames = []
    for i in range(7):
        frame = np.full((96, 128, 3), 40, np.uint8)
        cv2.rectangle(frame, (10 + 8 * i, 20), (60 + 8 * i, 90), (200, 180, 160), -1)
        frames.append(frame)
    return write_video(tmp_path_factory.mktemp("clip") / "clip.avi", frames)


@pytest.fixture(scope="session")
def installed_venv(tmp_path_factory):
    """A wheel of this checkout installed (not editable) into a fresh venv: tests/package_install.py."""
    from tests.package_install import build_wheel, make_venv

    out = tmp_path_factory.mktemp("package")
    return make_venv(out / "venv", build_wheel(out))
