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
