import numpy as np
from PIL import Image

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
