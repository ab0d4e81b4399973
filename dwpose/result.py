"""`PoseResult`: the poses of one image (boxes, 133 keypoints and their scores), what the pipeline
returns and every output (drawing, OpenPose JSON, COCO-WholeBody, Parquet) starts from. Its
conversions are methods over the array codecs of `dwpose.formats`."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import InputError
from .formats.coco_wholebody import coco_wholebody_annotation, coco_wholebody_record, instance_scores
from .formats.openpose import from_openpose_json, to_openpose134, to_openpose_json
from .skeleton import NUM_KEYPOINTS, VISIBILITY_THRESHOLD


@dataclass
class PoseResult:
    """Poses of one image. Coordinates are pixels of the image given to the pipeline."""

    boxes: np.ndarray        # (N, 4) xyxy
    box_scores: np.ndarray   # (N,)
    keypoints: np.ndarray    # (N, 133, 2)
    scores: np.ndarray       # (N, 133) raw SimCC scores
    image_size: tuple[int, int]  # (width, height)
    track_ids: np.ndarray | None = None  # (N,) stable ids in videos
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.keypoints)

    @classmethod
    def from_keypoints(cls, keypoints: np.ndarray, scores: np.ndarray, image_size: tuple[int, int]) -> "PoseResult":
        """A result from bare keypoints (N, 133, 2) and scores (N, 133), e.g. ground truth or
        another tool's output, for drawing and JSON conversion; boxes are the keypoint extents."""
        keypoints = np.asarray(keypoints)
        scores = np.asarray(scores)
        if keypoints.ndim != 3 or keypoints.shape[-1] != 2 or scores.shape != keypoints.shape[:2]:
            raise InputError(f"expected keypoints (N, K, 2) and scores (N, K), got {keypoints.shape} and {scores.shape}")
        boxes = (np.concatenate([keypoints.min(1), keypoints.max(1)], axis=1) if len(keypoints)
                 else np.zeros((0, 4), np.float32))
        return cls(boxes, np.ones(len(keypoints), np.float32), keypoints, scores, tuple(image_size))

    @classmethod
    def empty(cls, image_size: tuple[int, int], num_keypoints: int = NUM_KEYPOINTS) -> "PoseResult":
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32),
                   np.zeros((0, num_keypoints, 2), np.float32), np.zeros((0, num_keypoints), np.float32),
                   image_size)

    @classmethod
    def from_openpose_json(cls, data: object) -> "PoseResult":
        """Poses read back from OpenPose JSON as `to_openpose_json` and comfyui_controlnet_aux
        write it (its POSE_KEYPOINT frames): pixel x, y, c triples on a `canvas_width` x
        `canvas_height` canvas; a None or missing part is absent (scores 0). Scores are the file's
        c (1.0 for every present point in comfyui's files); the neck is recomputed from the
        shoulders, as when drawing. Coordinates stay float64, as the JSON holds them."""
        keypoints, scores, size = from_openpose_json(data)
        return cls.from_keypoints(keypoints, scores, size)

    def instance_scores(self) -> np.ndarray:
        """bbox score x mean of the keypoint scores above 0.2 (0 when none), as mmpose rescores."""
        return instance_scores(self.scores, self.box_scores).astype(np.float32)

    def to_coco_wholebody(self, image_id: int) -> list[dict]:
        """COCO-WholeBody results records (what the evaluators read)."""
        triples = np.concatenate([self.keypoints, self.scores[..., None]], axis=-1)
        return [coco_wholebody_record(image_id, t, s) for t, s in zip(triples, self.instance_scores())]

    def to_coco_wholebody_annotations(self, image_id: int, first_annotation_id: int,
                                      visibility_threshold: float = VISIBILITY_THRESHOLD) -> list[dict]:
        """COCO-WholeBody ground-truth style annotations (a dataset to train on), ids from
        `first_annotation_id` on; see `coco_wholebody_annotation`."""
        instance = self.instance_scores()
        return [coco_wholebody_annotation(first_annotation_id + i, image_id, self.boxes[i], self.box_scores[i],
                                          float(instance[i]), self.keypoints[i], self.scores[i], self.image_size,
                                          visibility_threshold)
                for i in range(len(self))]

    def to_openpose134(self, neck_score: str = "flag") -> np.ndarray:
        """(N, 134, 3) x, y, score in the OpenPose order: 18 body points (neck inserted), 6 feet,
        68 face, 21 left hand, 21 right hand. The neck's score is DWPose's 0/1 flag
        (`neck_score="flag"`, what the ControlNet tool chains draw with) or rtmlib's weaker
        shoulder score (`"min"`)."""
        return to_openpose134(self.keypoints, self.scores, neck_score)

    def to_openpose_json(
        self,
        include_body: bool = True,
        include_hand: bool = True,
        include_face: bool = True,
        include_foot: bool = False,
        controlnet_compat: bool = False,
    ) -> dict:
        """OpenPose JSON in pixels, in comfyui_controlnet_aux's layout: 18 body points, the face's
        68 points plus the two body eyes (OpenPose's 70; None when none of the 68 is present),
        each hand None when none of its points is present. A point is present when its score is
        >= 0.3; absent points are 0, 0, 0.

        With `controlnet_compat` it is exactly what comfyui_controlnet_aux's
        `encode_poses_as_dict` writes: present points carry c = 1.0 (its reader drops c < 1.0)
        and their unrounded coordinates. Otherwise present points carry their real score (the
        neck: the weaker shoulder's) and values are rounded to 3 decimals. The toggles replace
        the body by absent points, hands and face by None, and add `foot_keypoints_2d` (6)."""
        return to_openpose_json(self.keypoints, self.scores, self.image_size, include_body, include_hand,
                                include_face, include_foot, controlnet_compat)
