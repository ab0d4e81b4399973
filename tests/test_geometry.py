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


# --------------------------------------------------------------------------- reference crops
# codec_and_data.md §4.4 written out in the reference's arithmetic (mmpose TopdownAffine /
# rtmlib top_down_affine under NumPy's type rules): float32 boxes, centres, scales and point
# arrays; the rotated half-width vector and its sum with the centre in float64, rounded once.

def spec_center_scale(box_xyxy, padding=1.25):
    box = np.asarray(box_xyxy, np.float32)
    center = np.array([box[0] + box[2], box[1] + box[3]], np.float32) * np.float32(0.5)
    scale = np.array([box[2] - box[0], box[3] - box[1]], np.float32) * np.float32(padding)
    return center, scale


def spec_fixed_scale(scale, input_size):
    aspect = np.float32(input_size[0] / input_size[1])
    w, h = scale
    return np.array([w, w / aspect] if w > h * aspect else [h * aspect, h], np.float32)


def spec_warp_matrix(center, scale, rotation, input_size):
    out_w, out_h = input_size
    theta = np.deg2rad(rotation)                     # keeps the angle's dtype
    sin, cos = np.float64(np.sin(theta)), np.float64(np.cos(theta))
    half = np.float64(scale[0] * np.float32(-0.5))    # (0, -s_w/2)
    # R(θ)·(0, half): x = -sin·half, y = cos·half, each one float64 product
    src1 = np.array([np.float64(center[0]) + (-sin) * half, np.float64(center[1]) + cos * half]).astype(np.float32)
    src0 = center.astype(np.float32)
    dst0 = np.array([out_w / 2, out_h / 2], np.float32)
    dst1 = np.array([out_w / 2, out_h / 2 - out_w / 2], np.float32)

    def third(a, b):  # b + perp(a - b), float32
        d = (a - b).astype(np.float32)
        return (b + np.array([-d[1], d[0]], np.float32)).astype(np.float32)

    src = np.stack([src0, src1, third(src0, src1)])
    dst = np.stack([dst0, dst1, third(dst0, dst1)])
    return cv2.getAffineTransform(src, dst)


# Fractional corners, boxes reaching outside the image, a tiny box and extreme aspect ratios.
CROP_BOXES = np.array([
    [211.37, 50.91, 388.62, 495.17],
    [0.5, 0.25, 639.75, 479.5],
    [-40.3, 100.7, 120.1, 300.3],
    [300.125, 10.0625, 301.9, 470.33],   # very tall and thin
    [5.55, 240.45, 630.95, 251.05],      # very wide and flat
    [333.3, 222.2, 336.7, 225.9],        # a few pixels
    [512.77, 380.13, 700.31, 530.99],    # past the bottom-right corner
], np.float32)


def test_center_scale_and_aspect_fix_are_the_reference_float32_arithmetic():
    center, scale = bbox_xyxy_to_center_scale(CROP_BOXES)
    fixed = fix_aspect_ratio(scale, 192 / 256)
    assert center.dtype == scale.dtype == fixed.dtype == np.float32
    for i, box in enumerate(CROP_BOXES):
        spec_c, spec_s = spec_center_scale(box)
        assert np.array_equal(center[i], spec_c) and np.array_equal(scale[i], spec_s)
        assert np.array_equal(fixed[i], spec_fixed_scale(spec_s, (192, 256)))


def test_inference_crops_are_byte_identical_to_the_reference(sample_bgr):
    for input_size in ((192, 256), (288, 384)):
        crops, _, _ = crop_persons(sample_bgr, CROP_BOXES, input_size)
        for box, crop in zip(CROP_BOXES, crops):
            center, scale = spec_center_scale(box)
            matrix = spec_warp_matrix(center, spec_fixed_scale(scale, input_size), 0.0, input_size)
            expected = cv2.warpAffine(sample_bgr, matrix, input_size, flags=cv2.INTER_LINEAR)
            assert np.array_equal(crop, expected), (input_size, box)


def test_rotated_training_crops_and_keypoints_are_byte_identical_to_the_reference(sample_bgr):
    from dwpose.data.transforms import AugmentConfig, affine_crop, random_bbox_transform

    image = cv2.cvtColor(sample_bgr, cv2.COLOR_BGR2RGB)
    rng = np.random.default_rng(7)
    keypoints = rng.uniform([0, 0], [640, 480], (133, 2)).astype(np.float32)
    for i, box in enumerate(CROP_BOXES):
        center, scale = spec_center_scale(box)
        # The augmentation's own draws: float32 centre, scale and angle, as mmpose's.
        center, scale, rotation = random_bbox_transform(center, scale, np.random.default_rng(i), AugmentConfig(rotate_prob=1.0))
        assert center.dtype == scale.dtype == np.float32 and isinstance(rotation, np.float32)
        crop, fixed, moved = affine_crop(image, center, scale, rotation, (192, 256), keypoints)
        spec_scale = spec_fixed_scale(scale, (192, 256))
        matrix = spec_warp_matrix(center, spec_scale, rotation, (192, 256))
        assert np.array_equal(fixed, spec_scale)
        assert np.array_equal(crop, cv2.warpAffine(image, matrix, (192, 256), flags=cv2.INTER_LINEAR)), box
        assert np.array_equal(moved, cv2.transform(keypoints[None], matrix)[0]), box
