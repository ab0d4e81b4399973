import numpy as np

from dwpose.inference.tracking import IoUTracker, OneEuroFilter, iou_matrix


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
