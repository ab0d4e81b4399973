import numpy as np
import pytest
import torch

from dwpose.codec import SimCCCodec, flip_simcc_back
from dwpose.skeleton import FLIP_INDICES

CODEC = SimCCCodec.for_input_size((192, 256))


def test_sigma_and_bins_per_input_size():
    assert CODEC.sigma == (4.9, 5.66) and CODEC.bins == (384, 512)
    big = SimCCCodec.for_input_size((288, 384))
    assert big.sigma == (6.0, 6.93) and big.bins == (576, 768)
    with pytest.raises(ValueError):
        SimCCCodec.for_input_size((100, 100))


def test_encode_gaussian_values():
    keypoints = np.array([[[10.0, 20.0]]])
    labels_x, labels_y, weights = CODEC.encode(keypoints, np.ones((1, 1)))
    assert labels_x.shape == (1, 1, 384) and labels_y.shape == (1, 1, 512)
    assert labels_x[0, 0].argmax() == 20 and labels_x[0, 0, 20] == 1.0
    assert labels_y[0, 0].argmax() == 40
    np.testing.assert_allclose(labels_x[0, 0, 23], np.exp(-9 / (2 * 4.9**2)), rtol=1e-6)
    np.testing.assert_allclose(labels_y[0, 0, 35], np.exp(-25 / (2 * 5.66**2)), rtol=1e-6)
    assert labels_x[0, 0, 40] > 0  # 20 bins away, beyond 3 sigma: not truncated
    assert weights.tolist() == [[1.0]]


def test_encode_weights_and_rounding():
    keypoints = np.array([[
        [0.25, 10.0],    # 0.5 bins rounds half-to-even to bin 0
        [50.0, 50.0],    # invisible
        [-7.0, 50.0],    # outside the crop but its 3-sigma window reaches bin 0 -> kept
        [-20.0, 50.0],   # window entirely left of the crop -> dropped
        [50.0, 300.0],   # window entirely below the crop -> dropped
    ]])
    visible = np.array([[1, 0, 1, 1, 1]])
    labels_x, labels_y, weights = CODEC.encode(keypoints, visible)
    assert labels_x[0, 0].argmax() == 0
    assert weights.tolist() == [[1, 0, 1, 0, 0]]
    assert not labels_x[0, 1].any() and not labels_x[0, 3].any() and not labels_y[0, 4].any()
    assert labels_x[0, 2].max() > 0


def test_decode_min_score_and_negative_scores():
    simcc_x = np.zeros((1, 2, 384), np.float32)
    simcc_y = np.zeros((1, 2, 512), np.float32)
    simcc_x[0, 0, 101], simcc_y[0, 0, 7] = 0.9, 0.4
    simcc_x[0, 1] -= 1.0
    simcc_y[0, 1] -= 1.0
    simcc_x[0, 1, 50] = -0.5
    keypoints, scores = CODEC.decode(simcc_x, simcc_y)
    np.testing.assert_allclose(keypoints[0, 0], [50.5, 3.5])
    np.testing.assert_allclose(scores[0], [0.4, -1.0])
    np.testing.assert_allclose(keypoints[0, 1], [-0.5, -0.5])  # score <= 0 -> location -1 bin


def test_encode_decode_roundtrip_and_torch_decode():
    rng = np.random.default_rng(1)
    keypoints = rng.uniform(0, 190, size=(4, 133, 2))
    labels_x, labels_y, _ = CODEC.encode(keypoints, np.ones((4, 133)))
    decoded, scores = CODEC.decode(labels_x, labels_y)
    np.testing.assert_array_equal(decoded, np.around(keypoints * 2) / 2)
    assert np.all(scores == 1.0)
    t_keypoints, t_scores = CODEC.decode(torch.from_numpy(labels_x), torch.from_numpy(labels_y))
    np.testing.assert_array_equal(t_keypoints.numpy(), decoded)
    np.testing.assert_array_equal(t_scores.numpy(), scores)


def test_flip_back_swaps_sides_and_reverses_x_bins():
    simcc_x = np.zeros((1, 133, 384), np.float32)
    simcc_y = np.zeros((1, 133, 512), np.float32)
    simcc_x[0, 5, 10] = 1.0  # left shoulder in the flipped image
    simcc_y[0, 5, 20] = 1.0
    back_x, back_y = flip_simcc_back(simcc_x, simcc_y, FLIP_INDICES)
    assert back_x[0, 6].argmax() == 383 - 10 and back_y[0, 6].argmax() == 20
    tx, ty = flip_simcc_back(torch.from_numpy(simcc_x), torch.from_numpy(simcc_y), FLIP_INDICES)
    np.testing.assert_array_equal(tx.numpy(), back_x)
    np.testing.assert_array_equal(ty.numpy(), back_y)
