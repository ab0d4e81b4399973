"""easy_dwpose's `DWposeDetector` (reallyigor/easy_dwpose). Switch with one line:
`from dwpose.adapters.easy_dwpose import DWposeDetector` (and `draw_openpose`, `draw_musepose`,
`draw_mimicmotion` from here for `easy_dwpose.draw`'s functions).

Its calls: `DWposeDetector(device="cpu")`, `detector(image, detect_resolution=512,
draw_pose=draw_openpose, output_type="pil", **kwargs)`. The RGB image is resized to
`detect_resolution` (short side, each side rounded to a multiple of 64) and the poses found
there. `draw_pose=None` returns easy_dwpose's pose dict; otherwise `draw_pose(pose, height=,
width=, **kwargs)` draws at the detect size and the map is resized (bilinear: what
easy_dwpose's `cv2.resize` call really does) to the input's own size. The keyword arguments go
to the drawing: `include_hands` / `include_face` (draw_openpose), `draw_face`
(draw_musepose), `ref_w` (draw_mimicmotion), and dwpose's `include_body` / `include_foot`.
`draw_pose` may also be a style name (`dwpose.drawing.STYLES`) or your own function of the
pose dict. No person found gives a black map (easy_dwpose would pose the whole image)."""

from __future__ import annotations

import os

import cv2
import numpy as np

from ..drawing import controlnet_resize, get_style, render
from ..drawing.mimicmotion import mimicmotion_pose
from ..drawing.primitives import BODY, FACE, LEFT_HAND, RIGHT_HAND
from ..errors import InputError
from ..formats.openpose import from_openpose134
from ..models.rtmpose import DEFAULT_DETECTOR, DEFAULT_POSE
from ..result import PoseResult
from ..skeleton import NUM_OPENPOSE_KEYPOINTS
from ._common import (
    PipelineHolder, as_output, check_flags, check_resolution, image_to_bgr, output_type_of, resize_map,
)

__all__ = ["DWposeDetector", "StyleDrawer", "draw_mimicmotion", "draw_musepose", "draw_openpose", "pose_dict"]

# easy_dwpose's drawing keywords -> render()'s part toggles.
_PART_KEYWORDS = {"include_body": "include_body", "include_hands": "include_hand", "include_hand": "include_hand",
                  "include_face": "include_face", "draw_face": "include_face", "include_foot": "include_foot"}


def pose_dict(result: PoseResult) -> dict:
    """easy_dwpose's pose dict: `bodies` (N * 18, 2), `body_scores` (N, 18: the index of the
    point in `bodies` where its score is > 0.3, else -1), `hands` (2N, 21, 2: all left hands,
    then all right hands), `hands_scores` (2N, 21), `faces` (N, 68, 2), `faces_scores`
    (N, 68); coordinates are fractions of the image's width and height, nothing masked."""
    pose = mimicmotion_pose(result)  # MimicMotion's conversion is the same as easy_dwpose's
    return {"bodies": pose.candidate, "body_scores": pose.subset, "hands": pose.hands,
            "hands_scores": pose.hands_score, "faces": pose.faces, "faces_scores": pose.faces_score}


def result_from_pose_dict(pose: dict) -> PoseResult:
    """The poses of an easy_dwpose pose dict, in fractions of the image (image size 1 x 1):
    drawn with `output_size=(W, H)` they land on the pixels easy_dwpose draws. Body scores are
    1 or 0 (the dict keeps only which body points pass 0.3); feet are absent."""
    try:
        subset = np.asarray(pose["body_scores"], np.float64).reshape(-1, BODY.stop)
        people = len(subset)
        info = np.zeros((people, NUM_OPENPOSE_KEYPOINTS, 3), np.float64)
        info[:, BODY, :2] = np.asarray(pose["bodies"], np.float64).reshape(-1, BODY.stop, 2)[:people]
        info[:, BODY, 2] = subset >= 0
        hands = np.asarray(pose["hands"], np.float64).reshape(-1, 21, 2)
        hand_scores = np.asarray(pose["hands_scores"], np.float64).reshape(-1, 21)
        for hand, rows in ((LEFT_HAND, slice(0, people)), (RIGHT_HAND, slice(people, 2 * people))):
            info[:, hand, :2], info[:, hand, 2] = hands[rows], hand_scores[rows]
        info[:, FACE, :2] = np.asarray(pose["faces"], np.float64).reshape(-1, 68, 2)[:people]
        info[:, FACE, 2] = np.asarray(pose["faces_scores"], np.float64).reshape(-1, 68)[:people]
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"not an easy_dwpose pose dict ({type(exc).__name__}: {exc})") from None
    keypoints, scores = from_openpose134(info[..., :2], info[..., 2])
    return PoseResult.from_keypoints(keypoints, scores, (1, 1))


class StyleDrawer:
    """A drawing function in easy_dwpose's shape, `draw(pose, height, width, **kwargs)`, that
    draws one of dwpose's styles. Given to the detector it draws from the detector's own poses
    (real scores); called on a pose dict it draws the poses of the dict."""

    def __init__(self, style: str, include_face: bool = True) -> None:
        self.style = get_style(style).name
        self.include_face = include_face

    def __repr__(self) -> str:
        return f"StyleDrawer({self.style!r})"

    def render(self, result: PoseResult, output_size: tuple[int, int] | None = None, **kwargs) -> np.ndarray:
        parts = {"include_body": True, "include_hand": True, "include_face": self.include_face, "include_foot": False}
        options = {}
        for key, value in kwargs.items():
            if key in _PART_KEYWORDS:
                check_flags(**{key: value})
                parts[_PART_KEYWORDS[key]] = bool(value)
            else:
                options[key] = value  # the style's own options; render() names the allowed ones
        return render(result, self.style, **parts, output_size=output_size, **options)

    def __call__(self, pose: dict, height: int, width: int, **kwargs) -> np.ndarray:
        return self.render(result_from_pose_dict(pose), (check_resolution(width, "width"),
                                                         check_resolution(height, "height")), **kwargs)


draw_openpose = StyleDrawer("controlnet")
draw_musepose = StyleDrawer("musepose", include_face=False)  # easy_dwpose's MusePose drawing: draw_face=
draw_mimicmotion = StyleDrawer("mimicmotion")


class DWposeDetector(PipelineHolder):
    """easy_dwpose-style: an RGB image (PIL or array) in; the pose map at the input's own size
    (PIL by default), or the pose dict with `draw_pose=None`. Weights default to the official
    DWPose files (`det_model=None`: no detector, the whole image is one person)."""

    def __init__(self, device: object = "cpu", *, det_model: str | os.PathLike | None = DEFAULT_DETECTOR,
                 pose_model: str | os.PathLike = DEFAULT_POSE, backend: str | None = None,
                 det_arch: str | None = None, dtype: str = "float32") -> None:
        self._build(det_model, pose_model, backend, device, det_arch, dtype)

    def __call__(self, image: object, detect_resolution: int = 512, draw_pose: object = draw_openpose,
                 output_type: str = "pil", **kwargs):
        output_type = output_type_of(output_type, {}, default="pil")
        detect_resolution = check_resolution(detect_resolution, "detect_resolution")
        if isinstance(draw_pose, str):
            draw_pose = StyleDrawer(draw_pose)
        if draw_pose is not None and not callable(draw_pose):
            raise InputError(f"draw_pose must be a drawing function, a style name or None, got {draw_pose!r}")
        bgr = image_to_bgr(image, "image")
        height, width = bgr.shape[:2]
        result = self.detect_bgr(controlnet_resize(bgr, detect_resolution) if bgr.size else bgr)
        if draw_pose is None:
            return pose_dict(result)
        detect_width, detect_height = result.image_size
        if not bgr.size:
            canvas = np.zeros((height, width, 3), np.uint8)
        elif isinstance(draw_pose, StyleDrawer):
            canvas = draw_pose.render(result, **kwargs)
        else:
            canvas = np.asarray(draw_pose(pose_dict(result), height=detect_height, width=detect_width, **kwargs))
            if canvas.dtype != np.uint8 or canvas.ndim != 3 or canvas.shape[2] != 3:
                raise InputError(f"draw_pose must return an (H, W, 3) uint8 image, got {canvas.dtype} {canvas.shape}")
        # easy_dwpose passes INTER_LANCZOS4 where cv2.resize expects `dst`: it resizes bilinearly.
        return as_output(resize_map(canvas, (width, height), cv2.INTER_LINEAR), output_type)
