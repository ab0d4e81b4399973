import cv2
import numpy as np

from dwpose.geometry import (bbox_xyxy_to_center_scale, crop_to_image, fix_aspect_ratio,
                             get_warp_matrix)
from dwpose.inference.pose import crop_persons


def test_center_scale_and_aspect_fix():
    center, scale = bbox_xyxy_to_center_scale(np.array([[10, 20, 110, 420]]))
    np.testing.assert_allclose(center, [[60, 220]])
    np.testing.assert_allclose(scale, [[125, 500]])
    np.testing.assert_allclose(fix_aspect_ratio(scale, 0.75), [[375, 500]])
    np.testing.assert_allclose(fix_aspect_ratio(np.array([[400, 100]]), 0.75), [[400, 400 / 0.75]])


def test_warp_and_inverse_mapping_agree():
    center, scale = np.array([[150.0, 90.0]]), np.array([[120.0, 160.0]])
    matrix = get_warp_matrix(center[0], scale[0], 0.0, (192, 256))
    points = np.array([[[100.0, 50.0], [150.0, 90.0], [200.3, 170.7]]], np.float32)
    in_crop = cv2.transform(points, matrix)
    np.testing.assert_allclose(in_crop[0, 1], [96, 128], atol=1e-4)
    np.testing.assert_allclose(crop_to_image(in_crop, center, scale, (192, 256)), points, atol=1e-3)


def test_warp_crop_moves_pixels():
    image = np.zeros((200, 300, 3), np.uint8)
    image[90, 150] = 255
    # A box centred on (150, 90) whose 1.25-padded size is 192 x 256.
    box = np.array([[150 - 76.8, 90 - 102.4, 150 + 76.8, 90 + 102.4]])
    crop = crop_persons(image, box, (192, 256))[0][0]
    assert crop.shape == (256, 192, 3)
    assert tuple(np.argwhere(crop[..., 0] == 255)[0]) == (128, 96)
