"""rtmlib's `Wholebody`, `PoseTracker`, `draw_skeleton` and `draw_bbox` (Tau-J/rtmlib).
Switch with one line: `from dwpose.adapters.rtmlib import Wholebody, PoseTracker, draw_skeleton`.

- `Wholebody(det, det_input_size, pose, pose_input_size, mode, to_openpose, backend, device)`
  called on a BGR frame returns `(keypoints (N, 133, 2), scores (N, 133))`, or with
  `to_openpose=True` rtmlib's 134-point layout, whose neck score is the weaker shoulder's
  (`neck_score="flag"`: DWPose's 0/1). `mode` "performance", "balanced" or "lightweight" runs
  rtmlib's presets: the same RTMW and Human-Art YOLOX files and detector sizes
  (`dwpose.models.rtmw.RTMLIB_MODES`); without a mode (our default; rtmlib's is "balanced") the
  DWPose files, as before RTMW. `det` / `pose` given (local paths, registry file names or
  rtmlib's URLs) replace the preset's; `backend=None` (the default) picks torch when one of
  them is a PyTorch checkpoint, else onnxruntime (rtmlib's default). The pose input size is
  read from the file, the detector's too where the file fixes it (else `det_input_size`, else the
  mode's). `det=None` runs without a detector (the whole image, or the `bboxes` you pass).
  When the detector finds nobody the result is empty; `whole_image_fallback=True` poses the
  whole image instead, as rtmlib does.
- `PoseTracker(solution, det_frequency=1, tracking=True, tracking_thr=0.3, mode, to_openpose,
  backend, device, **solution_kwargs)` called on each frame returns `(keypoints, scores)`
  (rtmlib's signature; extra keywords such as `det=` / `pose=` go to the solution, like
  rtmlib's `functools.partial(Wholebody, det=..., pose=...)`): the detector runs every
  `det_frequency` frames, in between each person's box follows its keypoints (their extent x
  1.25, as rtmlib: `inference.tracking.rtmlib_pose_to_bbox`, exported here as rtmlib's
  `pose_to_bbox`); with `tracking` people keep ids across frames (`track_ids`) and come out
  ordered by id.
- `draw_skeleton(img, keypoints, scores, openpose_skeleton=False, kpt_thr=0.5, radius=2,
  line_width=2)` draws into the BGR frame (in place, returned) in rtmlib's mmpose style, or its
  openpose134 style; 133- and 134-point layouts are both accepted."""

from __future__ import annotations

import os
from typing import Any, Callable

import cv2
import numpy as np

from ..drawing import render
from ..errors import InputError
from ..formats.openpose import NECK_SCORES, from_openpose134
from ..inference.tracking import IoUTracker
from ..inference.tracking import rtmlib_pose_to_bbox as pose_to_bbox  # rtmlib's name, in this module's API
from ..models.rtmpose import DWPOSE_PRESET
from ..models.rtmw import RTMLIB_MODES
from ..result import PoseResult
from ..skeleton import NUM_KEYPOINTS, NUM_OPENPOSE_KEYPOINTS
from ._common import PipelineHolder, check_flags, image_to_bgr

__all__ = ["PoseTracker", "Wholebody", "draw_bbox", "draw_skeleton", "pose_to_bbox", "xyxy_boxes"]

MODES = tuple(RTMLIB_MODES)


class _FromMode:
    """Marks `det` left to the mode (None already means "no detector")."""

    def __repr__(self) -> str:
        return "<the mode's>"


FROM_MODE: Any = _FromMode()


class Wholebody(PipelineHolder):
    """rtmlib-style: `Wholebody(...)(bgr_image) -> (keypoints (N, 133, 2), scores (N, 133))`."""

    def __init__(self, det: str | os.PathLike | None = FROM_MODE, det_input_size: tuple | None = None,
                 pose: str | os.PathLike | None = None, pose_input_size: tuple = (288, 384), mode: str | None = None,
                 to_openpose: bool = False, backend: str | None = None, device: object = "cpu", *,
                 det_arch: str | None = None, dtype: str = "float32", neck_score: str = "min",
                 whole_image_fallback: bool = False) -> None:
        if mode is not None and mode not in MODES:
            raise InputError(f"mode must be one of {', '.join(MODES)} (or None: DWPose), got {mode!r}")
        if neck_score not in NECK_SCORES:
            raise InputError(f"neck_score must be one of {', '.join(NECK_SCORES)}, got {neck_score!r}")
        check_flags(to_openpose=to_openpose, whole_image_fallback=whole_image_fallback)
        self.mode = mode
        self.to_openpose = to_openpose
        self.neck_score = neck_score
        self.whole_image_fallback = whole_image_fallback
        preset = RTMLIB_MODES[mode] if mode is not None else DWPOSE_PRESET
        self._build(preset.det if det is FROM_MODE else det, preset.pose if pose is None else pose, backend, device,
                    det_arch, dtype, tuple(det_input_size) if det_input_size is not None else preset.det_input_size)

    def predict(self, image: np.ndarray, bboxes: np.ndarray | None = None, *, clip: bool = True) -> PoseResult:
        """The poses of a BGR frame (in `bboxes` when given: clipped to the frame unless
        `clip=False`, for boxes that follow earlier results), with the whole-image fallback."""
        bgr = image_to_bgr(image, "image", channel_order="bgr")
        if bboxes is not None:
            if not bgr.size:
                return PoseResult.empty((bgr.shape[1], bgr.shape[0]))
            return self.pipeline.predict_batch([bgr], [xyxy_boxes(bboxes)], clip=clip)[0]
        result = self.detect_bgr(bgr)
        if len(result) == 0 and self.whole_image_fallback and bgr.size:
            height, width = bgr.shape[:2]
            result = self.pipeline(bgr, np.array([[0, 0, width, height]], np.float32))
        return result

    def arrays(self, result: PoseResult) -> tuple[np.ndarray, np.ndarray]:
        """What rtmlib returns for a result: 133 COCO-WholeBody points, or its 134-point layout."""
        if self.to_openpose:
            info = result.to_openpose134(self.neck_score)
            return info[..., :2], info[..., 2]
        return result.keypoints, result.scores

    def __call__(self, image: np.ndarray, bboxes: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        return self.arrays(self.predict(image, bboxes))


def xyxy_boxes(bboxes: object) -> np.ndarray:
    """(N, 4) float32 x1, y1, x2, y2 of boxes given as rows of 4 or more (rtmlib's may carry a
    score as a fifth value)."""
    try:
        boxes = np.asarray(bboxes, np.float32)
    except (TypeError, ValueError):  # text, ragged rows, objects
        raise InputError(f"boxes must be rows of x1, y1, x2, y2 numbers, got {bboxes!r:.80}") from None
    if boxes.size == 0:
        return np.zeros((0, 4), np.float32)
    if boxes.ndim == 0 or not np.isfinite(boxes).all():
        raise InputError(f"boxes must be rows of finite x1, y1, x2, y2 numbers, got {bboxes!r:.80}")
    boxes = boxes.reshape(-1, boxes.shape[-1])
    if boxes.shape[1] < 4:
        raise InputError(f"boxes must be rows of x1, y1, x2, y2 (and optionally a score), got shape {boxes.shape}")
    return boxes[:, :4]


class PoseTracker:
    """rtmlib-style video tracker around a `Wholebody`. `solution` is rtmlib's solution class
    (or a `functools.partial` of it), called as `solution(to_openpose=, backend=, device=,
    **solution_kwargs)` (and `mode=` when given, as rtmlib does), or a ready `Wholebody`.
    `solution_kwargs` (e.g. local files: `det=`, `pose=`) go to the solution. `track_ids` are
    the ids of the last frame's people."""

    def __init__(self, solution: Callable[..., Wholebody] | Wholebody = Wholebody, det_frequency: int = 1,
                 tracking: bool = True, tracking_thr: float = 0.3, mode: str | None = None, to_openpose: bool = False,
                 backend: str | None = None, device: object = "cpu", **solution_kwargs: Any) -> None:
        if isinstance(det_frequency, bool) or not isinstance(det_frequency, (int, np.integer)) or det_frequency < 1:
            raise InputError(f"det_frequency must be a whole number >= 1, got {det_frequency!r}")
        if isinstance(tracking_thr, bool) or not isinstance(tracking_thr, (int, float)) or not 0 <= tracking_thr <= 1:
            raise InputError(f"tracking_thr must be a number in [0, 1], got {tracking_thr!r}")
        check_flags(tracking=tracking)
        if isinstance(solution, Wholebody):
            if solution_kwargs:
                raise InputError(f"PoseTracker got a ready Wholebody and solution keywords "
                                 f"({', '.join(sorted(solution_kwargs))}); pass the class (or give them to Wholebody)")
            self.model = solution
        elif callable(solution):
            options = dict(to_openpose=to_openpose, backend=backend, device=device, **solution_kwargs)
            if mode is not None:  # as rtmlib: the solution's own default otherwise
                options["mode"] = mode
            self.model = solution(**options)
        else:
            raise InputError(f"solution must be a Wholebody or its class, got {type(solution).__name__}")
        if not isinstance(self.model, Wholebody):
            raise InputError(f"solution must make a Wholebody, got {type(self.model).__name__}")
        self.det_frequency = int(det_frequency)
        self.tracking = tracking
        self.tracking_thr = float(tracking_thr)
        self.reset()

    def reset(self) -> None:
        """Forget the previous frames (a new video)."""
        self.frame_cnt = 0
        self.bboxes_last_frame = np.zeros((0, 4), np.float32)
        self.track_ids = np.zeros(0, np.int64)
        self._tracker = IoUTracker(iou_threshold=self.tracking_thr)

    def __call__(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        detect = self.frame_cnt % self.det_frequency == 0 or len(self.bboxes_last_frame) == 0
        result = self.model.predict(image, None if detect else self.bboxes_last_frame, clip=False)
        boxes = np.array([pose_to_bbox(k) for k in result.keypoints], np.float32).reshape(-1, 4)
        if self.tracking:
            ids = self._tracker.update(boxes)
            order = np.argsort(ids, kind="stable")
            result = PoseResult(result.boxes[order], result.box_scores[order], result.keypoints[order],
                                result.scores[order], result.image_size, ids[order])
            boxes, self.track_ids = boxes[order], ids[order]
        self.bboxes_last_frame = boxes
        self.frame_cnt += 1
        return self.model.arrays(result)


def draw_skeleton(img: np.ndarray, keypoints: np.ndarray, scores: np.ndarray, openpose_skeleton: bool = False,
                  kpt_thr: float = 0.5, radius: int = 2, line_width: int = 2) -> np.ndarray:
    """rtmlib's `draw_skeleton`: every person drawn into the BGR frame `img` (in place; also
    returned) in rtmlib's mmpose style, or with `openpose_skeleton` its openpose134 style.
    `keypoints` (N, K, 2) or (K, 2) with K = 133, or 134 (rtmlib's OpenPose layout; its neck is
    redrawn from the shoulders by rtmlib's rule); `scores` (N, K) or (K,)."""
    if not (isinstance(img, np.ndarray) and img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3):
        described = f"{img.dtype} {img.shape}" if isinstance(img, np.ndarray) else type(img).__name__
        raise InputError(f"img must be a BGR uint8 frame (H, W, 3), got {described}")
    check_flags(openpose_skeleton=openpose_skeleton)
    keypoints, scores = np.asarray(keypoints), np.asarray(scores)
    if len(keypoints) == 0 or img.size == 0:
        return img
    if keypoints.ndim == 2:
        keypoints, scores = keypoints[None], scores.reshape(1, -1)
    if keypoints.ndim != 3 or keypoints.shape[2] != 2 or keypoints.shape[1] not in (NUM_KEYPOINTS, NUM_OPENPOSE_KEYPOINTS) \
            or scores.shape != keypoints.shape[:2]:
        raise InputError("draw_skeleton needs keypoints (N, 133 or 134, 2) and scores (N, K) of the whole-body "
                         f"layouts, got {keypoints.shape} and {scores.shape}")
    if keypoints.shape[1] == NUM_OPENPOSE_KEYPOINTS:
        keypoints, scores = from_openpose134(keypoints, scores)
    result = PoseResult.from_keypoints(keypoints, scores, (img.shape[1], img.shape[0]))
    options: dict = {"kpt_thr": kpt_thr, "line_width": line_width}
    if not openpose_skeleton:
        options["radius"] = radius  # rtmlib's openpose drawing has fixed joint radii
    drawn = render(result, "openpose134" if openpose_skeleton else "mmpose",
                   image=np.ascontiguousarray(img[..., ::-1]), **options)
    img[...] = drawn[..., ::-1]
    return img


def draw_bbox(img: np.ndarray, bboxes: np.ndarray, color: tuple = (0, 255, 0)) -> np.ndarray:
    """rtmlib's `draw_bbox`: xyxy boxes as 2 px rectangles into the frame (in place; returned)."""
    for box in xyxy_boxes(bboxes):
        cv2.rectangle(img, (int(box[0]), int(box[1])), (int(box[2]), int(box[3])), color, 2)
    return img
