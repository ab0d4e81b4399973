import json

import numpy as np
import pytest

from dwpose import skeleton
from tests.conftest import REFERENCE


def test_layout_sizes():
    assert len(skeleton.KEYPOINT_NAMES) == 133
    assert skeleton.SIGMAS.shape == (133,)
    assert [b - a for a, b in skeleton.PARTS.values()] == [17, 6, 68, 21, 21]
    assert skeleton.part_sigmas("left_hand").tolist() == skeleton.part_sigmas("right_hand").tolist()
    assert skeleton.SIGMAS[0] == 0.026 and skeleton.SIGMAS[17] == 0.068


@pytest.mark.parametrize("part", ["body", "foot", "face", "left_hand", "right_hand"])
def test_sigmas_are_mmposes(part):
    """All 133 OKS sigmas, part by part, equal mmpose's COCO-WholeBody metainfo (which keeps
    them as float32; ours are the decimal values, so they agree exactly once cast)."""
    reference = json.loads((REFERENCE / "coco_wholebody_sigmas.json").read_text())["sigmas"]
    assert len(reference) == skeleton.NUM_KEYPOINTS == 133
    start, stop = skeleton.PARTS[part]
    expected = np.asarray(reference[start:stop], np.float32)
    np.testing.assert_array_equal(skeleton.part_sigmas(part).astype(np.float32), expected)
    np.testing.assert_array_equal(skeleton.SIGMAS[start:stop].astype(np.float32), expected)
    # The float64 values are the float32 ones' nearest decimals, not something 1e-7 away.
    np.testing.assert_allclose(skeleton.SIGMAS[start:stop], expected, rtol=1e-7, atol=0)


def test_flip_indices_are_an_involution_swapping_sides():
    flip = skeleton.FLIP_INDICES
    assert all(flip[flip[i]] == i for i in range(133))
    assert sorted(i for i in range(133) if flip[i] == i) == [0, 31, 50, 51, 52, 53, 56, 74, 80, 85, 89]
    for i, j in enumerate(flip):
        name_i, name_j = skeleton.KEYPOINT_NAMES[i], skeleton.KEYPOINT_NAMES[j]
        if name_i.startswith(("left", "right")) and i != j:
            assert name_i.replace("left", "#").replace("right", "left").replace("#", "right") == name_j


def test_links_stay_in_range():
    assert len(skeleton.SKELETON_LINKS) == 65
    assert all(0 <= a < 133 and 0 <= b < 133 and a != b for a, b in skeleton.SKELETON_LINKS)
