"""The peer adapters (dwpose.adapters): each peer's documented call on tiny random-weight
official-signature models, checked for output type, size and JSON schema; the comfyui JSON read
back by a re-implementation of comfyui's reader; one clear InputError for bad input; empty images
and images with nobody give a black map and no people."""

from __future__ import annotations

import json
import warnings
from functools import partial

import cv2
import numpy as np
import pytest
from PIL import Image

import dwpose
from dwpose.adapters import comfyui, controlnet_aux, easy_dwpose, rtmlib
from dwpose.drawing import render
from dwpose.drawing.comfyui import draw_comfyui
from dwpose.errors import DWPoseError, InputError
from dwpose.formats import PoseResult, from_openpose134, to_openpose134
from dwpose.inference.pipeline import WholebodyPipeline
from tests.test_styles import STYLE_REFERENCE, read_rgb, reference_result
from tests.test_styles_json import decode_like_comfyui

OPENPOSE_KEYS = ["pose_keypoints_2d", "face_keypoints_2d", "hand_left_keypoints_2d", "hand_right_keypoints_2d"]


@pytest.fixture(scope="module")
def sample_rgb(sample_bgr) -> np.ndarray:
    return np.ascontiguousarray(sample_bgr[..., ::-1])  # 218 x 346


@pytest.fixture(scope="module")
def nobody_pipeline(pose_onnx, nobody_onnx) -> WholebodyPipeline:
    return WholebodyPipeline.from_files(pose_onnx, nobody_onnx)


class GivenPoses(WholebodyPipeline):
    """A pipeline that 'finds' the given poses in any image (for the JSON tests)."""

    def __init__(self, result: PoseResult) -> None:
        self.result, self.detector, self.pose = result, None, None

    def predict_batch(self, images_bgr, boxes=None):
        return [self.result for _ in images_bgr]


def check_openpose_json(data: dict, width: int, height: int, people: int, compat: bool) -> None:
    assert list(data) == ["people", "canvas_height", "canvas_width"]
    assert (data["canvas_width"], data["canvas_height"]) == (width, height) and len(data["people"]) == people
    for person in data["people"]:
        assert list(person) == OPENPOSE_KEYS
        for key, count in zip(OPENPOSE_KEYS, (18, 70, 21, 21)):
            values = person[key]
            assert values is None or len(values) == 3 * count
            if values is not None and compat:
                assert set(values[2::3]) <= {0.0, 1.0}
    json.dumps(data)  # plain JSON types only


def test_solutions_names_are_the_adapters():
    assert dwpose.solutions.DWposeDetector is controlnet_aux.DWposeDetector is dwpose.DWposeDetector
    assert dwpose.solutions.Wholebody is rtmlib.Wholebody is dwpose.Wholebody


# --- controlnet_aux -------------------------------------------------------------------------------

def test_controlnet_aux_documented_call(pose_onnx, yolox_s_onnx, sample_rgb):
    detector = controlnet_aux.DWposeDetector(det_ckpt=yolox_s_onnx, pose_ckpt=pose_onnx, device="cpu")
    assert detector.to("cpu") is detector
    image = detector(Image.fromarray(sample_rgb))
    # 218x346 -> detect 512: 512 x 812.6 -> multiples of 64: 512 x 832; image_resolution 512 keeps it.
    assert isinstance(image, Image.Image) and image.size == (512, 832) and image.mode == "RGB"


def test_controlnet_aux_sizes_json_and_toggles(pose_onnx, sample_rgb):
    detector = controlnet_aux.DWposeDetector(det_model=None, pose_model=pose_onnx)
    # controlnet_aux sizes the output from the detect-sized image: 218x346 -> 256x384 -> 512x768.
    assert detector(sample_rgb, detect_resolution=256, image_resolution=512).size == (512, 768)
    array, data = detector(sample_rgb, 256, 256, output_type="np", include_face=False, image_and_json=True)
    assert array.shape == (384, 256, 3) and array.dtype == np.uint8
    check_openpose_json(data, 256, 384, 1, compat=False)
    assert data["people"][0]["face_keypoints_2d"] is None and data["people"][0]["hand_left_keypoints_2d"]
    _, compat = detector(sample_rgb, 256, 256, "np", image_and_json=True, controlnet_compat=True)
    check_openpose_json(compat, 256, 384, 1, compat=True)
    result = detector.detect(sample_rgb, 256)
    body_only = render(result, include_hand=False, include_face=False)
    with pytest.warns(DeprecationWarning, match="hand_and_face"):
        legacy = detector(sample_rgb, 256, 256, "np", hand_and_face=False)
    np.testing.assert_array_equal(legacy, cv2.resize(body_only, (256, 384), interpolation=cv2.INTER_LINEAR))
    with pytest.warns(DeprecationWarning):
        assert isinstance(detector(sample_rgb, 256, 256, output_type=True), Image.Image)
    assert isinstance(detector(sample_rgb, 256, 256, output_type="numpy"), np.ndarray)


def test_controlnet_aux_blends_rgba_onto_white(pose_onnx, sample_rgb):
    detector = controlnet_aux.DWposeDetector(det_model=None, pose_model=pose_onnx)
    rng = np.random.default_rng(0)
    transparent = np.dstack([rng.integers(0, 256, sample_rgb.shape, dtype=np.uint8),
                             np.zeros(sample_rgb.shape[:2], np.uint8)])
    white = np.full_like(sample_rgb, 255)
    np.testing.assert_array_equal(detector.detect(Image.fromarray(transparent, "RGBA"), 256).keypoints,
                                  detector.detect(white, 256).keypoints)
    opaque = np.dstack([sample_rgb, np.full(sample_rgb.shape[:2], 255, np.uint8)])
    np.testing.assert_array_equal(detector(opaque, 256, 256, "np"), detector(sample_rgb, 256, 256, "np"))


def test_controlnet_aux_bad_input_and_empty(pose_onnx, nobody_onnx, sample_rgb):
    detector = controlnet_aux.DWposeDetector(det_model=nobody_onnx, pose_model=pose_onnx)
    for bad_call in (lambda: detector("photo.jpg"), lambda: detector(np.zeros((8, 8, 5), np.uint8)),
                     lambda: detector(sample_rgb, output_type="latent"), lambda: detector(sample_rgb, colour=1),
                     lambda: detector(sample_rgb, include_hand="yes"), lambda: detector(sample_rgb, detect_resolution=0),
                     lambda: detector(sample_rgb, style="nope")):
        with pytest.raises(InputError):
            bad_call()
    with pytest.raises(InputError, match="config"):
        controlnet_aux.DWposeDetector(det_config="yolox_l.onnx", pose_model=pose_onnx)
    nobody, data = detector(sample_rgb, 256, 256, "np", image_and_json=True)
    assert nobody.shape == (384, 256, 3) and not nobody.any() and data["people"] == []
    empty, data = detector(np.zeros((0, 0, 3), np.uint8), image_and_json=True)
    assert empty.size == (0, 0) and data == {"people": [], "canvas_height": 0, "canvas_width": 0}


# --- easy_dwpose ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def easy(pose_onnx) -> easy_dwpose.DWposeDetector:
    return easy_dwpose.DWposeDetector(device="cpu", det_model=None, pose_model=pose_onnx)


def test_easy_dwpose_documented_calls(easy, sample_rgb):
    skeleton = easy(Image.fromarray(sample_rgb), output_type="pil", include_hands=True, include_face=True)
    assert isinstance(skeleton, Image.Image) and skeleton.size == (218, 346)  # the input's own size
    # detect_resolution 256: 218x346 -> 256x384; the map is drawn there and resized to the input.
    musepose = easy(sample_rgb, 256, draw_pose=easy_dwpose.draw_musepose, output_type="np", draw_face=False)
    detected = easy.pipeline(cv2.resize(sample_rgb[..., ::-1].copy(), (256, 384), interpolation=cv2.INTER_LANCZOS4))
    expected = cv2.resize(render(detected, "musepose", include_face=False), (218, 346), interpolation=cv2.INTER_LINEAR)
    assert musepose.shape == (346, 218, 3)
    np.testing.assert_array_equal(musepose, expected)
    mimic = easy(sample_rgb, 256, draw_pose=easy_dwpose.draw_mimicmotion, output_type="np", ref_w=512)
    np.testing.assert_array_equal(mimic, cv2.resize(render(detected, "mimicmotion", ref_w=512), (218, 346),
                                                    interpolation=cv2.INTER_LINEAR))


def test_easy_dwpose_pose_dict_and_custom_drawing(easy, sample_rgb):
    pose = easy(sample_rgb, 256, draw_pose=None)
    assert {k: v.shape for k, v in pose.items()} == {
        "bodies": (18, 2), "body_scores": (1, 18), "hands": (2, 21, 2), "hands_scores": (2, 21),
        "faces": (1, 68, 2), "faces_scores": (1, 68)}
    detected = easy.pipeline(cv2.resize(sample_rgb[..., ::-1].copy(), (256, 384), interpolation=cv2.INTER_LANCZOS4))
    info = detected.to_openpose134()[0]
    np.testing.assert_array_equal(pose["bodies"], info[:18, :2] / np.float32([256, 384]))  # fractions
    np.testing.assert_array_equal(pose["body_scores"][0], np.where(info[:18, 2] > 0.3, np.arange(18), -1))
    np.testing.assert_array_equal(pose["hands_scores"][1], info[113:, 2])
    seen = {}

    def my_drawing(pose, height, width, colour):
        seen.update(height=height, width=width, colour=colour, people=len(pose["body_scores"]))
        return np.full((height, width, 3), colour, np.uint8)

    drawn = easy(sample_rgb, 256, draw_pose=my_drawing, output_type="np", colour=7)
    assert seen == {"height": 384, "width": 256, "colour": 7, "people": 1}
    assert drawn.shape == (346, 218, 3) and (drawn == 7).all()
    # Our drawing functions also draw a pose dict, as easy_dwpose's do: the same pixels as from the result.
    np.testing.assert_array_equal(easy_dwpose.draw_openpose(pose, 384, 256, include_hands=False),
                                  render(detected, include_hand=False))
    assert easy(sample_rgb, 256, draw_pose="comfyui", output_type="np").shape == (346, 218, 3)


def test_easy_dwpose_bad_input_and_empty(easy, pose_onnx, nobody_onnx, sample_rgb):
    for bad_call in (lambda: easy(sample_rgb, draw_pose=42), lambda: easy(sample_rgb, output_type="jpg"),
                     lambda: easy(sample_rgb, draw_pose="nope"), lambda: easy(sample_rgb, bogus_option=1),
                     lambda: easy(sample_rgb, draw_pose=lambda pose, height, width: "not an image"),
                     lambda: easy([[1, 2], [3, 4]]), lambda: easy_dwpose.draw_openpose({"bodies": []}, 10, 10)):
        with pytest.raises(InputError):
            bad_call()
    nobody = easy_dwpose.DWposeDetector(det_model=nobody_onnx, pose_model=pose_onnx)
    black = nobody(sample_rgb, output_type="np")
    assert black.shape == (346, 218, 3) and not black.any()
    assert nobody(sample_rgb, draw_pose=None)["body_scores"].shape == (0, 18)
    assert nobody(np.zeros((0, 5, 3), np.uint8), output_type="np").shape == (0, 5, 3)


# --- comfyui_controlnet_aux -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def weights_folder(tmp_path_factory, pose_onnx, yolox_s_onnx, nobody_onnx):
    """A local folder with files under comfyui's names (the random-weight models)."""
    folder = tmp_path_factory.mktemp("comfyui_models")
    (folder / "dw-ll_ucoco_384.onnx").symlink_to(pose_onnx)
    (folder / "yolox_l.onnx").symlink_to(yolox_s_onnx)
    (folder / "nobody.onnx").symlink_to(nobody_onnx)
    return folder


def test_comfyui_documented_call(weights_folder, sample_rgb):
    with pytest.warns(UserWarning, match="TorchScript"):
        detector = comfyui.DwposeDetector.from_pretrained(
            weights_folder, weights_folder, det_filename=None, pose_filename="dw-ll_ucoco_384_bs5.torchscript.pt",
            torchscript_device="cpu")
    pose_image, data = detector(sample_rgb, include_hand=True, include_face=True, include_body=True,
                                image_and_json=True, detect_resolution=512, xinsr_stick_scaling=False)
    # Short side 512 at the exact aspect ratio: 346 * 512 / 218 = 812.6 -> 813 (not 832).
    assert isinstance(pose_image, Image.Image) and pose_image.size == (512, 813)
    check_openpose_json(data, 218, 346, 1, compat=True)  # pixels of the input image
    result = detector.detect(sample_rgb)
    drawn = render(result, "comfyui", include_hand=True, include_face=True)
    np.testing.assert_array_equal(np.asarray(pose_image), cv2.resize(drawn, (512, 813), interpolation=cv2.INTER_CUBIC))
    # comfyui's reader gets the same poses back, and its drawing of them is the map.
    poses, height, width = decode_like_comfyui(json.loads(json.dumps(data)))
    assert (width, height) == (218, 346)
    np.testing.assert_array_equal(draw_comfyui(poses, (width, height)), drawn)
    info = result.to_openpose134()[0]
    for index, point in enumerate(poses[0].body):
        assert point == (tuple(info[index, :2]) if info[index, 2] >= 0.3 else None)
    # Defaults: hand and face off; an array in with output_type=None gives an array out.
    default = detector(sample_rgb, output_type=None, detect_resolution=0)
    np.testing.assert_array_equal(default, render(result, "comfyui", include_hand=False, include_face=False))
    xinsir = detector(sample_rgb, output_type="np", detect_resolution=0, xinsr_stick_scaling=True)
    np.testing.assert_array_equal(xinsir, render(result, "xinsir", include_hand=False, include_face=False))


@pytest.mark.parametrize("case", ["vis", "rand"])
def test_comfyui_json_is_comfyuis_export(case):
    """On the sample poses the adapter's JSON is comfyui's own export (hands and face on), and
    comfyui's reader and drawing turn it back into comfyui's own image."""
    image_id = "000000040083"
    result = reference_result(image_id, case)
    width, height = result.image_size
    detector = comfyui.DwposeDetector(GivenPoses(result))
    pose_image, data = detector(np.zeros((height, width, 3), np.uint8), detect_resolution=0, include_hand=True,
                                include_face=True, image_and_json=True, output_type="np")
    assert data == json.loads((STYLE_REFERENCE / f"comfyui_{image_id}_{case}.json").read_text())
    expected = read_rgb(STYLE_REFERENCE / f"comfyui_{image_id}_{case}.png")
    np.testing.assert_array_equal(pose_image, expected)
    poses, height, width = decode_like_comfyui(data)
    np.testing.assert_array_equal(draw_comfyui(poses, (width, height)), expected)


def test_comfyui_batch_bad_input_and_empty(weights_folder, sample_rgb):
    detector = comfyui.DwposeDetector.from_pretrained(weights_folder, det_filename="nobody.onnx")
    black, data = detector(Image.fromarray(sample_rgb), image_and_json=True, output_type="np")
    assert black.shape == (813, 512, 3) and not black.any() and data["people"] == []
    empty, data = detector(np.zeros((0, 0, 3), np.uint8), image_and_json=True)
    assert empty.size == (0, 0) and data["people"] == []
    whole = comfyui.DwposeDetector.from_pretrained(weights_folder)  # no detector: the whole image
    batch = whole.detect_batch([sample_rgb, np.zeros((0, 4, 3), np.uint8), sample_rgb[:100]])
    assert [len(r) for r in batch] == [1, 0, 1]
    np.testing.assert_array_equal(batch[0].keypoints, whole.detect(sample_rgb).keypoints)
    np.testing.assert_array_equal(batch[2].keypoints, whole.detect(sample_rgb[:100]).keypoints)
    for bad_call in (lambda: whole(None), lambda: whole(sample_rgb, upscale_method="BICUBIC"),
                     lambda: whole(sample_rgb, detect_resolution=-1), lambda: whole(sample_rgb, output_type="latent"),
                     lambda: whole(sample_rgb, style="mmpose", xinsr_stick_scaling=True),
                     lambda: whole(sample_rgb, include_face=None), lambda: whole(sample_rgb, unknown=1),
                     lambda: comfyui.DwposeDetector("not a pipeline"),
                     lambda: comfyui.DwposeDetector.from_pretrained(weights_folder, pose_filename="missing.onnx"),
                     lambda: comfyui.DwposeDetector(whole.pipeline).to("cuda")):
        with pytest.raises(InputError):
            bad_call()
    with pytest.raises(DWPoseError):  # not a known file: neither in the folder's place nor the registry
        comfyui.DwposeDetector.from_pretrained("hr16/yolo-nas-fp16", pose_filename="yolo_nas_l_fp16.onnx")


# --- rtmlib ---------------------------------------------------------------------------------------

def test_rtmlib_wholebody(pose_onnx, yolox_s_onnx, nobody_onnx, sample_bgr):
    wholebody = rtmlib.Wholebody(det=None, pose=pose_onnx)
    keypoints, scores = wholebody(sample_bgr)
    assert keypoints.shape == (1, 133, 2) and scores.shape == (1, 133)
    boxes = np.array([[10, 10, 200, 300, 0.9], [0, 0, 50, 80, 0.8]], np.float32)  # rtmlib boxes may carry scores
    assert rtmlib.Wholebody(det=yolox_s_onnx, pose=pose_onnx, det_arch="yolox-s")(sample_bgr, boxes)[0].shape == (2, 133, 2)
    op_keypoints, op_scores = rtmlib.Wholebody(det=None, pose=pose_onnx, to_openpose=True, mode="performance")(sample_bgr)
    assert op_keypoints.shape == (1, 134, 2) and op_scores.shape == (1, 134)
    assert op_scores[0, 1] == min(scores[0, 5], scores[0, 6])  # rtmlib's neck: the weaker shoulder
    flag = rtmlib.Wholebody(det=None, pose=pose_onnx, to_openpose=True, neck_score="flag")(sample_bgr)[1]
    assert flag[0, 1] == 1.0
    # Nobody found: no pose (ours), or one whole-image pose (rtmlib's) on request.
    nobody = rtmlib.Wholebody(det=nobody_onnx, pose=pose_onnx)
    assert nobody(sample_bgr)[0].shape == (0, 133, 2)
    fallback = rtmlib.Wholebody(det=nobody_onnx, pose=pose_onnx, whole_image_fallback=True)(sample_bgr)
    np.testing.assert_array_equal(fallback[0], keypoints)
    for bad_call in (lambda: rtmlib.Wholebody(det=None, pose=pose_onnx, mode="fast"),
                     lambda: rtmlib.Wholebody(det=None, pose=pose_onnx, neck_score="mean"),
                     lambda: rtmlib.Wholebody(det=None, pose=pose_onnx, backend="opencv"),
                     lambda: wholebody("frame.jpg"), lambda: wholebody(sample_bgr, np.ones((2, 3)))):
        with pytest.raises(InputError):
            bad_call()
    assert wholebody(np.zeros((0, 0, 3), np.uint8))[0].shape == (0, 133, 2)


def test_rtmlib_modes_load_rtmlibs_files_and_detector_sizes(monkeypatch, tmp_path, reference, sample_bgr):
    """The lightweight preset from a cache holding stand-ins under the official names: the tiny
    RTMW (256x192, the mode's input size) and an end2end detector that leaves its size free."""
    import shutil

    from dwpose.weights import RTMLIB_MODES
    from tests.test_detection import export_end2end

    preset = RTMLIB_MODES["lightweight"]
    monkeypatch.setenv("DWPOSE_HOME", str(tmp_path))
    shutil.copy(reference / "rtmw_t_256x192_random.onnx", tmp_path / preset.pose)
    export_end2end(tmp_path / preset.det)
    wholebody = rtmlib.Wholebody(mode="lightweight")
    assert wholebody.pipeline.detector.input_size == (416, 416) and wholebody.pipeline.detector.with_nms
    assert wholebody.pipeline.pose.input_size == (192, 256)
    keypoints, scores = wholebody(sample_bgr)
    assert keypoints.shape == (2, 133, 2) and scores.shape == (2, 133)  # the stand-in's two persons
    # rtmlib's own URL of the zip names the same cached file.
    url = "https://download.openmmlab.com/mmpose/v1/projects/rtmposev1/onnx_sdk/yolox_tiny_8xb8-300e_humanart-6f3252f9.zip"
    assert rtmlib.Wholebody(det=url, mode="lightweight").pipeline.detector.with_nms

    # The other presets open their own files: each call gets a cache holding stand-ins under that
    # preset's names only, and no download can happen, so a wrong name is an error.
    monkeypatch.setenv("DWPOSE_HUB_ENDPOINT", "http://127.0.0.1:9")
    stand_in_pose, stand_in_det = reference / "rtmw_t_256x192_random.onnx", export_end2end(tmp_path / "end2end.onnx")

    def cache_with(name, **files):
        (tmp_path / name).mkdir()
        for filename, source in files.items():
            shutil.copy(source, tmp_path / name / filename)
        monkeypatch.setenv("DWPOSE_HOME", str(tmp_path / name))

    performance, balanced = RTMLIB_MODES["performance"], RTMLIB_MODES["balanced"]
    cache_with("performance", **{performance.pose: stand_in_pose})
    assert rtmlib.Wholebody(mode="performance", det=None).pipeline.detector is None  # an explicit argument wins
    with pytest.raises(DWPoseError):
        rtmlib.Wholebody(mode="balanced", det=None)  # its pose file is not there
    cache_with("balanced", **{balanced.det: stand_in_det, balanced.pose: stand_in_pose})
    assert rtmlib.Wholebody(mode="balanced").pipeline.detector.input_size == balanced.det_input_size
    mine = rtmlib.Wholebody(mode="balanced", pose=stand_in_pose, det_input_size=(320, 320))
    assert mine.pipeline.detector.with_nms and mine.pipeline.detector.input_size == (320, 320)
    with pytest.raises(DWPoseError):
        rtmlib.Wholebody(mode="performance")  # its pose file is not there


def test_rtmlib_pose_tracker(pose_onnx, sample_bgr):
    tracker = rtmlib.PoseTracker(partial(rtmlib.Wholebody, det=None, pose=pose_onnx), det_frequency=2,
                                 to_openpose=False, backend="onnxruntime", device="cpu")
    first_keypoints, first_scores = tracker(sample_bgr)
    assert first_keypoints.shape == (1, 133, 2) and list(tracker.track_ids) == [0]
    # Frame 2 is not a detection frame: the person's box follows the keypoints of frame 1.
    follow_box = rtmlib.pose_to_bbox(first_keypoints[0])
    second_keypoints, _ = tracker(sample_bgr)
    np.testing.assert_array_equal(second_keypoints, tracker.model.predict(sample_bgr, follow_box[None], clip=False).keypoints)
    assert list(tracker.track_ids) == [0]
    third_keypoints, _ = tracker(sample_bgr)  # a detection frame again: the whole image
    np.testing.assert_array_equal(third_keypoints, first_keypoints)
    assert list(tracker.track_ids) == [0] and tracker.frame_cnt == 3
    tracker.reset()
    assert tracker.frame_cnt == 0 and len(tracker.bboxes_last_frame) == 0
    openpose = rtmlib.PoseTracker(rtmlib.Wholebody(det=None, pose=pose_onnx, to_openpose=True), tracking=False)
    assert openpose(sample_bgr)[0].shape == (1, 134, 2)
    for bad_call in (lambda: rtmlib.PoseTracker(rtmlib.Wholebody, det_frequency=0),
                     lambda: rtmlib.PoseTracker(rtmlib.Wholebody, tracking_thr=2.0),
                     lambda: rtmlib.PoseTracker("Wholebody")):
        with pytest.raises(InputError):
            bad_call()


def test_rtmlib_draw_skeleton(pose_onnx, sample_bgr):
    wholebody = rtmlib.Wholebody(det=None, pose=pose_onnx)
    keypoints, scores = wholebody(sample_bgr)
    result = PoseResult.from_keypoints(keypoints, scores, (218, 346))
    rgb = np.ascontiguousarray(sample_bgr[..., ::-1])
    frame = sample_bgr.copy()
    assert rtmlib.draw_skeleton(frame, keypoints, scores, kpt_thr=0.5) is frame  # drawn in place
    np.testing.assert_array_equal(frame[..., ::-1], render(result, "mmpose", image=rgb))
    assert (frame != sample_bgr).any()
    op_keypoints, op_scores = rtmlib.Wholebody(det=None, pose=pose_onnx, to_openpose=True)(sample_bgr)
    frame = sample_bgr.copy()
    rtmlib.draw_skeleton(frame, op_keypoints, op_scores, openpose_skeleton=True, kpt_thr=0.43)
    np.testing.assert_array_equal(frame[..., ::-1], render(result, "openpose134", image=rgb, kpt_thr=0.43))
    single = sample_bgr.copy()
    rtmlib.draw_skeleton(single, keypoints[0], scores[0], radius=3, line_width=1)
    np.testing.assert_array_equal(single[..., ::-1], render(result, "mmpose", image=rgb, radius=3, line_width=1))
    untouched = sample_bgr.copy()
    assert (rtmlib.draw_skeleton(untouched, np.zeros((0, 133, 2)), np.zeros((0, 133))) == sample_bgr).all()
    for bad_call in (lambda: rtmlib.draw_skeleton(rgb.astype(np.float32), keypoints, scores),
                     lambda: rtmlib.draw_skeleton(frame, keypoints[:, :17], scores[:, :17]),
                     lambda: rtmlib.draw_skeleton(frame, keypoints, scores, kpt_thr="high")):
        with pytest.raises(InputError):
            bad_call()
    boxed = rtmlib.draw_bbox(sample_bgr.copy(), [[10, 10, 100, 200, 0.9]])
    assert (boxed[10, 10:101] == (0, 255, 0)).all()


# --- the 134 layout's neck score ------------------------------------------------------------------

def test_openpose134_neck_score_options_and_inverse():
    rng = np.random.default_rng(1)
    keypoints, scores = rng.uniform(0, 100, (3, 133, 2)), rng.uniform(0, 1, (3, 133))
    scores[0, [5, 6]] = [0.9, 0.31]  # both > 0.3: flag 1, min 0.31
    scores[1, [5, 6]] = [0.2, 0.8]   # one below: flag 0, min 0.2
    flag = to_openpose134(keypoints, scores)
    weakest = to_openpose134(keypoints, scores, neck_score="min")
    assert list(flag[:2, 1, 2]) == [1.0, 0.0] and list(weakest[:2, 1, 2]) == [0.31, 0.2]
    np.testing.assert_array_equal(flag[:, 1, :2], keypoints[:, [5, 6]].mean(1))
    np.testing.assert_array_equal(np.delete(flag, 1, axis=1), np.delete(weakest, 1, axis=1))
    back_keypoints, back_scores = from_openpose134(flag[..., :2], flag[..., 2])
    np.testing.assert_array_equal(back_keypoints, keypoints)
    np.testing.assert_array_equal(back_scores, scores)
    result = PoseResult.from_keypoints(keypoints, scores, (100, 100))
    np.testing.assert_array_equal(result.to_openpose134("min"), weakest)
    with pytest.raises(InputError, match="neck_score"):
        result.to_openpose134("mean")


def test_no_warnings_on_the_plain_paths(pose_onnx, weights_folder, sample_rgb):
    """Deprecation and fallback warnings come only from the calls that earn them."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        controlnet_aux.DWposeDetector(det_model=None, pose_model=pose_onnx)(sample_rgb, 256, 256)
        easy_dwpose.DWposeDetector(det_model=None, pose_model=pose_onnx)(sample_rgb, 256)
        comfyui.DwposeDetector.from_pretrained(weights_folder)(sample_rgb, 256, include_hand=True)


# --------------------------------------------------------------------------- issue 20: local model files

# rtmlib 0.0.16's PoseTracker.__init__ parameters, in order (rtmlib/tools/solution/pose_tracker.py).
RTMLIB_POSE_TRACKER = ["solution", "det_frequency", "tracking", "tracking_thr", "mode", "to_openpose", "backend",
                       "device"]


@pytest.fixture(scope="module")
def yolox_pth(tmp_path_factory):
    """A random YOLOX-tiny as a Megvii-style `.pth` ({"model": state dict})."""
    import torch

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("yolox_pth") / "yolox_tiny_random.pth"
    torch.save({"model": dwpose.create_model("yolox-tiny").state_dict()}, path)
    return path


def test_pose_tracker_takes_rtmlibs_signature_and_local_files(t_checkpoint, yolox_s_onnx, sample_bgr):
    import inspect

    assert list(inspect.signature(rtmlib.PoseTracker).parameters)[:len(RTMLIB_POSE_TRACKER)] == RTMLIB_POSE_TRACKER
    # What the README shows: rtmlib's call, local files as keywords of the solution (a .pth picks torch).
    tracker = rtmlib.PoseTracker(rtmlib.Wholebody, det=str(yolox_s_onnx), pose=str(t_checkpoint), det_frequency=10,
                                 to_openpose=False, device="cpu")
    assert tracker.model.device_info.startswith("pose: torch")
    assert tracker.model._files[:2] == (t_checkpoint, yolox_s_onnx)
    keypoints, scores = tracker(sample_bgr)
    assert keypoints.shape[1:] == (133, 2) and scores.shape == keypoints.shape[:2]
    # rtmlib's own spelling (functools.partial) gives the same tracker.
    same = rtmlib.PoseTracker(partial(rtmlib.Wholebody, det=str(yolox_s_onnx), pose=str(t_checkpoint)), det_frequency=10)
    np.testing.assert_array_equal(same(sample_bgr)[0], keypoints)
    with pytest.raises(InputError, match="ready Wholebody"):
        rtmlib.PoseTracker(tracker.model, pose=str(t_checkpoint))


def test_every_adapter_picks_the_backend_of_its_local_files(t_checkpoint, pose_onnx, yolox_pth, tmp_path):
    """One rule (`backends.backend_for_files`): torch when a file is a PyTorch checkpoint, else onnxruntime;
    each adapter under its peer's argument names."""
    folder = tmp_path / "weights"
    folder.mkdir()
    (folder / "mine.pth").write_bytes(t_checkpoint.read_bytes())
    made = {
        "rtmlib pth": rtmlib.Wholebody(det=None, pose=t_checkpoint),
        "rtmlib onnx": rtmlib.Wholebody(det=None, pose=pose_onnx),
        "rtmlib onnx + yolox pth": rtmlib.Wholebody(det=yolox_pth, pose=pose_onnx),
        "controlnet_aux": controlnet_aux.DWposeDetector(pose_ckpt=t_checkpoint, det_model=None),
        "easy_dwpose": easy_dwpose.DWposeDetector(pose_model=t_checkpoint, det_model=None),
        "comfyui": comfyui.DwposeDetector.from_pretrained(folder, pose_filename="mine.pth"),
    }
    backends = {name: adapter.device_info.split()[1] for name, adapter in made.items()}  # "pose: <backend> ..."
    assert backends == {"rtmlib pth": "torch", "rtmlib onnx": "onnxruntime", "rtmlib onnx + yolox pth": "torch",
                        "controlnet_aux": "torch", "easy_dwpose": "torch", "comfyui": "torch"}
    with pytest.raises(DWPoseError, match="PyTorch checkpoint"):
        rtmlib.Wholebody(det=None, pose=t_checkpoint, backend="onnxruntime")  # asked for: kept, and explained
def test_sizes_the_peers_cannot_take_are_one_input_error(pose_onnx, nobody_onnx, easy, weights_folder, sample_rgb,
                                                         sample_bgr):
    """detect_resolution far over the CLI's 16384 cap, images over OpenCV's 32766 px side, and
    boxes that are not numbers: one InputError each, never an OpenCV error or MemoryError."""
    from dwpose.errors import ImageTooLargeError

    aux = controlnet_aux.DWposeDetector(det_model=nobody_onnx, pose_model=pose_onnx)
    comfy = comfyui.DwposeDetector.from_pretrained(weights_folder)
    wholebody = rtmlib.Wholebody(det=None, pose=pose_onnx)
    for call in (lambda: aux(sample_rgb, detect_resolution=10**6), lambda: aux(sample_rgb, image_resolution=10**6),
                 lambda: easy(sample_rgb, detect_resolution=10**6), lambda: comfy(sample_rgb, detect_resolution=10**6)):
        with pytest.raises(InputError, match=r"must be a whole number in [01]\.\.16384, got 1000000"):
            call()
    assert aux(sample_rgb, detect_resolution=16384 // 8, image_resolution=64, output_type="np").shape[1] == 64
    wide = np.full((8, 32767, 3), 128, np.uint8)
    for call in (lambda: wholebody(wide), lambda: comfy(wide, detect_resolution=0),
                 lambda: aux(wide[..., ::-1], detect_resolution=8)):
        with pytest.raises(ImageTooLargeError, match="over the 32766 px per side dwpose takes"):
            call()
    assert wholebody(wide[:, :32766])[0].shape == (1, 133, 2)
    # A resolution in range that would make a side too long is refused before the resize allocates it.
    strip = np.zeros((32, 66, 3), np.uint8)  # short side 16384 makes the long side 33792
    for call in (lambda: aux(strip, detect_resolution=16384), lambda: easy(strip, detect_resolution=16384),
                 lambda: comfy(strip, detect_resolution=16384)):
        with pytest.raises(ImageTooLargeError, match=r"resized to resolution 16384: \d+x16384 px, over the 32766"):
            call()
    for boxes in ("abc", [[1, 2, "x", 4]], [[0, 0, 10]], 5.0, [[0, 0, np.nan, 10]], [[1, 2], [3, 4, 5, 6]]):
        with pytest.raises(InputError, match="boxes must be rows of"):
            wholebody(sample_bgr, boxes)
