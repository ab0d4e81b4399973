"""Drawing styles: every style against the images its peer's own code drew
(shared/reference/styles, see its README), the peers' conversion steps, rtmlib's overlays against
expectations derived from rtmlib's drawing rules, and the `render` API."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from dwpose.drawing import STYLES, get_style, list_styles, render
from dwpose.drawing.mimicmotion import mimicmotion_pose
from dwpose.drawing.musepose import musepose_pose
from dwpose.errors import InputError
from dwpose.result import PoseResult
from tests.conftest import REFERENCE

STYLE_REFERENCE = REFERENCE / "styles"
REFERENCE_PNGS = sorted(STYLE_REFERENCE.glob("*.png"))
# Reference style name (file name prefix) -> our style and options.
REFERENCE_STYLES = {
    "controlnet": ("controlnet", {}),  # DWPose's own annotator: the default style
    "comfyui": ("comfyui", {}),
    "comfyui_xinsir": ("xinsir", {}),
    "comfyui_xinsir1536": ("xinsir", {}),
    "musepose": ("musepose", {"draw_face": True}),
    "musepose_noface": ("musepose", {"include_face": False}),
    "mimicmotion": ("mimicmotion", {}),
    "controlnext": ("controlnext", {}),
}


def reference_result(image_id: str, case: str, xinsir1536: bool = False) -> PoseResult:
    """The sample poses as the peers got them: float64 pixels, scores of the `vis`/`rand` case."""
    inputs = np.load(STYLE_REFERENCE / f"inputs_{image_id}.npz")
    keypoints, size = inputs["keypoints"], (int(inputs["width"]), int(inputs["height"]))
    if xinsir1536:  # drawn on the 1536 canvas with the keypoints scaled by the same factor
        keypoints = keypoints * inputs["xinsir1536_scale"]
        size = (int(inputs["xinsir1536_width"]), int(inputs["xinsir1536_height"]))
    return PoseResult.from_keypoints(keypoints, inputs[f"scores_{case}"], size)


def read_rgb(path: Path) -> np.ndarray:
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)[..., ::-1]


def test_reference_set_is_complete():
    manifest = json.loads((STYLE_REFERENCE / "manifest.json").read_text())
    assert len(REFERENCE_PNGS) == len(manifest["files"]) == 64
    assert {p.name.rsplit("_", 2)[0] for p in REFERENCE_PNGS} == set(REFERENCE_STYLES)


@pytest.mark.parametrize("png", REFERENCE_PNGS, ids=[p.stem for p in REFERENCE_PNGS])
def test_style_is_pixel_identical_to_its_peer(png):
    reference_style, image_id, case = png.stem.rsplit("_", 2)
    style, options = REFERENCE_STYLES[reference_style]
    result = reference_result(image_id, case, xinsir1536=reference_style.endswith("1536"))
    expected = read_rgb(png)
    drawn = render(result, style, **options)
    assert drawn.dtype == np.uint8 and drawn.shape == expected.shape
    differing = int((drawn != expected).any(axis=2).sum())
    assert differing == 0, f"{differing} pixels differ from {png.name}"


CONTROLNET_PNGS = [p for p in REFERENCE_PNGS if p.name.startswith("controlnet_")]


def test_every_reference_render_is_compared():
    """64 renders: 8 per style, DWPose's annotator included (a style left out of
    REFERENCE_STYLES would make the parametrised test above fail on its files)."""
    assert len(CONTROLNET_PNGS) == 8
    assert {p.name.rsplit("_", 2)[0] for p in REFERENCE_PNGS} == set(REFERENCE_STYLES)


@pytest.mark.parametrize("png", CONTROLNET_PNGS, ids=[p.stem for p in CONTROLNET_PNGS])
def test_default_drawing_is_dwposes_annotator(png):
    """What the user gets without naming a style (render's default, draw_openpose,
    easy_dwpose's draw_openpose) is DWPose's own ControlNet annotator, byte for byte."""
    from dwpose.adapters.easy_dwpose import draw_openpose as easy_draw_openpose
    from dwpose.drawing import draw_openpose

    _, image_id, case = png.stem.rsplit("_", 2)
    result = reference_result(image_id, case)
    expected = read_rgb(png)
    np.testing.assert_array_equal(render(result), expected)
    np.testing.assert_array_equal(draw_openpose(result), expected)
    np.testing.assert_array_equal(easy_draw_openpose.render(result), expected)


def _reference_pipeline(case: str):
    """A stand-in for WholebodyPipeline.from_files whose poses are the reference inputs of the
    image it is given (found by size): the drawing path after the network, unchanged."""
    results = {}
    for path in sorted(STYLE_REFERENCE.glob("inputs_*.npz")):
        result = reference_result(path.stem.split("_")[1], case)
        results[result.image_size] = result

    class Pipeline:
        @classmethod
        def from_files(cls, *args, **kwargs):
            return cls()

        def __call__(self, image, boxes=None):
            return results[(image.shape[1], image.shape[0])]

    return Pipeline


@pytest.mark.parametrize("case", ["vis", "rand"])
def test_predict_default_writes_the_controlnet_render(tmp_path, monkeypatch, pose_onnx, case):
    from dwpose.cli import main
    from tests.conftest import DATA

    monkeypatch.setattr("dwpose.cli.predict.WholebodyPipeline", _reference_pipeline(case))
    images = sorted((DATA / "coco_wholebody_val_sample").glob("*.jpg"))
    assert main(["predict", *map(str, images), "--out", str(tmp_path), "--pose-model", str(pose_onnx),
                 "--no-detector", "--no-progress"]) == 0
    for image in images:
        np.testing.assert_array_equal(read_rgb(tmp_path / f"{image.stem}_pose.png"),
                                      read_rgb(STYLE_REFERENCE / f"controlnet_{image.stem}_{case}.png"),
                                      err_msg=image.name)


def test_dwpose_detector_default_is_the_controlnet_render(pose_onnx, monkeypatch):
    """controlnet_aux's DWposeDetector without `style`: the controlnet render at the detect size,
    then resized to the generation size as controlnet_aux does."""
    from dwpose.adapters._common import resize_map
    from dwpose.drawing import controlnet_size
    from dwpose.solutions import DWposeDetector

    detector = DWposeDetector(det_model=None, pose_model=pose_onnx)
    result = reference_result("000000197388", "rand")
    monkeypatch.setattr(detector, "detect", lambda image, detect_resolution=512: result)
    drawn = detector(np.zeros((8, 8, 3), np.uint8), image_resolution=512, output_type="np")
    expected = read_rgb(STYLE_REFERENCE / "controlnet_000000197388_rand.png")
    size = controlnet_size(result.image_size, 512)
    np.testing.assert_array_equal(drawn, resize_map(expected, size, cv2.INTER_LINEAR))


POSE_DICTS = sorted(STYLE_REFERENCE.glob("pose_*.npz"))


@pytest.mark.parametrize("path", POSE_DICTS, ids=[p.stem for p in POSE_DICTS])
def test_conversion_to_the_peers_pose_dict(path):
    """MusePose's / MimicMotion's pose dicts (after their own conversion) are ours, exactly."""
    _, peer, image_id, case = path.stem.split("_")
    expected = np.load(path)
    result = reference_result(image_id, case)
    assert (int(expected["W"]), int(expected["H"])) == result.image_size
    if peer == "musepose":
        pose = musepose_pose(result)
        fields = {"bodies_candidate": pose.candidate, "bodies_subset": pose.subset, "hands": pose.hands,
                  "faces": pose.faces}
    else:
        pose = mimicmotion_pose(result)
        fields = {"bodies_candidate": pose.candidate, "bodies_subset": pose.subset, "bodies_score": pose.body_scores,
                  "hands": pose.hands, "hands_score": pose.hands_score, "faces": pose.faces,
                  "faces_score": pose.faces_score}
    for key, ours in fields.items():
        np.testing.assert_array_equal(ours, expected[key], err_msg=key)
        assert ours.dtype == expected[key].dtype, key


def test_aliases_and_peer_option_names():
    result = reference_result("000000040083", "rand")
    np.testing.assert_array_equal(render(result, "xinsir"), render(result, "comfyui", xinsr_stick_scaling=True))
    np.testing.assert_array_equal(render(result, "controlnext"), render(result, "mimicmotion"))
    np.testing.assert_array_equal(render(result, "musepose", draw_face=False), render(result, "musepose", include_face=False))
    # MimicMotion draws at short side ref_w and then resizes: another ref_w gives another image.
    assert (render(result, "mimicmotion", ref_w=512) != render(result, "mimicmotion")).any()


# ---------------------------------------------------------------- every style, generic behaviour


@pytest.mark.parametrize("style", list_styles())
def test_every_style_size_toggles_feet_and_photo(style):
    result = reference_result("000000197388", "vis")
    width, height = result.image_size
    full = render(result, style)
    assert full.shape == (height, width, 3) and full.dtype == np.uint8 and full.flags.c_contiguous and full.any()
    assert not render(result, style, include_body=False, include_hand=False, include_face=False).any()
    assert not render(PoseResult.empty((width, height)), style).any()
    smaller = render(result, style, output_size=(320, 196))
    assert smaller.shape == (196, 320, 3) and smaller.any()
    # Feet: white ankle-to-toe lines on the styles without feet of their own (mmpose has its own);
    # grey at the edges where mimicmotion resizes its 2160 canvas down.
    feet_only = render(result, style, include_body=False, include_hand=False, include_face=False, include_foot=True)
    assert feet_only.any()
    if style != "mmpose":
        drawn_feet = feet_only[feet_only.any(axis=2)].astype(int)
        assert (drawn_feet == drawn_feet[:, :1]).all()
    # A photo: drawn pixels are the drawing's, the others the photo's.
    photo = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    over = render(result, style, image=photo)
    drawn = full.any(axis=2)
    assert (over[~drawn] == photo[~drawn]).all() and (over[drawn] == full[drawn]).all()
    assert (render(result, style, image=photo[:100, :150]) != 0).all(axis=2).mean() > 0.5  # resized to fit
    np.testing.assert_array_equal(render(PoseResult.empty((width, height)), style, image=photo), photo)


def test_keeps_the_callers_float_type():
    """The peers' int(x / W * W) rounding depends on the float type, so it is never changed."""
    result = reference_result("000000000785", "rand")
    single = PoseResult.from_keypoints(result.keypoints.astype(np.float32), result.scores.astype(np.float32),
                                       result.image_size)
    for pose, dtype in ((musepose_pose(result), np.float64), (musepose_pose(single), np.float32),
                        (mimicmotion_pose(single), np.float32)):
        assert pose.candidate.dtype == dtype and pose.hands.dtype == dtype
    for style in STYLES:
        assert render(single, style).shape == render(result, style).shape


def test_bad_style_names_and_options():
    result = reference_result("000000000785", "vis")
    with pytest.raises(InputError, match="styles: controlnet, comfyui, xinsir, musepose, mimicmotion, controlnext"):
        render(result, "openpose")
    with pytest.raises(InputError, match="mmpose"):
        get_style(None)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="option kpt_thr .*its options: xinsr_stick_scaling"):
        render(result, "comfyui", kpt_thr=0.3)
    with pytest.raises(InputError, match="ref_w must be a whole number"):
        render(result, "mimicmotion", ref_w=0)
    with pytest.raises(InputError, match="kpt_thr must be a finite number"):
        render(result, "mmpose", kpt_thr=float("nan"))
    with pytest.raises(InputError, match="draw_face must be True or False"):
        render(result, "musepose", draw_face="yes")
    with pytest.raises(InputError, match=r"image must be an \(H, W, 3\) uint8 RGB array"):
        render(result, "mmpose", image=np.zeros((10, 10), np.uint8))
    with pytest.raises(InputError, match="canvas size"):
        render(result, output_size=(0, 10))
    with pytest.raises(InputError, match="PoseResult"):
        render(result.keypoints, "controlnet")  # type: ignore[arg-type]


# ------------------------------------------- rtmlib's overlays, against rules read from rtmlib


def one_person(points: dict[int, tuple[float, float, float]], num_points: int = 133, size=(200, 160)) -> PoseResult:
    """A person whose only points (x, y, score) are `points` (COCO-WholeBody indices)."""
    keypoints = np.zeros((1, num_points, 2))
    scores = np.zeros((1, num_points))
    for index, (x, y, score) in points.items():
        keypoints[0, index] = x, y
        scores[0, index] = score
    return PoseResult.from_keypoints(keypoints, scores, size)


def colour(image: np.ndarray, x: int, y: int) -> tuple[int, int, int]:
    return tuple(int(v) for v in image[y, x])


def test_mmpose_overlay_rules():
    # rtmlib writes its palette into BGR frames, so in RGB every colour appears reversed:
    # right side orange (255,128,0) -> (0,128,255), left green stays, head blue (51,153,255) -> (255,153,51).
    result = one_person({
        6: (100, 40, 0.9), 8: (100, 100, 0.6),  # right shoulder -> right elbow, a visible link
        0: (30, 30, 0.5),                       # nose alone (eyes absent): a joint, no link; 0.5 passes (>=)
        1: (60, 30, 0.49),                      # left eye just below rtmlib's 0.5: not drawn
        15: (150, 120, 0.9), 17: (170, 140, 0.9),  # left ankle -> left big toe: rtmlib's own foot link
    })
    drawn = render(result, "mmpose")
    assert colour(drawn, 100, 70) == (0, 128, 255)       # link midpoint, line 2 px
    assert colour(drawn, 102, 70) == (0, 0, 0)           # beyond the line's width
    assert colour(drawn, 30, 30) == (255, 153, 51)       # nose joint centre, radius 2
    assert colour(drawn, 32, 30) == (255, 153, 51) and colour(drawn, 33, 30) == (0, 0, 0)
    assert colour(drawn, 60, 30) == (0, 0, 0)            # below the threshold
    assert colour(drawn, 160, 130) == (0, 255, 0)        # foot link (left: green)
    # Links are drawn after the joints: at the elbow the link's colour covers the joint disc.
    assert colour(drawn, 100, 99) == (0, 128, 255)
    # kpt_thr is rtmlib's draw_skeleton argument: at 0.45 the eye is drawn (left side of head: blue too).
    assert colour(render(result, "mmpose", kpt_thr=0.45), 60, 30) == (255, 153, 51)
    # Part toggles: feet belong to mmpose's body; alone (include_foot) the toe joints are drawn
    # (all six foot points are orange in rtmlib's table), the ankle-toe link needs the ankle.
    no_body = render(result, "mmpose", include_body=False)
    assert colour(no_body, 160, 130) == colour(no_body, 170, 140) == (0, 0, 0)
    feet_alone = render(result, "mmpose", include_body=False, include_foot=True)
    assert colour(feet_alone, 170, 140) == (0, 128, 255) and colour(feet_alone, 160, 130) == (0, 0, 0)


def test_openpose134_overlay_rules():
    # COCO indices: 5/6 left/right shoulder, 8 right elbow, 10 right wrist; the 134 layout puts the
    # neck (1) at the shoulders' midpoint, right shoulder 2, right elbow 3, right wrist 4.
    result = one_person({
        5: (140, 40, 0.9), 6: (60, 40, 0.9),        # neck at (100, 40)
        8: (60, 100, 0.9), 10: (0, 150, 0.9),       # the wrist sits on the image border (x = 0)
        23 + 30: (120, 120, 0.9),                   # a face point
    })
    drawn = render(result, "openpose134")
    # Limbs: the listed colour lands reversed (BGR frame), joints as listed (rtmlib reverses them).
    assert colour(drawn, 80, 40) == (0, 0, 255)       # limb 0 neck -> right shoulder, listed red
    assert colour(drawn, 100, 40) == (255, 85, 0)     # neck joint
    assert colour(drawn, 60, 40) == (255, 170, 0)     # right shoulder joint
    assert colour(drawn, 60, 70) == (0, 170, 255)     # limb 2 right shoulder -> elbow, listed (255,170,0)
    assert colour(drawn, 80, 44) == (0, 0, 255) and colour(drawn, 80, 45) == (0, 0, 0)  # half-width 2 x line_width
    # A link with an end on the border is skipped; the joint there is still drawn.
    assert colour(drawn, 30, 125) == (0, 0, 0)
    assert colour(drawn, 0, 150) == (170, 255, 0)
    # Face joints have radius 3, the others 4.
    assert colour(drawn, 123, 120) == (255, 255, 255) and colour(drawn, 124, 120) == (0, 0, 0)
    assert colour(drawn, 64, 100) == (255, 255, 0) and colour(drawn, 65, 100) == (0, 0, 0)
    # The neck's score is the weaker shoulder's (DWPose's is a 0/1 flag): 0.4 < 0.5, no neck.
    weak = one_person({5: (140, 40, 0.9), 6: (60, 40, 0.4)})
    weak_drawn = render(weak, "openpose134")
    assert colour(weak_drawn, 100, 40) == (0, 0, 0) and colour(weak_drawn, 140, 40) == (85, 255, 0)
    assert colour(render(weak, "openpose134", kpt_thr=0.3), 100, 40) == (255, 85, 0)


def test_openpose134_hand_colours_and_feet():
    # Hand edge 10 joins points 10 and 11 (middle finger 2 -> 3). rtmlib lists it (0,255,255) for the
    # left hand and white for the right hand; links land reversed, hand joints blue.
    hands = {91 + 10: (40, 80, 0.9), 91 + 11: (100, 80, 0.9), 112 + 10: (40, 130, 0.9), 112 + 11: (100, 130, 0.9)}
    drawn = render(one_person(hands), "openpose134")
    assert colour(drawn, 70, 80) == (255, 255, 0) and colour(drawn, 70, 130) == (255, 255, 255)
    assert colour(drawn, 70, 81) == (255, 255, 0) and colour(drawn, 70, 82) == (0, 0, 0)  # 2 px lines
    assert colour(drawn, 40, 80) == colour(drawn, 100, 130) == (0, 0, 255)
    assert not render(one_person(hands), "openpose134", include_hand=False).any()
    feet = one_person({15: (60, 100, 0.9), 17: (90, 110, 0.9)})
    assert not render(feet, "openpose134", include_body=False).any()   # its feet are black: skipped
    with_feet = render(feet, "openpose134", include_body=False, include_foot=True)
    assert colour(with_feet, 75, 105) == (255, 255, 255)


# ------------------------------------------------------------------------ command line, adapters


def test_predict_style_flag(tmp_path, pose_onnx):
    from dwpose.cli import main
    from dwpose.inference.io import read_image
    from dwpose.inference.pipeline import WholebodyPipeline
    from tests.conftest import DATA

    image = DATA / "media" / "human-pose.jpeg"
    args = ["predict", str(image), "--out", str(tmp_path), "--pose-model", str(pose_onnx), "--no-detector", "--no-progress"]
    assert main([*args, "--style", "musepose"]) == 0
    written = read_rgb(tmp_path / "human-pose_pose.png")
    result = WholebodyPipeline.from_files(pose_onnx, None)(read_image(image))
    np.testing.assert_array_equal(written, render(result, "musepose"))
    assert (written != render(result)).any()
    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--style", "bogus"])
    assert exit_info.value.code == 2


def test_dwpose_detector_style(pose_onnx, sample_bgr):
    from dwpose.solutions import DWposeDetector

    with pytest.raises(InputError, match="unknown drawing style"):
        DWposeDetector(det_model=None, pose_model=pose_onnx, style="nope")
    detector = DWposeDetector(det_model=None, pose_model=pose_onnx, style="mimicmotion")
    rgb = np.ascontiguousarray(sample_bgr[..., ::-1])
    result = detector.detect(rgb, detect_resolution=256)
    default = detector(rgb, detect_resolution=256, image_resolution=256, output_type="np")
    expected = cv2.resize(render(result, "mimicmotion"), default.shape[1::-1], interpolation=cv2.INTER_LINEAR)
    np.testing.assert_array_equal(default, expected)
    per_call = detector(rgb, detect_resolution=256, image_resolution=256, output_type="np", style="controlnet")
    assert (per_call != default).any()
