import numpy as np

from dwpose.inference.tracking import IoUTracker, OneEuroFilter, boxes_from_keypoints, iou_matrix, rtmlib_pose_to_bbox
from dwpose.result import PoseResult


def test_iou_matrix():
    a = np.array([[0, 0, 10, 10]], np.float32)
    b = np.array([[5, 0, 15, 10], [20, 20, 30, 30]], np.float32)
    np.testing.assert_allclose(iou_matrix(a, b), [[50 / 150, 0]])


def test_ids_follow_moving_people_and_survive_gaps():
    tracker = IoUTracker(iou_threshold=0.3, max_age=3)
    left, right = np.array([0, 0, 10, 20.0]), np.array([50, 0, 60, 20.0])
    assert tracker.update([left, right]).tolist() == [0, 1]
    assert tracker.update([right + [1, 0, 1, 0], left + [1, 0, 1, 0]]).tolist() == [1, 0]
    assert tracker.update([left + [2, 0, 2, 0]]).tolist() == [0]  # right missing for a frame
    assert tracker.update([right, left]).tolist() == [1, 0]       # and comes back with its id
    assert tracker.update([np.array([100, 100, 110, 120.0])]).tolist() == [2]


def test_one_euro_smooths_jitter_but_follows_constant():
    rng = np.random.default_rng(0)
    smoother = OneEuroFilter(min_cutoff=1.0, beta=0.0)
    constant = np.full((133, 2), 5.0)
    for i in range(5):
        np.testing.assert_allclose(smoother(0, constant, i / 30), constant)
    noisy = [constant + rng.normal(0, 1, constant.shape) for _ in range(60)]
    out = np.array([smoother(1, x, i / 30) for i, x in enumerate(noisy)])
    assert out[10:].std() < np.array(noisy)[10:].std() / 2


def _person_with_a_far_hand() -> PoseResult:
    """One person: body and feet points spread over x 10..32, y 20..42 (score 0.9), a left
    ankle far off at a score of exactly 0.3 and a hand far off at 0.9."""
    rng = np.random.default_rng(1)
    keypoints = np.zeros((1, 133, 2), np.float32)
    keypoints[0, :23] = rng.uniform([10, 20], [32, 42], (23, 2))
    keypoints[0, 0], keypoints[0, 1] = (10, 20), (32, 42)  # the extent's corners
    keypoints[0, 23:] = (200, 300)                         # face and hands far off
    scores = np.full((1, 133), 0.9, np.float32)
    keypoints[0, 15], scores[0, 15] = (500, 500), 0.3      # not above 0.3: not followed
    return PoseResult(np.array([[0, 0, 5, 5]], np.float32), np.ones(1, np.float32), keypoints, scores, (640, 480))


def test_video_follows_body_and_feet_points_above_the_visibility_threshold_unpadded():
    np.testing.assert_allclose(boxes_from_keypoints(_person_with_a_far_hand()), [[10, 20, 32, 42]])


def test_video_keeps_the_box_when_the_points_give_none():
    result = _person_with_a_far_hand()
    result.scores[0, :23] = 0.1
    result.scores[0, 3] = 0.9  # a single confident point gives no box
    np.testing.assert_allclose(boxes_from_keypoints(result), [[0, 0, 5, 5]])


def test_rtmlib_follows_every_point_padded_by_a_quarter():
    keypoints = _person_with_a_far_hand().keypoints[0]
    low, high = keypoints.min(0), keypoints.max(0)  # every point, scores ignored: 10, 20 .. 500, 500
    center, half = (low + high) / 2, (high - low) / 2 * 1.25
    np.testing.assert_allclose(rtmlib_pose_to_bbox(keypoints), np.concatenate([center - half, center + half]))
