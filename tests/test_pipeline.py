import cv2
import numpy as np
import onnxruntime as ort
import pytest

from dwpose.inference.io import to_bgr
from dwpose.inference.pipeline import WholebodyPipeline
from dwpose.inference.pose import PoseEstimator

BOXES = np.array([[20, 15, 200, 330], [0, 0, 120, 160], [60, 100, 210, 340]], np.float32)


def reference_pose(onnx_path, image_bgr, boxes):
    """The DWPose ControlNet annotator's per-box loop (RGB fed, as the model was trained)."""
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    h, w = session.get_inputs()[0].shape[2:]
    image = image_bgr[..., ::-1]
    all_kp, all_sc = [], []
    for x1, y1, x2, y2 in boxes:
        center = np.array([(x1 + x2) / 2, (y1 + y2) / 2])
        scale = np.array([x2 - x1, y2 - y1]) * 1.25
        aspect = w / h
        scale = np.array([scale[0], scale[0] / aspect]) if scale[0] > scale[1] * aspect else np.array([scale[1] * aspect, scale[1]])
        # get_warp_matrix of the reference: three point pairs (centre, top-centre, a 90-degree turn)
        src = np.float32([center, center + [0, -scale[0] / 2], center + [-scale[0] / 2, -scale[0] / 2]])
        dst = np.float32([[w / 2, h / 2], [w / 2, h / 2 - w / 2], [w / 2 - w / 2, h / 2 - w / 2]])
        matrix = cv2.getAffineTransform(src, dst)
        crop = cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR)
        crop = (crop - np.array([123.675, 116.28, 103.53])) / np.array([58.395, 57.12, 57.375])
        sx, sy = session.run(None, {"input": crop.transpose(2, 0, 1)[None].astype(np.float32)})
        ix, iy = sx[0].argmax(-1), sy[0].argmax(-1)
        score = np.minimum(sx[0].max(-1), sy[0].max(-1))
        loc = np.stack([ix, iy], -1).astype(np.float64)
        loc[score <= 0] = -1
        kp = loc / 2 / np.array([w, h]) * scale + center - scale / 2
        all_kp.append(kp), all_sc.append(score)
    return np.array(all_kp), np.array(all_sc)


def test_keypoints_match_reference_annotator(pose_onnx, sample_bgr):
    estimator = PoseEstimator(pose_onnx)
    keypoints, scores = estimator(sample_bgr, BOXES)
    ref_kp, ref_sc = reference_pose(pose_onnx, sample_bgr, BOXES)
    assert keypoints.shape == (3, 133, 2)
    assert np.abs(keypoints - ref_kp).max() < 0.01
    assert np.abs(scores - ref_sc).max() < 1e-3


def test_torch_backend_matches_onnxruntime(pose_onnx, t_checkpoint, sample_bgr):
    ort_kp, ort_sc = PoseEstimator(pose_onnx)(sample_bgr, BOXES)
    for model in (pose_onnx, t_checkpoint):  # ONNX weights imported, or the .pth
        kp, sc = PoseEstimator(model, backend="torch")(sample_bgr, BOXES)
        assert np.abs(kp - ort_kp).max() < 0.01
        assert np.abs(sc - ort_sc).max() < 1e-2


def test_batch_of_images_splits_persons_back(pose_onnx, sample_bgr):
    pipeline = WholebodyPipeline(PoseEstimator(pose_onnx))
    flipped = np.ascontiguousarray(sample_bgr[:, ::-1])
    results = pipeline.predict_batch([sample_bgr, flipped, sample_bgr], [BOXES, np.zeros((0, 4)), BOXES[:1]])
    assert [len(r) for r in results] == [3, 0, 1]
    single = pipeline(sample_bgr, BOXES)
    np.testing.assert_array_equal(results[0].keypoints, single.keypoints)
    np.testing.assert_array_equal(results[2].keypoints, single.keypoints[:1])
    assert results[1].keypoints.shape == (0, 133, 2)
    assert results[0].image_size == (218, 346)


def test_no_detector_uses_whole_image(pose_onnx, sample_bgr):
    result = WholebodyPipeline(PoseEstimator(pose_onnx))(sample_bgr)
    np.testing.assert_array_equal(result.boxes, [[0, 0, 218, 346]])
    assert len(result) == 1


def test_image_without_person_gives_empty_result(pose_onnx, nobody_onnx, sample_bgr):
    pipeline = WholebodyPipeline.from_files(pose_onnx, nobody_onnx)
    result = pipeline(sample_bgr)
    assert len(result) == 0 and result.keypoints.shape == (0, 133, 2)
    assert result.to_openpose_json()["people"] == []


def test_detected_boxes_feed_the_pose_stage(pose_onnx, yolox_s_onnx, sample_bgr):
    pipeline = WholebodyPipeline.from_files(pose_onnx, yolox_s_onnx, score_threshold=0.0, max_persons=4)
    result = pipeline(sample_bgr)
    detections = pipeline.detector(sample_bgr)
    np.testing.assert_array_equal(result.boxes, detections.boxes)
    assert len(result) == len(detections.boxes) == 4
    assert np.all(np.diff(detections.scores) <= 0)  # best first
    expected, _ = pipeline.pose(sample_bgr, detections.boxes)
    np.testing.assert_array_equal(result.keypoints, expected)


def test_large_batches_are_chunked(pose_onnx, sample_bgr):
    boxes = np.tile(BOXES, (7, 1))
    chunked = PoseEstimator(pose_onnx, max_batch_size=4)(sample_bgr, boxes)[0]
    whole = PoseEstimator(pose_onnx)(sample_bgr, boxes)[0]
    np.testing.assert_array_equal(chunked, whole)


def test_flip_test_matches_mmpose_with_the_onnx_file(pose_onnx, reference):
    """The flip test of the file runners (host placement, onnxruntime) reproduces mmpose's
    RTMCCHead flip test on the reference input: logits within 1e-3 (onnxruntime and PyTorch
    differ by up to ~6e-4 on this model; without the un-flip the logits differ by ~30),
    keypoints exactly."""
    estimator = PoseEstimator(pose_onnx, flip_test=True)
    simcc_x, simcc_y = estimator.infer_crops(np.load(reference / "rtmpose_t_256x192_input.npy"))
    keypoints, scores = estimator.codec.decode(simcc_x, simcc_y)
    ours = {"simcc_x": simcc_x, "simcc_y": simcc_y, "keypoints": keypoints, "scores": scores}
    for name, value in ours.items():
        expected = np.load(reference / f"rtmpose_t_256x192_flip_{name}.npy")
        np.testing.assert_allclose(value, expected, rtol=0, atol=0 if name == "keypoints" else 1e-3, err_msg=name)


def test_input_contract(pose_onnx, sample_bgr):
    pipeline = WholebodyPipeline(PoseEstimator(pose_onnx))
    with pytest.raises(ValueError, match="BGR uint8"):
        pipeline(sample_bgr.astype(np.float32))
    rgb = sample_bgr[..., ::-1]
    np.testing.assert_array_equal(to_bgr(rgb, "rgb"), sample_bgr)
    assert to_bgr(np.zeros((5, 7), np.uint16)).shape == (5, 7, 3)
    with pytest.raises(ValueError, match="shape"):
        to_bgr(np.zeros((5, 7, 2), np.uint8))


def test_compile_needs_the_torch_backend(pose_onnx):
    with pytest.raises(ValueError, match="backend='torch'"):
        WholebodyPipeline.from_files(pose_onnx, None, compile=True)
