"""Datasets (COCO-WholeBody, UBody) and the top-down training pipeline."""

from .coco_wholebody import (UBODY_EVAL_SCENES, UBODY_SCENES, Sample, load_annotations, load_boxes, load_detections,
    load_ubody)
from .dataset import TopDownTrainDataset
from .transforms import AugmentConfig

__all__ = ["AugmentConfig", "Sample", "TopDownTrainDataset", "UBODY_EVAL_SCENES", "UBODY_SCENES",
           "load_annotations", "load_boxes", "load_detections", "load_ubody"]
