import numpy as np

from dwpose.result import PoseResult


def make_result(scores_value=0.9):
    rng = np.random.default_rng(0)
    keypoints = rng.uniform(10, 90, size=(2, 133, 2)).astype(np.float32)
    scores = np.full((2, 133), scores_value, np.float32)
    return PoseResult(np.array([[0, 0, 100, 100], [5, 5, 50, 50]], np.float32), np.array([1.0, 0.5], np.float32),
                      keypoints, scores, (100, 120))


def test_openpose134_inserts_neck_and_reorders():
    result = make_result()
    result.scores[1, 6] = 0.2  # one shoulder too weak -> neck flag 0 for person 1
    info = result.to_openpose134()
    assert info.shape == (2, 134, 3)
    np.testing.assert_allclose(info[0, 1, :2], result.keypoints[0, [5, 6]].mean(0))
    assert info[0, 1, 2] == 1.0 and info[1, 1, 2] == 0.0
    np.testing.assert_array_equal(info[0, 2, :2], result.keypoints[0, 6])   # right shoulder
    np.testing.assert_array_equal(info[0, 5, :2], result.keypoints[0, 5])   # left shoulder
    np.testing.assert_array_equal(info[0, 14, :2], result.keypoints[0, 2])  # right eye
    np.testing.assert_array_equal(info[0, 17, :2], result.keypoints[0, 3])  # left ear
    np.testing.assert_array_equal(info[0, 18:, :2], result.keypoints[0, 17:])  # feet, face, hands


def test_openpose_json_layout_scores_and_toggles():
    result = make_result()
    result.scores[0, 91:112] = 0.1   # left hand absent
    result.scores[0, 0] = 0.29       # nose below threshold
    data = result.to_openpose_json()
    assert data["canvas_width"] == 100 and data["canvas_height"] == 120
    person = data["people"][0]
    assert len(person["pose_keypoints_2d"]) == 54 and len(person["face_keypoints_2d"]) == 210
    assert person["hand_left_keypoints_2d"] is None and len(person["hand_right_keypoints_2d"]) == 63
    assert person["pose_keypoints_2d"][:3] == [0, 0, 0]
    assert person["pose_keypoints_2d"][5] == 0.9  # real score
    np.testing.assert_allclose(person["face_keypoints_2d"][:2], result.keypoints[0, 23], atol=1e-3)
    np.testing.assert_allclose(person["face_keypoints_2d"][204:206], result.keypoints[0, 2], atol=1e-3)  # right eye
    compat = result.to_openpose_json(controlnet_compat=True)["people"][0]
    assert set(compat["pose_keypoints_2d"][2::3]) == {0.0, 1.0}
    off = result.to_openpose_json(include_face=False, include_hand=False, include_body=False, include_foot=True)["people"][1]
    assert off["face_keypoints_2d"] is None and off["hand_right_keypoints_2d"] is None
    assert not any(off["pose_keypoints_2d"]) and len(off["foot_keypoints_2d"]) == 18


def test_coco_wholebody_records_and_rescoring():
    result = make_result()
    result.scores[1, :100] = 0.1  # below 0.2: excluded from the mean
    records = result.to_coco_wholebody(image_id=785)
    assert [len(records[0][k]) for k in ("keypoints", "foot_kpts", "face_kpts", "lefthand_kpts", "righthand_kpts")] == [51, 18, 204, 63, 63]
    assert records[0]["image_id"] == 785 and records[0]["category_id"] == 1
    np.testing.assert_allclose(records[0]["score"], 0.9, rtol=1e-6)
    np.testing.assert_allclose(records[1]["score"], 0.5 * 0.9, rtol=1e-6)
    np.testing.assert_allclose(records[0]["keypoints"][:3], [*result.keypoints[0, 0], 0.9], rtol=1e-6)
