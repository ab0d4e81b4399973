import json

import numpy as np
import pytest

from dwpose.drawing import draw_openpose, output_size_for, overlay
from dwpose.formats import PoseResult
from tests.conftest import DATA


@pytest.fixture(scope="module")
def ground_truth():
    """COCO-WholeBody GT of the first sample image, as a result with scores 1 (labelled) / 0."""
    data = json.loads((DATA / "coco_wholebody_val_sample" / "test_coco_wholebody.json").read_text())
    image = data["images"][0]
    anns = [a for a in data["annotations"] if a["image_id"] == image["id"]]
    triples = np.array([np.concatenate([np.reshape(a[k], (-1, 3)) for k in
                        ("keypoints", "foot_kpts", "face_kpts", "lefthand_kpts", "righthand_kpts")]) for a in anns])
    return PoseResult.from_keypoints(triples[..., :2], (triples[..., 2] > 0).astype(np.float32),
                                     (image["width"], image["height"]))


def colours(canvas):
    return {tuple(c) for c in canvas.reshape(-1, 3)}


def test_reference_style(ground_truth):
    canvas = draw_openpose(ground_truth)
    assert canvas.shape == (ground_truth.image_size[1], ground_truth.image_size[0], 3)
    present = colours(canvas)
    assert (153, 0, 0) in present          # limb 0 (neck - right shoulder) at 60 %
    assert (255, 255, 255) in present      # face dots
    assert (0, 0, 255) in present          # hand joints
    assert canvas[0, 0].tolist() == [0, 0, 0]
    # Joint discs (full colour) sit exactly on the keypoints: the nose and neck of person 0.
    body = draw_openpose(ground_truth, include_face=False, include_hand=False)
    info = ground_truth.to_openpose134()[0]
    assert tuple(body[int(info[0, 1]), int(info[0, 0])]) == (255, 0, 0)
    assert tuple(body[int(info[1, 1]), int(info[1, 0])]) == (255, 85, 0)


def test_toggles_remove_parts(ground_truth):
    no_face = colours(draw_openpose(ground_truth, include_face=False))
    assert (255, 255, 255) not in no_face
    from dwpose.drawing.openpose import HAND_EDGE_COLORS

    hands = draw_openpose(ground_truth, include_body=False, include_face=False)
    palette = {tuple(int(round(v)) for v in c) for c in HAND_EDGE_COLORS} | {(0, 0, 255), (0, 0, 0)}
    assert hands.any()
    assert all(min(abs(np.subtract(c, p)).max() for p in palette) <= 1 for c in colours(hands))
    only_body = draw_openpose(ground_truth, include_hand=False, include_face=False)
    none = draw_openpose(ground_truth, include_body=False, include_hand=False, include_face=False)
    assert only_body.any() and not none.any()
    feet = draw_openpose(ground_truth, include_body=False, include_hand=False, include_face=False, include_foot=True)
    assert feet.any()


def test_output_resolution_keeps_aspect(ground_truth):
    size = output_size_for(ground_truth.image_size, 256)
    canvas = draw_openpose(ground_truth, size)
    assert min(canvas.shape[:2]) == 256
    w, h = ground_truth.image_size
    assert abs(canvas.shape[1] / canvas.shape[0] - w / h) < 0.01


def test_draw_keypoints_is_draw_openpose_on_arrays(ground_truth):
    from dwpose.drawing import draw_keypoints

    canvas = draw_keypoints(ground_truth.keypoints, ground_truth.scores, ground_truth.image_size, include_face=False)
    np.testing.assert_array_equal(canvas, draw_openpose(ground_truth, include_face=False))


def test_empty_result_and_overlay():
    empty = PoseResult.empty((40, 30))
    assert not draw_openpose(empty).any()
    photo = np.full((30, 40, 3), 9, np.uint8)
    skeleton = np.zeros((30, 40, 3), np.uint8)
    skeleton[5, 5] = (255, 0, 0)
    out = overlay(photo, skeleton)
    assert tuple(out[5, 5]) == (255, 0, 0) and tuple(out[0, 0]) == (9, 9, 9)
