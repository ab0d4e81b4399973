import numpy as np
import pytest
from PIL import Image

from dwpose.errors import InputError
from dwpose.solutions import DWposeDetector, Wholebody


def test_wholebody_rtmlib_shape(pose_onnx, yolox_s_onnx, sample_bgr):
    wholebody = Wholebody(det=None, pose=pose_onnx)
    keypoints, scores = wholebody(sample_bgr)
    assert keypoints.shape == (1, 133, 2) and scores.shape == (1, 133)
    boxes = np.array([[10, 10, 200, 300], [0, 0, 50, 80]], np.float32)
    keypoints, _ = Wholebody(det=yolox_s_onnx, pose=pose_onnx, det_arch="yolox-s")(sample_bgr, boxes)
    assert keypoints.shape == (2, 133, 2)
    openpose_kp, openpose_sc = Wholebody(det=None, pose=pose_onnx, to_openpose=True)(sample_bgr)
    assert openpose_kp.shape == (1, 134, 2) and openpose_sc.shape == (1, 134)


def test_dwpose_detector_controlnet_shape(pose_onnx, sample_bgr):
    detector = DWposeDetector(det_model=None, pose_model=pose_onnx)
    rgb = Image.fromarray(sample_bgr[..., ::-1])
    image = detector(rgb, detect_resolution=256, image_resolution=512)
    assert isinstance(image, Image.Image)
    assert image.size == (512, 832)  # 218x346 -> short side 512 -> multiples of 64
    array, data = detector(np.asarray(rgb), detect_resolution=256, image_resolution=256, output_type="np",
                           include_face=False, return_json=True)
    assert array.shape == (384, 256, 3) and array.dtype == np.uint8  # 218x346 at 256 -> 256x406 -> 256x384
    assert data["canvas_width"] == 256 and data["people"][0]["face_keypoints_2d"] is None


def test_rtmlib_modes_load_the_same_files_and_detector_sizes(monkeypatch, tmp_path, reference, sample_bgr):
    """The lightweight preset from a cache holding stand-ins under the official names: the tiny
    RTMW (256x192, the mode's input size) and an end2end detector that leaves its size free."""
    import shutil

    from dwpose import solutions
    from tests.test_detection import export_end2end

    preset = solutions.MODES["lightweight"]
    monkeypatch.setenv("DWPOSE_HOME", str(tmp_path))
    shutil.copy(reference / "rtmw_t_256x192_random.onnx", tmp_path / preset.pose)
    export_end2end(tmp_path / preset.det)
    wholebody = Wholebody(mode="lightweight")
    assert wholebody.pipeline.detector.input_size == (416, 416) and wholebody.pipeline.detector.with_nms
    assert wholebody.pipeline.pose.input_size == (192, 256)
    keypoints, scores = wholebody(sample_bgr)
    assert keypoints.shape == (2, 133, 2) and scores.shape == (2, 133)  # the stand-in's two persons

    seen = []
    monkeypatch.setattr(solutions, "_pipeline", lambda *args: seen.append(args))
    Wholebody()  # no mode: DWPose as before
    Wholebody(mode="performance", det=None)  # an explicit argument wins over the preset
    Wholebody(mode="balanced", pose="mine.onnx")
    (det0, pose0, *_), (det1, pose1, *_), (det2, pose2, *_, size2) = seen
    assert (det0, pose0) == ("yolox_l.onnx", "dw-ll_ucoco_384.onnx")
    assert (det1, pose1) == (None, "rtmw-dw-x-l_simcc-cocktail14_270e-384x288_20231122.onnx")
    assert (det2, pose2, size2) == ("yolox_m_8xb8-300e_humanart-c2c7a14a.onnx", "mine.onnx", (640, 640))
    with pytest.raises(InputError, match="unknown mode 'fast'; choose one of: performance, balanced, lightweight"):
        Wholebody(mode="fast")
