"""OpenPose JSON parity with comfyui_controlnet_aux: `to_openpose_json(controlnet_compat=True)` is
what its `encode_poses_as_dict` wrote for the sample poses (shared/reference/styles/comfyui_*.json),
and decoding it the way comfyui's `decode_json_as_poses` does redraws comfyui's image exactly."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dwpose.drawing.comfyui import ComfyPose, draw_comfyui
from dwpose.result import PoseResult
from tests.test_styles import STYLE_REFERENCE, read_rgb, reference_result

JSONS = sorted(STYLE_REFERENCE.glob("comfyui_*.json"))


def test_reference_jsons_present():
    assert len(JSONS) == 8


@pytest.mark.parametrize("path", JSONS, ids=[p.stem for p in JSONS])
def test_controlnet_compat_json_is_comfyuis(path):
    _, image_id, case = path.stem.rsplit("_", 2)
    ours = reference_result(image_id, case).to_openpose_json(controlnet_compat=True)
    # Exact: same keys in the same order, same structure, same float values (no tolerance needed:
    # coordinates are written unrounded, as comfyui writes them, so even the text is identical).
    assert ours == json.loads(path.read_text())
    assert json.dumps(ours) == path.read_text().strip()


def decode_like_comfyui(pose_json: dict) -> tuple[list[ComfyPose], int, int]:
    """comfyui's `decode_json_as_poses`: flat x, y, c triples; c < 1.0 is an absent point; an
    empty or missing list is None."""
    def points(numbers):
        if not numbers:
            return None
        assert len(numbers) % 3 == 0
        triples = zip(numbers[0::3], numbers[1::3], numbers[2::3])
        return [None if c < 1.0 else (x, y) for x, y, c in triples]

    poses = [ComfyPose(points(person.get("pose_keypoints_2d")), points(person.get("hand_left_keypoints_2d")),
                       points(person.get("hand_right_keypoints_2d")), points(person.get("face_keypoints_2d")))
             for person in pose_json.get("people", [])]
    return poses, pose_json["canvas_height"], pose_json["canvas_width"]


@pytest.mark.parametrize("path", JSONS, ids=[p.stem for p in JSONS])
@pytest.mark.parametrize("xinsir", [False, True], ids=["comfyui", "xinsir"])
def test_our_json_redraws_comfyuis_image(path, xinsir):
    _, image_id, case = path.stem.rsplit("_", 2)
    ours = reference_result(image_id, case).to_openpose_json(controlnet_compat=True)
    poses, height, width = decode_like_comfyui(json.loads(json.dumps(ours)))
    redrawn = draw_comfyui(poses, (width, height), xinsr_stick_scaling=xinsir)
    expected = read_rgb(STYLE_REFERENCE / f"comfyui{'_xinsir' if xinsir else ''}_{image_id}_{case}.png")
    np.testing.assert_array_equal(redrawn, expected)


def test_default_json_decodes_to_nothing_in_comfyui_but_compat_does_not():
    """The reason for controlnet_compat: comfyui's reader drops every real score below 1.0."""
    result = reference_result("000000000785", "rand")
    scored = decode_like_comfyui(result.to_openpose_json())[0][0]
    compat = decode_like_comfyui(result.to_openpose_json(controlnet_compat=True))[0][0]
    assert all(p is None for p in scored.body) and any(p is not None for p in compat.body)


def test_face_rule_and_absent_points():
    keypoints = np.random.default_rng(0).uniform(5, 95, (1, 133, 2))
    scores = np.full((1, 133), 0.9)
    scores[0, 23:91] = 0.1   # all 68 face points absent, the eyes (body 1, 2) present
    data = PoseResult.from_keypoints(keypoints, scores, (100, 100)).to_openpose_json(controlnet_compat=True)
    assert data["people"][0]["face_keypoints_2d"] is None
    scores[0, 40] = 0.3      # one face point at exactly the threshold: present (>= 0.3)
    scores[0, 2] = 0.0       # right eye absent: written as 0, 0, 0 in the face's 70
    person = PoseResult.from_keypoints(keypoints, scores, (100, 100)).to_openpose_json(controlnet_compat=True)["people"][0]
    face = person["face_keypoints_2d"]
    assert len(face) == 210 and face[3 * 17:3 * 17 + 3] == [*keypoints[0, 40], 1.0]
    assert face[204:207] == [0.0, 0.0, 0.0] and face[207:210] == [*keypoints[0, 1], 1.0]
    assert person["pose_keypoints_2d"][42:45] == [0.0, 0.0, 0.0]  # OpenPose 14 = right eye
